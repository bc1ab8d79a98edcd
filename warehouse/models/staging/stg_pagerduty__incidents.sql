-- PagerDuty incidents. `priority` is the priority's summary (P1..P5) or null when the account
-- does not use priorities. `resolved_at`: the incident's own `resolved_at` when the API sends
-- it, else the `created_at` of its resolve_log_entry (embedded in the incident, or from the
-- log_entries stream of the same incident, `stg_pagerduty__log_entries` - the one join this view
-- makes, within PagerDuty),
-- else `last_status_change_at` when the status is resolved.
with
source as (
    select _extracted_at,
           json_transform(_payload, '{"id": "VARCHAR", "incident_number": "BIGINT", "title": "VARCHAR",
                                      "status": "VARCHAR", "urgency": "VARCHAR", "priority": {"summary": "VARCHAR"},
                                      "service": {"id": "VARCHAR", "summary": "VARCHAR"},
                                      "created_at": "VARCHAR", "resolved_at": "VARCHAR",
                                      "last_status_change_at": "VARCHAR", "html_url": "VARCHAR",
                                      "log_entries": [{"type": "VARCHAR", "created_at": "VARCHAR"}]}') as p
    from raw.pagerduty__incidents
),
latest as (
    select * from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
),
resolve_entries as (   -- the log entries as staged (merged, parsed once), not their raw JSON again
    select incident_id, max(created_at) as resolved_at
    from stg_pagerduty__log_entries
    where type = 'resolve_log_entry'
    group by all
),
final as (
    select
        p.id as incident_id, p.incident_number, p.title, p.status, p.urgency,
        p.priority.summary as priority, p.service.id as service_id, p.service.summary as service_name,
        try_cast(p.created_at as timestamptz) as created_at,
        coalesce(
            try_cast(p.resolved_at as timestamptz),
            try_cast(list_max(list_transform(
                list_filter(p.log_entries, lambda e: e.type = 'resolve_log_entry'),
                lambda e: e.created_at)) as timestamptz),
            resolve_entries.resolved_at,
            case when p.status = 'resolved' then try_cast(p.last_status_change_at as timestamptz) end
        ) as resolved_at,
        p.html_url
    from latest
    left join resolve_entries on resolve_entries.incident_id = latest.p.id
)
select * from final
