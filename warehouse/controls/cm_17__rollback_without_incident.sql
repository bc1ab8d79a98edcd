-- CM-17 rollback-without-incident (metadata: cm_17__rollback_without_incident.yml)
with
changes as (select * from int_changes_in_period),
matches as (select * from int_rollbacks_matched_to_incidents),
per_change as (
    select change_id,
        list(incident_number order by incident_number) filter (where is_priority_enough) as qualifying,
        list(incident_number order by incident_number) filter (where is_priority_enough and has_post_incident_review) as reviewed,
        list(json_object('incident', incident_number, 'priority', priority, 'post_incident_review', has_post_incident_review,
                         'url', html_url) order by incident_number) as incidents
    from matches group by change_id
),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when not changes.is_rollback then 'not_applicable'
            when len(coalesce(per_change.reviewed, [])) > 0 then 'pass'
            else 'fail'
        end as status,
        case
            when not changes.is_rollback then 'not a rollback'
            when len(coalesce(per_change.reviewed, [])) > 0
                then 'documented as incident #' || per_change.reviewed[1] || ' with a post-incident review'
            when len(coalesce(per_change.qualifying, [])) > 0
                then 'incident #' || array_to_string(per_change.qualifying, ', #') || ' has no post-incident review'
            else 'rollback not documented as a P3-or-higher incident on ' || changes.service
        end as reason,
        json_object('deployed_at', changes.deployed_at, 'service', changes.service,
                    'incidents', per_change.incidents) as evidence
    from changes
    left join per_change using (change_id)
)
select * from evaluated
