-- The commits a GitLab compare lists, one row per (repo, base_sha, head_sha, sha); the latest
-- extraction of the pair wins. *_login from GitLab no-reply addresses, as in stg_gitlab__pr_commits.
with
source as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "base": "VARCHAR", "head": "VARCHAR"}') as c,
           json_transform(_payload, '{"commits": [{"id": "VARCHAR", "web_url": "VARCHAR", "parent_ids": ["VARCHAR"],
                                      "message": "VARCHAR", "author_name": "VARCHAR", "author_email": "VARCHAR",
                                      "authored_date": "VARCHAR", "committer_name": "VARCHAR",
                                      "committer_email": "VARCHAR", "committed_date": "VARCHAR"}]}') as p
    from raw.gitlab__compares
),
latest_extraction as (
    select *
    from source
    qualify row_number() over (partition by c.repo, c.base, c.head order by _extracted_at desc) = 1
),
commits as (
    select c.repo, c.base as base_sha, c.head as head_sha, unnest(p.commits) as commit
    from latest_extraction
),
final as (
    select repo, base_sha, head_sha, commit.id as sha,
           nullif(regexp_extract(commit.author_email, '^(?:[0-9]+-)?([^@]+)@users\.noreply\.gitlab\.com$', 1), '') as author_login,
           commit.author_email, commit.author_name,
           nullif(regexp_extract(commit.committer_email, '^(?:[0-9]+-)?([^@]+)@users\.noreply\.gitlab\.com$', 1), '') as committer_login,
           commit.committer_email, commit.message,
           coalesce(len(commit.parent_ids), 0)::bigint as count_parents,
           try_cast(commit.authored_date as timestamptz) as authored_at,
           try_cast(commit.committed_date as timestamptz) as committed_at,
           commit.web_url as html_url
    from commits
    where commit.id is not null
    qualify row_number() over (partition by repo, base_sha, head_sha, commit.id order by base_sha) = 1
)
select * from final
