-- For each rollback, the incidents on the same service close enough in time to document it,
-- and whether each has a post-incident review note (§4).
with
changes as (select * from int_changes_in_period where is_rollback),
incidents as (select * from int_incidents_unioned),
notes as (select * from int_log_entries_unioned),
params as (select * from eval_params),
reviewed as (
    select incident_id, true as has_post_incident_review
    from notes cross join params
    where contains(lower(coalesce(notes.note, '')), lower(params.post_incident_review_marker))
    group by incident_id
),
final as (
    select
        changes.change_id, incidents.incident_id, incidents.incident_number, incidents.title,
        incidents.priority, incidents.created_at as incident_created_at, incidents.html_url,
        list_contains(params.rollback_incident_priorities, incidents.priority) as is_priority_enough,
        coalesce(reviewed.has_post_incident_review, false) as has_post_incident_review
    from changes
    cross join params
    join incidents
        on lower(incidents.service_name) = lower(changes.service)
        and incidents.created_at between changes.deployed_at - to_hours(params.rollback_incident_window_hours)
                                     and changes.deployed_at + to_hours(params.rollback_incident_window_hours)
    left join reviewed on reviewed.incident_id = incidents.incident_id
)
select * from final
