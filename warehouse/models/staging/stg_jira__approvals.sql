-- Jira approvals (entity approvals): every changelog transition INTO an approved status id
-- (`_context.reading.approved_status_ids`; the status `to` id, never the localised `toString`)
-- is one approval by the history's author at the history's time. Histories may arrive newest
-- first; each transition is its own row, so a re-approval after a reopen is a later row.
-- With `approvers_field` configured, each user of that field is an approval at
-- `approved_at_field` (else the issue's update time). sys_id = history id || '-' || item index.
-- Histories come from the search's embedded changelog and, for issues whose changelog was cut
-- short there, from the issue's changelog pages (raw.jira__changelogs); a history read both
-- ways is one row.
with
issues as (
    select _extracted_at, _payload as p, _context -> 'reading' as r
    from raw.jira__issues
    where _payload ->> 'id' is not null
),
histories as (
    select _extracted_at, p ->> 'id' as issue_id, r,
           unnest(coalesce(json_extract(p, '$.changelog.histories[*]'), [])) as h
    from issues
    union all
    -- histories beyond those embedded in the search (Cloud embeds at most 100 per issue)
    select _extracted_at, _context ->> 'issue_id', _context -> 'reading', _payload
    from raw.jira__changelogs
),
items as (
    select _extracted_at, issue_id, r, h,
           unnest(range(coalesce(json_array_length(h, '$.items'), 0)::bigint)) as item_index
    from histories
),
transitions as (
    select (h ->> 'id') || '-' || item_index as sys_id, issue_id as change_sys_id,
           coalesce(h -> 'author' ->> 'accountId', h -> 'author' ->> 'name') as approver_sys_id,
           'approved' as state, cast(null as varchar) as comments,
           try_cast(h ->> 'created' as timestamptz) as created_at,
           try_cast(h ->> 'created' as timestamptz) as updated_at,
           _extracted_at
    from items
    where coalesce(json_extract(h, '$.items[' || item_index || ']') ->> 'fieldId',
                   json_extract(h, '$.items[' || item_index || ']') ->> 'field') = 'status'
      and list_contains(from_json(r -> 'approved_status_ids', '["VARCHAR"]'),
                        json_extract(h, '$.items[' || item_index || ']') ->> 'to')
),
field_approvers as (
    select _extracted_at, p ->> 'id' as issue_id, p, r,
           unnest(coalesce(from_json(json_extract(p, '$.fields.' || (r ->> 'approvers_field')), '["JSON"]'), [])) as u
    from issues
    where r ->> 'approvers_field' is not null
),
field_approvals as (
    select issue_id || '-approver-' || coalesce(u ->> 'accountId', u ->> 'name') as sys_id, issue_id as change_sys_id,
           coalesce(u ->> 'accountId', u ->> 'name') as approver_sys_id, 'approved' as state,
           cast(null as varchar) as comments,
           coalesce(try_cast(json_extract_string(p, '$.fields.' || (r ->> 'approved_at_field')) as timestamptz),
                    try_cast(p -> 'fields' ->> 'updated' as timestamptz)) as created_at,
           coalesce(try_cast(json_extract_string(p, '$.fields.' || (r ->> 'approved_at_field')) as timestamptz),
                    try_cast(p -> 'fields' ->> 'updated' as timestamptz)) as updated_at,
           _extracted_at
    from field_approvers
    where coalesce(u ->> 'accountId', u ->> 'name') is not null
),
final as (
    select * exclude (_extracted_at)
    from (select * from transitions union all select * from field_approvals)
    where sys_id is not null
    qualify row_number() over (partition by sys_id order by _extracted_at desc) = 1
)
select * from final
