-- ServiceNow users (table sys_user), for resolving approvers and requesters.
with
fields as (
    select _extracted_at,
           unnest(json_transform(_payload, '{"sys_id": "JSON", "user_name": "JSON", "email": "JSON",
                                             "name": "JSON", "active": "JSON"}'))
    from raw.servicenow__users
),
valued as (
    select _extracted_at,
           nullif(case when json_type(columns(* exclude (_extracted_at))) = 'OBJECT'
                       then columns(* exclude (_extracted_at))->>'value'
                       else columns(* exclude (_extracted_at))->>'$' end, '')
    from fields
),
final as (
    select sys_id, user_name, email, name, lower(coalesce(active, 'false')) in ('true', '1') as is_active
    from valued
    where sys_id is not null
    qualify row_number() over (partition by sys_id order by _extracted_at desc) = 1
)
select * from final
