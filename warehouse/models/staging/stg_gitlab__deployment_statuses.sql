-- GitLab deployments carry their status, not a status history: one status row per deployment
-- (status_id = deployment_id), at `finished_at` when present, else `updated_at` (the last
-- status change; a successful deployment's status is final). States in GitHub's words:
-- success, failed -> failure, canceled -> error, created -> queued, running -> in_progress,
-- blocked -> pending (waiting for approval); others (e.g. skipped) as GitLab names them.
with
source as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "status": "VARCHAR", "user": {"username": "VARCHAR"},
                                      "created_at": "VARCHAR", "updated_at": "VARCHAR", "finished_at": "VARCHAR",
                                      "deployable": {"web_url": "VARCHAR"}}') as p
    from raw.gitlab__deployments
),
final as (
    select p.id as status_id, p.id as deployment_id, repo,
           case p.status
               when 'success' then 'success' when 'failed' then 'failure' when 'canceled' then 'error'
               when 'created' then 'queued' when 'running' then 'in_progress' when 'blocked' then 'pending'
               else p.status
           end as state,
           p.user.username as creator_login,
           coalesce(try_cast(p.finished_at as timestamptz), try_cast(p.updated_at as timestamptz),
                    try_cast(p.created_at as timestamptz)) as created_at,
           p.deployable.web_url as log_url
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
