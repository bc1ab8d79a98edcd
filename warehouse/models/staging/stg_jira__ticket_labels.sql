-- Jira issue labels (entity ticket_labels): `fields.labels`, a list of strings, of the latest
-- extraction of each issue; sys_id = issue id, number = key (as stg_jira__change_requests).
-- ServiceNow change requests have no labels. Emergency detection (§5) reads them.
with
source as (
    select _payload ->> 'id' as sys_id, _payload ->> 'key' as number,
           coalesce(json_extract_string(_payload, '$.fields.labels[*]'), []) as labels
    from raw.jira__issues
    where _payload ->> 'id' is not null and _payload ->> 'key' is not null
    qualify row_number() over (partition by _payload ->> 'id'
                               order by _extracted_at desc, try_cast(_payload -> 'fields' ->> 'updated' as timestamptz) desc nulls last) = 1
),
final as (
    select distinct sys_id, number, label
    from source, unnest(labels) as t(label)
    where nullif(trim(label), '') is not null
)
select * from final
