-- CM-01 undocumented-change (metadata: cm_01__undocumented_change.yml)
with
changes as (select * from int_changes_in_period),
links as (select * from int_changes_linked_to_tickets),
params as (select * from eval_params),
evaluated as (
    -- §5: a ticketless deployment may still be documented (as an emergency) within
    -- emergency_documentation_hours; until that deadline passes at evaluation time it is n/a
    select changes.*, params.evaluated_at,
           changes.deployed_at + to_hours(params.emergency_documentation_hours) as documentation_deadline
    from changes cross join params
),
judged as (
    select
        changes.change_id as subject_id,
        case when links.ticket_number is not null then 'pass'
             when changes.evaluated_at < changes.documentation_deadline then 'not_applicable'
             else 'fail' end as status,
        case
            when links.ticket_number is not null then 'linked to ' || links.ticket_number || ' (found in ' || links.ticket_found_in || ')'
            when changes.evaluated_at < changes.documentation_deadline
                then 'documentation deadline not reached (' || strftime(changes.documentation_deadline, '%Y-%m-%d %H:%M') || ')'
            when len(links.keys_unknown) > 0 then 'no change ticket linked; keys not found in ServiceNow: ' || array_to_string(links.keys_unknown, ', ')
            else 'no change ticket linked'
        end as reason,
        json_object('deployment_url', changes.deployment_url, 'sha', changes.sha,
                    'ticket_number', links.ticket_number, 'found_in', links.ticket_found_in,
                    'keys_found', links.keys_found,
                    'documentation_deadline', changes.documentation_deadline) as evidence
    from evaluated as changes
    left join links using (change_id)
)
select * from judged
