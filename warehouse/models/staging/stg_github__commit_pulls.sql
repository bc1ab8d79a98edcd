-- Commit -> pull request association: REST (GET /repos/{repo}/commits/{sha}/pulls) and GraphQL
-- commit nodes (raw.github__graphql_commit_pulls: associatedPullRequests); one row per pair.
-- merge: union
with
source as (
    select json_transform(_context, '{"repo": "VARCHAR", "sha": "VARCHAR"}') as c,
           json_extract_string(_payload, '$.number') as number
    from raw.github__commit_pulls
    union all by name
    select json_transform(_context, '{"repo": "VARCHAR", "sha": "VARCHAR"}') as c, pr.number::varchar as number
    from raw.github__graphql_commit_pulls,
         unnest(coalesce(json_transform(_payload, '{"associatedPullRequests": {"nodes": [{"number": "BIGINT"}]}}')
                         .associatedPullRequests.nodes, [])) as t(pr)
),
final as (
    select distinct c.repo, c.sha, number::bigint as pr_number
    from source
    where number is not null
)
select * from final
