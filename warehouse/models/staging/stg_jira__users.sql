-- Jira users (entity users) as embedded in issues: reporter, creator, assignee, the mapped user
-- fields, changelog authors and the approvers field. sys_id = accountId (Data Center: name).
-- Cloud hides e-mail addresses by privacy setting: an occurrence with one wins.
with
issues as (
    select _extracted_at, _payload as p, _context -> 'reading' as r
    from raw.jira__issues
    where _payload ->> 'id' is not null
),
embedded as (
    select _extracted_at, unnest([
        p -> 'fields' -> 'reporter', p -> 'fields' -> 'creator', p -> 'fields' -> 'assignee',
        json_extract(p, '$.fields.' || (r -> 'fields' ->> 'requested_by')),
        json_extract(p, '$.fields.' || (r -> 'fields' ->> 'assigned_to')),
        json_extract(p, '$.fields.' || (r -> 'fields' ->> 'verbal_approver'))]) as u
    from issues
    union all
    select _extracted_at, unnest(coalesce(json_extract(p, '$.changelog.histories[*].author'), [])) from issues
    union all
    select _extracted_at, unnest(coalesce(from_json(json_extract(p, '$.fields.' || (r ->> 'approvers_field')), '["JSON"]'), []))
    from issues where r ->> 'approvers_field' is not null
),
users as (
    select _extracted_at, coalesce(u ->> 'accountId', u ->> 'name') as sys_id,
           u ->> 'name' as user_name, nullif(u ->> 'emailAddress', '') as email,
           u ->> 'displayName' as name, coalesce(try_cast(u ->> 'active' as boolean), true) as is_active
    from embedded
    where json_type(u) = 'OBJECT'
),
final as (
    select sys_id,
           first(user_name order by user_name is null, _extracted_at desc) as user_name,
           first(email order by email is null, _extracted_at desc) as email,
           first(name order by _extracted_at desc) as name,
           first(is_active order by _extracted_at desc) as is_active
    from users
    where sys_id is not null
    group by sys_id
)
select * from final
