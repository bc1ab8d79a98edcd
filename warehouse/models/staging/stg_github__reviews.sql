-- GitHub pull request reviews (GET /repos/{repo}/pulls/{number}/reviews) of merged PRs.
with
source as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "number": "BIGINT"}') as c,
           json_transform(_payload, '{"id": "BIGINT", "user": {"login": "VARCHAR"}, "state": "VARCHAR",
                                      "commit_id": "VARCHAR", "submitted_at": "VARCHAR",
                                      "html_url": "VARCHAR"}') as p
    from raw.github__reviews
),
final as (
    select p.id as review_id, c.repo, c.number as pr_number, p.user.login as reviewer_login, p.state,
           p.commit_id, try_cast(p.submitted_at as timestamptz) as submitted_at, p.html_url
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
