-- ServiceNow approval records (table sysapproval_approver). `change_sys_id` is the approved
-- task (`sysapproval`, else `document_id`); reference fields reduce to their `value` sys_id.
-- merge key: sys_id
with
fields as (
    select _extracted_at,
           unnest(json_transform(_payload, '{
               "sys_id": "JSON", "sysapproval": "JSON", "document_id": "JSON", "approver": "JSON",
               "state": "JSON", "comments": "JSON", "sys_created_on": "JSON", "sys_updated_on": "JSON"}'))
    from raw.servicenow__approvals
),
valued as (
    select _extracted_at,
           nullif(case when json_type(columns(* exclude (_extracted_at))) = 'OBJECT'
                       then columns(* exclude (_extracted_at))->>'value'
                       else columns(* exclude (_extracted_at))->>'$' end, '')
    from fields
),
typed as (
    select sys_id, coalesce(sysapproval, document_id) as change_sys_id, approver as approver_sys_id,
           state, comments,
           coalesce(timezone('UTC', try_strptime(sys_created_on, '%Y-%m-%d %H:%M:%S')),
                    try_cast(sys_created_on as timestamptz)) as created_at,
           coalesce(timezone('UTC', try_strptime(sys_updated_on, '%Y-%m-%d %H:%M:%S')),
                    try_cast(sys_updated_on as timestamptz)) as updated_at,
           _extracted_at
    from valued
    where sys_id is not null
),
documents as (select sys_id, _extracted_at from typed),
final as (
    select *
    from typed
    qualify row_number() over (partition by sys_id order by _extracted_at desc, updated_at desc nulls last) = 1
)
select * from final
