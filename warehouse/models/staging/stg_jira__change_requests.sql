-- Jira issues as change requests (entity change_requests). How to read an issue is the source's
-- configuration, landed with every record as `_context.reading`: `fields` maps change-request
-- columns to Jira field ids, `category_field` ('issuetype' = by issue type id, else a select
-- field) with `categories` -> standard/normal/emergency, `risks` maps a risk option to its code
-- ('1'/'2' make a normal change Major), `approved_status_ids` are status IDS (names repeat and
-- are localised). Field values reduce to text: a user -> accountId (Data Center: name), an option
-- -> value, Atlassian Document Format -> its text. sys_id = issue id, number = key.
with
issues as (
    select _extracted_at, _source_url, _payload as p, _context -> 'reading' as r
    from raw.jira__issues
),
mapped as (
    select _extracted_at, _source_url, p, r,
           json_extract(p, '$.fields.' || coalesce(r ->> 'category_field', 'issuetype')) as f_category,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'risk')) as f_risk,
           json_extract(p, '$.fields.' || coalesce(r -> 'fields' ->> 'description', 'description')) as f_description,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'justification')) as f_justification,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'implementation_plan')) as f_implementation_plan,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'backout_plan')) as f_backout_plan,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'test_plan')) as f_test_plan,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'risk_impact_analysis')) as f_risk_impact_analysis,
           json_extract(p, '$.fields.' || coalesce(r -> 'fields' ->> 'requested_by', 'reporter')) as f_requested_by,
           coalesce(json_extract(p, '$.fields.creator'), json_extract(p, '$.fields.reporter')) as f_opened_by,
           json_extract(p, '$.fields.' || coalesce(r -> 'fields' ->> 'assigned_to', 'assignee')) as f_assigned_to,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'approval')) as f_approval,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'start_date')) as f_start_date,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'end_date')) as f_end_date,
           json_extract(p, '$.fields.' || coalesce(r -> 'fields' ->> 'close_code', 'resolution')) as f_close_code,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'close_notes')) as f_close_notes,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'review_date')) as f_review_date,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'review_status')) as f_review_status,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'verbal_approver')) as f_verbal_approver,
           json_extract(p, '$.fields.' || (r -> 'fields' ->> 'verbal_approved_at')) as f_verbal_approved_at
    from issues
    where p ->> 'id' is not null and p ->> 'key' is not null
),
valued as (
    select _extracted_at, _source_url, p, r,
           nullif(case
               when json_type(columns('^f_')) = 'ARRAY' then coalesce(
                   columns('^f_') -> 0 ->> 'value', columns('^f_') -> 0 ->> 'accountId', columns('^f_') ->> '$[0]')
               when json_type(columns('^f_')) <> 'OBJECT' then columns('^f_') ->> '$'
               when columns('^f_') ->> 'type' = 'doc' then array_to_string(
                   regexp_extract_all(columns('^f_')::varchar, '"text":"((?:[^"\\]|\\.)*)"', 1), ' ')
               else coalesce(columns('^f_') ->> 'accountId', columns('^f_') ->> 'name',
                             columns('^f_') ->> 'value', columns('^f_') ->> 'id')
           end, '')
    from mapped
),
approved_transitions as (
    select distinct p ->> 'id' as issue_id
    from (select p, r, unnest(coalesce(json_extract(p, '$.changelog.histories[*]'), [])) as h from issues)
    cross join unnest(coalesce(json_extract(h, '$.items[*]'), [])) as t(item)
    where coalesce(item ->> 'fieldId', item ->> 'field') = 'status'
      and list_contains(from_json(r -> 'approved_status_ids', '["VARCHAR"]'), item ->> 'to')
),
typed as (
    select
        p ->> 'id' as sys_id,
        p ->> 'key' as number,
        lower(coalesce(
            json_extract_string(r, '$.categories."' || coalesce(
                case when coalesce(r ->> 'category_field', 'issuetype') = 'issuetype'
                     then p -> 'fields' -> 'issuetype' ->> 'id' end, f_category) || '"'),
            case when lower(f_category) in ('standard', 'normal', 'emergency') then f_category end)) as type,
        coalesce(p -> 'fields' -> 'issuetype' ->> 'name', f_category) as category,
        coalesce(json_extract_string(r, '$.risks."' || f_risk || '"'), f_risk) as risk,
        p -> 'fields' -> 'status' ->> 'id' as state,
        p -> 'fields' ->> 'summary' as short_description,
        f_description as description, f_justification as justification,
        f_implementation_plan as implementation_plan, f_backout_plan as backout_plan,
        f_test_plan as test_plan, f_risk_impact_analysis as risk_impact_analysis,
        f_requested_by as requested_by_sys_id, f_opened_by as opened_by_sys_id,
        f_assigned_to as assigned_to_sys_id,
        case when r -> 'fields' ->> 'approval' is not null then lower(f_approval)
             when approved_transitions.issue_id is not null then 'approved'
             else 'requested' end as approval,
        case when length(f_start_date) = 10 then timezone('UTC', try_strptime(f_start_date, '%Y-%m-%d'))
             else try_cast(f_start_date as timestamptz) end as start_date,
        case when length(f_end_date) = 10 then timezone('UTC', try_strptime(f_end_date, '%Y-%m-%d'))
             else try_cast(f_end_date as timestamptz) end as end_date,
        lower(f_close_code) as close_code, f_close_notes as close_notes,
        try_cast(p -> 'fields' ->> 'resolutiondate' as timestamptz) as closed_at,
        case when length(f_review_date) = 10 then timezone('UTC', try_strptime(f_review_date, '%Y-%m-%d'))
             else try_cast(f_review_date as timestamptz) end as review_date,
        f_review_status as review_status,
        f_verbal_approver as verbal_approver_sys_id,
        case when length(f_verbal_approved_at) = 10 then timezone('UTC', try_strptime(f_verbal_approved_at, '%Y-%m-%d'))
             else try_cast(f_verbal_approved_at as timestamptz) end as verbal_approved_at,
        try_cast(p -> 'fields' ->> 'created' as timestamptz) as created_at,
        try_cast(p -> 'fields' ->> 'updated' as timestamptz) as updated_at,
        nullif(regexp_extract(_source_url, '^(.*?)/rest/api/', 1), '') || '/browse/' || (p ->> 'key') as ticket_url,
        _extracted_at
    from valued
    left join approved_transitions on approved_transitions.issue_id = valued.p ->> 'id'
),
final as (
    select * exclude (_extracted_at)
    from typed
    qualify row_number() over (partition by sys_id order by _extracted_at desc, updated_at desc nulls last) = 1
)
select * from final
