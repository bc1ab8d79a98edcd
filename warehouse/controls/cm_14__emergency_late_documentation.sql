-- CM-14 emergency-late-documentation (metadata: cm_14__emergency_late_documentation.yml)
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
params as (select * from eval_params),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when not coalesce(tickets.is_emergency, false) then 'not_applicable'
            when tickets.ticket_created_at > changes.deployed_at + to_hours(params.emergency_documentation_hours) then 'fail'
            else 'pass'
        end as status,
        case
            when not coalesce(tickets.is_emergency, false) then 'not an emergency change'
            else 'documented ' || round(epoch(tickets.ticket_created_at - changes.deployed_at) / 3600.0, 1)
                || ' h after deployment (limit ' || params.emergency_documentation_hours || ' h)'
        end as reason,
        json_object('ticket_number', tickets.ticket_number, 'deployed_at', changes.deployed_at,
                    'documented_at', tickets.ticket_created_at) as evidence
    from changes
    cross join params
    left join tickets using (change_id)
)
select * from evaluated
