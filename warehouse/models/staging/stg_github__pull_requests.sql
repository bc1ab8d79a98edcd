-- GitHub pull requests (state=all); one row per PR id, latest extraction wins. From REST
-- (GET /repos/{repo}/pulls) and from GraphQL PR nodes (raw.github__graphql_pull_requests, api =
-- "graphql"): a GraphQL bot author is `login` + '[bot]' as REST names it, state MERGED is closed,
-- merge_commit_sha is the merge commit, else GitHub's test merge (potentialMergeCommit) as in REST.
-- merge key: pr_id
with
rest as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "number": "BIGINT", "title": "VARCHAR", "body": "VARCHAR",
                                      "state": "VARCHAR", "user": {"login": "VARCHAR"},
                                      "head": {"ref": "VARCHAR", "sha": "VARCHAR"}, "base": {"ref": "VARCHAR"},
                                      "merge_commit_sha": "VARCHAR", "draft": "BOOLEAN",
                                      "created_at": "VARCHAR", "merged_at": "VARCHAR",
                                      "closed_at": "VARCHAR", "html_url": "VARCHAR"}') as p
    from raw.github__pull_requests
),
graphql as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"databaseId": "BIGINT", "number": "BIGINT", "title": "VARCHAR", "body": "VARCHAR",
                                      "state": "VARCHAR", "author": {"__typename": "VARCHAR", "login": "VARCHAR"},
                                      "headRefName": "VARCHAR", "headRefOid": "VARCHAR", "baseRefName": "VARCHAR",
                                      "mergeCommit": {"oid": "VARCHAR"},
                                      "potentialMergeCommit": {"oid": "VARCHAR"}, "isDraft": "BOOLEAN",
                                      "createdAt": "VARCHAR", "mergedAt": "VARCHAR",
                                      "closedAt": "VARCHAR", "url": "VARCHAR"}') as g
    from raw.github__graphql_pull_requests
),
unioned as (
    select _extracted_at, p.id as pr_id, repo, p.number, p.title, p.body, p.state, p.user.login as author_login,
           p.head.ref as head_ref, p.head.sha as head_sha, p.base.ref as base_ref, p.merge_commit_sha,
           coalesce(p.draft, false) as is_draft,
           try_cast(p.created_at as timestamptz) as created_at,
           try_cast(p.merged_at as timestamptz) as merged_at,
           try_cast(p.closed_at as timestamptz) as closed_at,
           p.html_url
    from rest
    union all by name
    select _extracted_at, g.databaseId as pr_id, repo, g.number, g.title, g.body,
           case when g.state = 'OPEN' then 'open' when g.state is not null then 'closed' end as state,
           case when g.author.__typename = 'Bot' then g.author.login || '[bot]' else g.author.login end as author_login,
           g.headRefName as head_ref, g.headRefOid as head_sha, g.baseRefName as base_ref,
           coalesce(g.mergeCommit.oid, g.potentialMergeCommit.oid) as merge_commit_sha, coalesce(g.isDraft, false) as is_draft,
           try_cast(g.createdAt as timestamptz) as created_at,
           try_cast(g.mergedAt as timestamptz) as merged_at,
           try_cast(g.closedAt as timestamptz) as closed_at,
           g.url as html_url
    from graphql
    where g.databaseId is not null
),
documents as (select pr_id, _extracted_at from unioned),
final as (
    select *
    from unioned
    qualify row_number() over (partition by pr_id order by _extracted_at desc) = 1
)
select * from final
