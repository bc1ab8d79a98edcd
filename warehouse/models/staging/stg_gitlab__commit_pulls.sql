-- Commit -> merge request association (GET /projects/{id}/repository/commits/{sha}/merge_requests).
with
source as (
    select json_transform(_context, '{"repo": "VARCHAR", "sha": "VARCHAR"}') as c,
           json_extract_string(_payload, '$.iid') as iid
    from raw.gitlab__commit_merge_requests
),
final as (
    select distinct c.repo, c.sha, iid::bigint as pr_number
    from source
    where iid is not null
)
select * from final
