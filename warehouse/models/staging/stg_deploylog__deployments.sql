-- Deployments from a CD tool's log (extractors/deploylog): each field is read through the
-- column mapping landed in the record's context (`paths`: field -> JSON path into the row).
-- A deployment logged on several lines (started, then finished) is one row: the latest line
-- wins, created_at is its earliest start. payload carries triggered_by, ticket and deployer so
-- CM-02 and the ticket search see them like a GitHub deployment payload.
with
source as (
    select _extracted_at, _payload, _context,
           json_extract_string(_context, '$.line_no')::integer as line_no,
           json_extract_string(_context, '$.repo_prefix') as repo_prefix
    from raw.deploylog__deployments
),
fields as (
    select _extracted_at, line_no,
           json_extract_string(_payload, _context->>'$.paths.deployment_id') as deployment_id,
           json_extract_string(_payload, _context->>'$.paths.repo') as repo_value, repo_prefix,
           json_extract_string(_payload, _context->>'$.paths.sha') as sha,
           json_extract_string(_payload, _context->>'$.paths.ref') as ref,
           json_extract_string(_payload, _context->>'$.paths.task') as task,
           json_extract_string(_payload, _context->>'$.paths.environment') as environment,
           json_extract_string(_payload, _context->>'$.paths.description') as description_text,
           json_extract_string(_payload, _context->>'$.paths.ticket') as ticket,
           json_extract_string(_payload, _context->>'$.paths.deployer') as deployer,
           json_extract_string(_payload, _context->>'$.paths.triggered_by') as triggered_by,
           json_extract_string(_payload, _context->>'$.paths.started_at') as started_text,
           json_extract_string(_payload, _context->>'$.paths.finished_at') as finished_text,
           json_extract_string(_payload, _context->>'$.paths.url') as url
    from source
),
typed as (
    select *,
           case when contains(repo_value, '/') then repo_value else coalesce(repo_prefix, '') || repo_value end as repo,
           coalesce(try_cast(started_text as timestamptz), to_timestamp(try_cast(started_text as double)),
                    try_cast(finished_text as timestamptz), to_timestamp(try_cast(finished_text as double))) as started_at
    from fields
),
final as (
    select deployment_id, repo, nullif(sha, '') as sha, nullif(ref, '') as ref,
           coalesce(nullif(task, ''), 'deploy') as task, nullif(environment, '') as environment,
           nullif(concat_ws(' ', nullif(description_text, ''), nullif(ticket, '')), '') as description,
           json_object('triggered_by', nullif(triggered_by, ''), 'ticket', nullif(ticket, ''),
                       'deployer', nullif(deployer, '')) as payload,
           nullif(deployer, '') as creator_login, cast(null as varchar) as creator_type,
           min(started_at) over (partition by repo, deployment_id) as created_at,
           nullif(url, '') as deployment_url
    from typed
    qualify row_number() over (partition by repo, deployment_id order by _extracted_at desc, line_no desc) = 1
)
select * from final
