-- GitHub compares base...head between consecutive successful production deployments.
-- The extractor pages a compare's commits (so change sets beyond 250 commits are complete) and
-- lands each page as one record; this view keeps the pages of the latest extraction of each
-- pair and sums their commits into `count_commits_listed` (< total_commits = truncated).
-- merge key: repo, base_sha, head_sha
with
source as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "base": "VARCHAR", "head": "VARCHAR"}') as c,
           json_transform(_payload, '{"status": "VARCHAR", "ahead_by": "BIGINT", "behind_by": "BIGINT",
                                      "total_commits": "BIGINT", "commits": ["JSON"]}') as p
    from raw.github__compares
),
latest_extraction as (
    select *
    from source
    qualify _run_id = arg_max(_run_id, _extracted_at) over (partition by c.repo, c.base, c.head)
),
documents as (select c.repo, c.base as base_sha, c.head as head_sha, _extracted_at from source),
final as (
    select c.repo, c.base as base_sha, c.head as head_sha,
           any_value(p.status) as status, any_value(p.ahead_by) as ahead_by,
           any_value(p.behind_by) as behind_by, any_value(p.total_commits) as total_commits,
           sum(coalesce(len(p.commits), 0))::bigint as count_commits_listed,
           max(_extracted_at) as _extracted_at
    from latest_extraction
    group by c.repo, c.base, c.head
)
select * from final
