-- CM-11 incomplete-change-request (metadata: cm_11__incomplete_change_request.yml)
-- The fields each category requires come from policy.required_ticket_fields (table
-- required_ticket_fields, default: description, implementation_plan = scope, risk_impact_analysis,
-- test_plan, backout_plan); blank = empty.
with
changes as (select * from int_changes_in_period),
links as (select * from int_changes_linked_to_tickets),
tickets as (select * from int_tickets_categorized),
required as (select * from required_ticket_fields),
judged as (
    select
        changes.change_id, changes.is_rollback, links.ticket_number, tickets.category,
        list(required.label order by required.position) filter (
            where required.field is not null
              and not coalesce(regexp_matches(case required.field   -- the ticket fields the policy may name
                      when 'short_description' then tickets.short_description when 'description' then tickets.description
                      when 'justification' then tickets.justification
                      when 'implementation_plan' then tickets.implementation_plan
                      when 'risk_impact_analysis' then tickets.risk_impact_analysis
                      when 'test_plan' then tickets.test_plan when 'backout_plan' then tickets.backout_plan
                  end, '\S'), false)
        ) as missing,
        list(required.label order by required.position) filter (where required.field is not null) as fields,
        list(required.field order by required.position) filter (where required.field is not null)
            = ['description', 'implementation_plan', 'risk_impact_analysis', 'test_plan', 'backout_plan'] as is_default
    from changes
    left join links using (change_id)
    left join tickets on tickets.sys_id = links.ticket_sys_id
    left join required on required.category = tickets.category
    group by all
),
evaluated as (
    select
        change_id as subject_id,
        case
            when is_rollback or ticket_number is null then 'not_applicable'
            when len(missing) > 0 then 'fail'
            else 'pass'
        end as status,
        case
            when is_rollback then 'rollback: judged on the rolled-back change (see CM-17)'
            when ticket_number is null then 'no change ticket (see CM-01)'
            when len(missing) > 0 then ticket_number || ' lacks ' || array_to_string(missing, ', ')
            when len(coalesce(fields, [])) = 0 then ticket_number || ': the policy requires no fields of ' || category || ' tickets'
            when is_default then ticket_number || ' has description, scope, risk assessment, testing and rollback plans'
            else ticket_number || ' has ' || array_to_string(fields, ', ')
        end as reason,
        json_object('ticket_number', ticket_number, 'category', category,
                    'required_fields', coalesce(fields, []), 'missing_fields', coalesce(missing, [])) as evidence
    from judged
)
select * from evaluated
