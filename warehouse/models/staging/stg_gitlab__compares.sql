-- GitLab compares (GET /projects/{id}/repository/compare?from=<base>&to=<head>, merge-base
-- semantics): the commits `head` adds. GitLab reports no status or counts, so: base = head ->
-- `identical`; no commits -> `behind` (head is reachable from base: a rollback); else `ahead`
-- with ahead_by = total_commits = the commits listed (GitLab's compare is not truncated).
-- behind_by is unknown (null).
with
source as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "base": "VARCHAR", "head": "VARCHAR"}') as c,
           json_transform(_payload, '{"commits": ["JSON"]}') as p
    from raw.gitlab__compares
),
latest_extraction as (
    select *
    from source
    qualify row_number() over (partition by c.repo, c.base, c.head order by _extracted_at desc, _run_id desc) = 1
),
final as (
    select c.repo, c.base as base_sha, c.head as head_sha,
           case when c.base = c.head then 'identical'
                when coalesce(len(p.commits), 0) = 0 then 'behind'
                else 'ahead' end as status,
           coalesce(len(p.commits), 0)::bigint as ahead_by, null::bigint as behind_by,
           coalesce(len(p.commits), 0)::bigint as total_commits,
           coalesce(len(p.commits), 0)::bigint as count_commits_listed
    from latest_extraction
)
select * from final
