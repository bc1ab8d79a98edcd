-- Commits of merged merge requests (GET /projects/{id}/merge_requests/{iid}/commits). GitLab
-- commits carry no account, so *_login is the username of a GitLab no-reply address
-- (`[<id>-]<username>@users.noreply.gitlab.com`), else null (people resolve by e-mail).
with
source as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "iid": "BIGINT"}') as c,
           json_transform(_payload, '{"id": "VARCHAR", "message": "VARCHAR", "author_name": "VARCHAR",
                                      "author_email": "VARCHAR", "authored_date": "VARCHAR",
                                      "committer_name": "VARCHAR", "committer_email": "VARCHAR",
                                      "committed_date": "VARCHAR"}') as p
    from raw.gitlab__mr_commits
),
final as (
    select c.repo, c.iid as pr_number, p.id as sha,
           nullif(regexp_extract(p.author_email, '^(?:[0-9]+-)?([^@]+)@users\.noreply\.gitlab\.com$', 1), '') as author_login,
           p.author_email, p.author_name,
           nullif(regexp_extract(p.committer_email, '^(?:[0-9]+-)?([^@]+)@users\.noreply\.gitlab\.com$', 1), '') as committer_login,
           p.committer_email, p.message,
           try_cast(p.authored_date as timestamptz) as authored_at,
           try_cast(p.committed_date as timestamptz) as committed_at
    from source
    qualify row_number() over (partition by c.repo, c.iid, p.id order by _extracted_at desc) = 1
)
select * from final
