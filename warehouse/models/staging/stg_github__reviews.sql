-- GitHub pull request reviews of merged PRs: REST (GET /repos/{repo}/pulls/{number}/reviews) and
-- the `reviews` of GraphQL PR nodes (raw.github__graphql_pull_requests, merged PRs only, as REST).
-- merge key: review_id
with
rest as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "number": "BIGINT"}') as c,
           json_transform(_payload, '{"id": "BIGINT", "user": {"login": "VARCHAR"}, "state": "VARCHAR",
                                      "commit_id": "VARCHAR", "submitted_at": "VARCHAR",
                                      "html_url": "VARCHAR"}') as p
    from raw.github__reviews
),
graphql as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"number": "BIGINT", "mergedAt": "VARCHAR",
                                      "reviews": {"nodes": [{"databaseId": "BIGINT", "state": "VARCHAR",
                                                  "submittedAt": "VARCHAR", "url": "VARCHAR",
                                                  "author": {"__typename": "VARCHAR", "login": "VARCHAR"},
                                                  "commit": {"oid": "VARCHAR"}}]}}') as g
    from raw.github__graphql_pull_requests
),
unioned as (
    select _extracted_at, p.id as review_id, c.repo, c.number as pr_number, p.user.login as reviewer_login,
           p.state, p.commit_id, try_cast(p.submitted_at as timestamptz) as submitted_at, p.html_url
    from rest
    union all by name
    select _extracted_at, r.databaseId as review_id, repo, g.number as pr_number,
           case when r.author.__typename = 'Bot' then r.author.login || '[bot]' else r.author.login end as reviewer_login,
           r.state, r.commit.oid as commit_id, try_cast(r.submittedAt as timestamptz) as submitted_at,
           r.url as html_url
    from graphql, unnest(coalesce(g.reviews.nodes, [])) as t(r)
    where g.mergedAt is not null and r.databaseId is not null
),
documents as (select review_id, _extracted_at from unioned),
final as (
    select *
    from unioned
    qualify row_number() over (partition by review_id order by _extracted_at desc) = 1
)
select * from final
