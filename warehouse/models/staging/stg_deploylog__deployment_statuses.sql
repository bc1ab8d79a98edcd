-- Deployment statuses from a CD tool's log: one per logged line with a status, mapped to a
-- GitHub-style state through the landed `statuses` map (tool status, lower case -> state;
-- an unmapped status is kept lower-cased). created_at is the line's finished time for
-- success/failure/error/inactive, else its start time. status_id = deployment_id:line.
with
source as (
    select _extracted_at, _payload, _context,
           json_extract_string(_context, '$.line_no')::integer as line_no,
           json_extract_string(_context, '$.repo_prefix') as repo_prefix,
           json_extract_string(_context, '$.log_file') as log_file
    from raw.deploylog__deployments
),
fields as (
    select _extracted_at, line_no, log_file, _context,
           json_extract_string(_payload, _context->>'$.paths.deployment_id') as deployment_id,
           json_extract_string(_payload, _context->>'$.paths.repo') as repo_value, repo_prefix,
           lower(trim(json_extract_string(_payload, _context->>'$.paths.status'))) as tool_status,
           json_extract_string(_payload, _context->>'$.paths.deployer') as deployer,
           json_extract_string(_payload, _context->>'$.paths.started_at') as started_text,
           json_extract_string(_payload, _context->>'$.paths.finished_at') as finished_text,
           json_extract_string(_payload, _context->>'$.paths.url') as url
    from source
),
typed as (
    select *,
           case when contains(repo_value, '/') then repo_value else coalesce(repo_prefix, '') || repo_value end as repo,
           coalesce(json_extract_string(_context, '$.statuses.' || json_quote(tool_status)), tool_status) as state,
           coalesce(try_cast(started_text as timestamptz), to_timestamp(try_cast(started_text as double))) as started_at,
           coalesce(try_cast(finished_text as timestamptz), to_timestamp(try_cast(finished_text as double))) as finished_at
    from fields
    where coalesce(tool_status, '') <> ''
),
final as (
    select deployment_id || ':' || log_file || ':' || line_no as status_id, deployment_id, repo, state,
           nullif(deployer, '') as creator_login,
           case when state in ('success', 'failure', 'error', 'inactive') then coalesce(finished_at, started_at)
                else coalesce(started_at, finished_at) end as created_at,
           nullif(url, '') as log_url
    from typed
    qualify row_number() over (partition by repo, deployment_id, log_file, line_no order by _extracted_at desc) = 1
)
select * from final
