-- CM-01 undocumented-change (metadata: cm_01__undocumented_change.yml)
with
changes as (select * from int_changes_in_period),
links as (select * from int_changes_linked_to_tickets),
evaluated as (
    select
        changes.change_id as subject_id,
        case when links.ticket_number is null then 'fail' else 'pass' end as status,
        case
            when links.ticket_number is not null then 'linked to ' || links.ticket_number || ' (found in ' || links.ticket_found_in || ')'
            when len(links.keys_unknown) > 0 then 'no change ticket linked; keys not found in ServiceNow: ' || array_to_string(links.keys_unknown, ', ')
            else 'no change ticket linked'
        end as reason,
        json_object('deployment_url', changes.deployment_url, 'sha', changes.sha,
                    'ticket_number', links.ticket_number, 'found_in', links.ticket_found_in,
                    'keys_found', links.keys_found) as evidence
    from changes
    left join links using (change_id)
)
select * from evaluated
