-- Check runs of deployed production commits: REST (GET /repos/{repo}/commits/{sha}/check-runs?filter=all)
-- and GraphQL commit nodes (raw.github__graphql_commit_checks: checkSuites -> checkRuns, checkType ALL);
-- GraphQL enums are lower-cased to REST's values.
-- merge key: check_run_id
with
rest as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "head_sha": "VARCHAR", "name": "VARCHAR",
                                      "status": "VARCHAR", "conclusion": "VARCHAR",
                                      "started_at": "VARCHAR", "completed_at": "VARCHAR",
                                      "app": {"slug": "VARCHAR"}, "html_url": "VARCHAR"}') as p
    from raw.github__check_runs
),
graphql as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"oid": "VARCHAR", "checkSuites": {"nodes": [{"app": {"slug": "VARCHAR"},
                                      "checkRuns": {"nodes": [{"databaseId": "BIGINT", "name": "VARCHAR",
                                          "status": "VARCHAR", "conclusion": "VARCHAR", "startedAt": "VARCHAR",
                                          "completedAt": "VARCHAR", "url": "VARCHAR"}]}}]}}') as g
    from raw.github__graphql_commit_checks
),
graphql_suites as (
    select _extracted_at, repo, g.oid as head_sha, s.app.slug as app_slug, s.checkRuns.nodes as runs
    from graphql, unnest(coalesce(g.checkSuites.nodes, [])) as t(s)
),
unioned as (
    select _extracted_at, p.id as check_run_id, repo, p.head_sha, p.name, p.status, p.conclusion,
           try_cast(p.started_at as timestamptz) as started_at,
           try_cast(p.completed_at as timestamptz) as completed_at,
           p.app.slug as app_slug, p.html_url
    from rest
    union all by name
    select _extracted_at, r.databaseId as check_run_id, repo, head_sha, r.name, lower(r.status) as status,
           lower(r.conclusion) as conclusion,
           try_cast(r.startedAt as timestamptz) as started_at,
           try_cast(r.completedAt as timestamptz) as completed_at,
           app_slug, r.url as html_url
    from graphql_suites, unnest(coalesce(runs, [])) as t(r)
    where r.databaseId is not null
),
documents as (select check_run_id, _extracted_at from unioned),
final as (
    select *
    from unioned
    qualify row_number() over (partition by check_run_id order by _extracted_at desc) = 1
)
select * from final
