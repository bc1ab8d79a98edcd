-- CM-12 incomplete-rollback-plan (metadata: cm_12__incomplete_rollback_plan.yml)
with
changes as (select * from int_changes_in_period),
links as (select * from int_changes_linked_to_tickets),
tickets as (select * from int_tickets_categorized),
params as (select * from eval_params),
plans as (   -- each distinct plan text is matched once: the policy's patterns are not constants
    select backout_plan,
           coalesce(regexp_matches(backout_plan, '\S'), false) as has_plan,
           [part.key for part in map_entries(params.rollback_plan_parts)
            if not regexp_matches(coalesce(backout_plan, ''), part.value)] as missing
    from (select distinct backout_plan from tickets
          where sys_id in (select ticket_sys_id from links)) as texts
    cross join params
),
judged as (
    select
        changes.change_id, changes.is_rollback, links.ticket_number, tickets.backout_plan,
        coalesce(plans.has_plan, false) as has_plan,
        coalesce(plans.missing, [part.key for part in map_entries(params.rollback_plan_parts)
                                 if not regexp_matches('', part.value)]) as missing
    from changes
    cross join params
    left join links using (change_id)
    left join tickets on tickets.sys_id = links.ticket_sys_id
    left join plans on plans.backout_plan is not distinct from tickets.backout_plan
),
evaluated as (
    select
        change_id as subject_id,
        case
            when is_rollback or ticket_number is null or not has_plan then 'not_applicable'
            when len(missing) > 0 then 'fail'
            else 'pass'
        end as status,
        case
            when is_rollback then 'rollback: judged on the rolled-back change (see CM-17)'
            when ticket_number is null then 'no change ticket (see CM-01)'
            when not has_plan then 'no rollback plan at all (see CM-11)'
            when len(missing) > 0 then 'rollback plan of ' || ticket_number || ' lacks ' || array_to_string(missing, ', ')
            else 'rollback plan of ' || ticket_number || ' has every part'
        end as reason,
        json_object('ticket_number', ticket_number, 'missing_parts', case when has_plan then missing end,
                    'backout_plan', backout_plan) as evidence
    from judged
)
select * from evaluated
