-- GitHub pull requests (state=all); one row per PR id, latest extraction wins.
with
source as (
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
final as (
    select p.id as pr_id, repo, p.number, p.title, p.body, p.state, p.user.login as author_login,
           p.head.ref as head_ref, p.head.sha as head_sha, p.base.ref as base_ref, p.merge_commit_sha,
           coalesce(p.draft, false) as is_draft,
           try_cast(p.created_at as timestamptz) as created_at,
           try_cast(p.merged_at as timestamptz) as merged_at,
           try_cast(p.closed_at as timestamptz) as closed_at,
           p.html_url
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
