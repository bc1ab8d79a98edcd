-- ServiceNow change requests (table change_request). The extractor asks for
-- sysparm_display_value=false: plain strings, reference fields as {"link", "value"} objects
-- ("" when empty). A record in display_value=all form ({"display_value", "value"} for every
-- field) reads the same way, because every field is reduced to its `value` (`fields` ->
-- `valued`). Dates are UTC 'YYYY-MM-DD HH:MM:SS'.
-- merge key: sys_id
with
fields as (
    select _extracted_at, _source_url,
           unnest(json_transform(_payload, '{
               "sys_id": "JSON", "number": "JSON", "type": "JSON", "category": "JSON", "risk": "JSON",
               "state": "JSON", "short_description": "JSON", "description": "JSON", "justification": "JSON",
               "implementation_plan": "JSON", "backout_plan": "JSON", "test_plan": "JSON",
               "risk_impact_analysis": "JSON", "requested_by": "JSON", "opened_by": "JSON",
               "assigned_to": "JSON", "approval": "JSON", "start_date": "JSON", "end_date": "JSON",
               "close_code": "JSON", "close_notes": "JSON", "closed_at": "JSON", "review_date": "JSON",
               "review_status": "JSON", "u_verbal_approver": "JSON", "u_verbal_approved_at": "JSON",
               "sys_created_on": "JSON", "sys_updated_on": "JSON"}'))
    from raw.servicenow__change_requests
),
valued as (
    select _extracted_at, _source_url,
           nullif(case when json_type(columns(* exclude (_extracted_at, _source_url))) = 'OBJECT'
                       then columns(* exclude (_extracted_at, _source_url))->>'value'
                       else columns(* exclude (_extracted_at, _source_url))->>'$' end, '')
    from fields
),
typed as (
    select
        sys_id, number, type, category,
        -- choice codes are strings ('3', '-5'); a re-serialised export may hold 3.0 / -5.0
        regexp_replace(risk, '^(-?[0-9]+)\.0+$', '\1') as risk,
        regexp_replace(state, '^(-?[0-9]+)\.0+$', '\1') as state,
        short_description, description, justification,
        implementation_plan, backout_plan, test_plan, risk_impact_analysis,
        requested_by as requested_by_sys_id, opened_by as opened_by_sys_id,
        assigned_to as assigned_to_sys_id, approval,
        coalesce(timezone('UTC', try_strptime(start_date, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])),
                 try_cast(start_date as timestamptz)) as start_date,
        coalesce(timezone('UTC', try_strptime(end_date, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])),
                 try_cast(end_date as timestamptz)) as end_date,
        close_code, close_notes,
        coalesce(timezone('UTC', try_strptime(closed_at, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])),
                 try_cast(closed_at as timestamptz)) as closed_at,
        coalesce(timezone('UTC', try_strptime(review_date, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])),
                 try_cast(review_date as timestamptz)) as review_date,
        review_status,
        u_verbal_approver as verbal_approver_sys_id,
        coalesce(timezone('UTC', try_strptime(u_verbal_approved_at, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])),
                 try_cast(u_verbal_approved_at as timestamptz)) as verbal_approved_at,
        coalesce(timezone('UTC', try_strptime(sys_created_on, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])),
                 try_cast(sys_created_on as timestamptz)) as created_at,
        coalesce(timezone('UTC', try_strptime(sys_updated_on, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])),
                 try_cast(sys_updated_on as timestamptz)) as updated_at,
        nullif(regexp_extract(_source_url, '^(.*?)/api/now/', 1), '') || '/change_request.do?sys_id=' || sys_id
            as ticket_url,
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
