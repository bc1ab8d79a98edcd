-- Commits of merged pull requests (GET /repos/{repo}/pulls/{number}/commits). `*_login` is the
-- GitHub account GitHub matched to the commit e-mail (null when none); names, e-mails and dates
-- are the git metadata.
with
source as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "number": "BIGINT"}') as c,
           json_transform(_payload, '{"sha": "VARCHAR", "author": {"login": "VARCHAR"},
                                      "committer": {"login": "VARCHAR"},
                                      "commit": {"message": "VARCHAR",
                                                 "author": {"name": "VARCHAR", "email": "VARCHAR", "date": "VARCHAR"},
                                                 "committer": {"name": "VARCHAR", "email": "VARCHAR", "date": "VARCHAR"}}}') as p
    from raw.github__pr_commits
),
final as (
    select c.repo, c.number as pr_number, p.sha,
           p.author.login as author_login, p.commit.author.email as author_email,
           p.commit.author.name as author_name, p.committer.login as committer_login,
           p.commit.committer.email as committer_email, p.commit.message as message,
           try_cast(p.commit.author.date as timestamptz) as authored_at,
           try_cast(p.commit.committer.date as timestamptz) as committed_at
    from source
    qualify row_number() over (partition by c.repo, c.number, p.sha order by _extracted_at desc) = 1
)
select * from final
