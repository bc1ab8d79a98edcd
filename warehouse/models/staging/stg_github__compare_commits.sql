-- The commits a compare lists (its `commits` array, unnested), one row per
-- (repo, base_sha, head_sha, sha); the latest extraction of the pair wins.
-- merge key: repo, base_sha, head_sha
with
source as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "base": "VARCHAR", "head": "VARCHAR"}') as c,
           json_transform(_payload, '{"commits": [{"sha": "VARCHAR", "html_url": "VARCHAR",
                                       "author": {"login": "VARCHAR"}, "committer": {"login": "VARCHAR"},
                                       "parents": ["JSON"],
                                       "commit": {"message": "VARCHAR",
                                                  "author": {"name": "VARCHAR", "email": "VARCHAR", "date": "VARCHAR"},
                                                  "committer": {"name": "VARCHAR", "email": "VARCHAR", "date": "VARCHAR"}}}]}') as p
    from raw.github__compares
),
latest_extraction as (
    select *, max(_extracted_at) over (partition by c.repo, c.base, c.head) as _version_at
    from source
    qualify _run_id = arg_max(_run_id, _extracted_at) over (partition by c.repo, c.base, c.head)
),
commits as (
    select c.repo, c.base as base_sha, c.head as head_sha, _extracted_at as _page_at, _version_at,
           unnest(p.commits) as commit
    from latest_extraction
),
documents as (select c.repo, c.base as base_sha, c.head as head_sha, _extracted_at from source),
final as (
    select repo, base_sha, head_sha, commit.sha,
           commit.author.login as author_login, commit.commit.author.email as author_email,
           commit.commit.author.name as author_name, commit.committer.login as committer_login,
           commit.commit.committer.email as committer_email, commit.commit.message as message,
           coalesce(len(commit.parents), 0)::bigint as count_parents,
           try_cast(commit.commit.author.date as timestamptz) as authored_at,
           try_cast(commit.commit.committer.date as timestamptz) as committed_at,
           commit.html_url, _version_at as _extracted_at
    from commits
    where commit.sha is not null
    qualify row_number() over (partition by repo, base_sha, head_sha, commit.sha order by _page_at desc) = 1
)
select * from final
