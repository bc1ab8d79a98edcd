-- GitLab merge requests (state=all) as pull requests: number = iid, author = author.username,
-- head = source branch + `sha`, base = target branch, state opened -> open (else closed),
-- merge_commit_sha = the merge commit, else the squash commit (fast-forward squash merges);
-- closed_at of a merged MR is its merged_at, as on GitHub.
with
source as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "iid": "BIGINT", "title": "VARCHAR", "description": "VARCHAR",
                                      "state": "VARCHAR", "author": {"username": "VARCHAR"},
                                      "source_branch": "VARCHAR", "sha": "VARCHAR", "target_branch": "VARCHAR",
                                      "merge_commit_sha": "VARCHAR", "squash_commit_sha": "VARCHAR",
                                      "draft": "BOOLEAN", "work_in_progress": "BOOLEAN",
                                      "created_at": "VARCHAR", "merged_at": "VARCHAR",
                                      "closed_at": "VARCHAR", "web_url": "VARCHAR"}') as p
    from raw.gitlab__merge_requests
),
final as (
    select p.id as pr_id, repo, p.iid as number, p.title, p.description as body,
           case when p.state = 'opened' then 'open' else 'closed' end as state,
           p.author.username as author_login, p.source_branch as head_ref, p.sha as head_sha,
           p.target_branch as base_ref, coalesce(p.merge_commit_sha, p.squash_commit_sha) as merge_commit_sha,
           coalesce(p.draft, p.work_in_progress, false) as is_draft,
           try_cast(p.created_at as timestamptz) as created_at,
           try_cast(p.merged_at as timestamptz) as merged_at,
           coalesce(try_cast(p.closed_at as timestamptz), try_cast(p.merged_at as timestamptz)) as closed_at,
           p.web_url as html_url
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
