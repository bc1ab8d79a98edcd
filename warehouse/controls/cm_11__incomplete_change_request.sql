-- CM-11 incomplete-change-request (metadata: cm_11__incomplete_change_request.yml)
-- Scope is the ticket's implementation_plan (what is changed, where and how); blank = empty.
with
changes as (select * from int_changes_in_period),
links as (select * from int_changes_linked_to_tickets),
tickets as (select * from int_tickets_categorized),
judged as (
    select
        changes.change_id, changes.is_rollback, links.ticket_number,
        list_filter([
            case when not coalesce(regexp_matches(tickets.description, '\S'), false) then 'description' end,
            case when not coalesce(regexp_matches(tickets.implementation_plan, '\S'), false) then 'scope (implementation_plan)' end,
            case when not coalesce(regexp_matches(tickets.risk_impact_analysis, '\S'), false) then 'risk assessment (risk_impact_analysis)' end,
            case when not coalesce(regexp_matches(tickets.test_plan, '\S'), false) then 'testing plan (test_plan)' end,
            case when not coalesce(regexp_matches(tickets.backout_plan, '\S'), false) then 'rollback plan (backout_plan)' end
        ], lambda field: field is not null) as missing
    from changes
    left join links using (change_id)
    left join tickets on tickets.sys_id = links.ticket_sys_id
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
            else ticket_number || ' has description, scope, risk assessment, testing and rollback plans'
        end as reason,
        json_object('ticket_number', ticket_number, 'missing_fields', missing) as evidence
    from judged
)
select * from evaluated
