-- Commits of merged pull requests: REST (GET /repos/{repo}/pulls/{number}/commits) and the
-- `commits` of GraphQL PR nodes (raw.github__graphql_pull_requests, merged PRs only, as REST).
-- `*_login` is the GitHub account GitHub matched to the commit e-mail (null when none; GraphQL's
-- GitActor.user is never a bot, so a bot's noreply e-mail `<id>+<name>[bot]@users.noreply.github.com`
-- gives its login as REST does); names, e-mails and dates are the git metadata.
-- merge key: repo, pr_number, sha
with
rest as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "number": "BIGINT"}') as c,
           json_transform(_payload, '{"sha": "VARCHAR", "author": {"login": "VARCHAR"},
                                      "committer": {"login": "VARCHAR"},
                                      "commit": {"message": "VARCHAR",
                                                 "author": {"name": "VARCHAR", "email": "VARCHAR", "date": "VARCHAR"},
                                                 "committer": {"name": "VARCHAR", "email": "VARCHAR", "date": "VARCHAR"}}}') as p
    from raw.github__pr_commits
),
graphql as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"number": "BIGINT", "mergedAt": "VARCHAR",
                                      "commits": {"nodes": [{"commit": {"oid": "VARCHAR", "message": "VARCHAR",
                                          "author": {"name": "VARCHAR", "email": "VARCHAR", "date": "VARCHAR",
                                                     "user": {"login": "VARCHAR"}},
                                          "committer": {"name": "VARCHAR", "email": "VARCHAR", "date": "VARCHAR",
                                                        "user": {"login": "VARCHAR"}}}}]}}') as g
    from raw.github__graphql_pull_requests
),
unioned as (
    select _extracted_at, c.repo, c.number as pr_number, p.sha,
           p.author.login as author_login, p.commit.author.email as author_email,
           p.commit.author.name as author_name, p.committer.login as committer_login,
           p.commit.committer.email as committer_email, p.commit.message as message,
           try_cast(p.commit.author.date as timestamptz) as authored_at,
           try_cast(p.commit.committer.date as timestamptz) as committed_at
    from rest
    union all by name
    select _extracted_at, repo, g.number as pr_number, n.commit.oid as sha,
           coalesce(n.commit.author.user.login, nullif(regexp_extract(n.commit.author.email,
               '^[0-9]+\+([^@]+\[bot\])@users\.noreply\.github\.com$', 1), '')) as author_login,
           n.commit.author.email as author_email, n.commit.author.name as author_name,
           coalesce(n.commit.committer.user.login, nullif(regexp_extract(n.commit.committer.email,
               '^[0-9]+\+([^@]+\[bot\])@users\.noreply\.github\.com$', 1), '')) as committer_login,
           n.commit.committer.email as committer_email, n.commit.message as message,
           try_cast(n.commit.author.date as timestamptz) as authored_at,
           try_cast(n.commit.committer.date as timestamptz) as committed_at
    from graphql, unnest(coalesce(g.commits.nodes, [])) as t(n)
    where g.mergedAt is not null and n.commit.oid is not null
),
documents as (select repo, pr_number, sha, _extracted_at from unioned),
final as (
    select *
    from unioned
    qualify row_number() over (partition by repo, pr_number, sha order by _extracted_at desc) = 1
)
select * from final
