-- PagerDuty incident log entries (GET /incidents/{id}/log_entries?include[]=channels).
-- `note` is the text of annotate (note) entries: `channel.content`, or `channel.summary`.
-- merge key: log_entry_id
with
source as (
    select _extracted_at,
           json_extract_string(_context, '$.incident_id') as context_incident_id,
           json_transform(_payload, '{"id": "VARCHAR", "type": "VARCHAR", "created_at": "VARCHAR",
                                      "incident": {"id": "VARCHAR"}, "agent": {"id": "VARCHAR"},
                                      "channel": {"type": "VARCHAR", "content": "VARCHAR",
                                                  "summary": "VARCHAR"}}') as p
    from raw.pagerduty__log_entries
),
documents as (select p.id as log_entry_id, _extracted_at from source),
final as (
    select p.id as log_entry_id, coalesce(p.incident.id, context_incident_id) as incident_id, p.type,
           try_cast(p.created_at as timestamptz) as created_at,
           case when p.type = 'annotate_log_entry'
                then coalesce(p.channel.content, p.channel.summary) end as note,
           p.agent.id as agent_id, _extracted_at
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
