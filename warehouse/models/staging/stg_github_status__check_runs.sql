-- Legacy commit statuses (GET /repos/{repo}/commits/{sha}/status) as check runs, so CM-05 sees
-- CI systems that report through the statuses API (Jenkins, CircleCI, Buildkite...):
-- name = context; state pending -> status in_progress with no conclusion, success -> success,
-- failure/error -> failure; started_at = created_at, completed_at = updated_at once final.
-- (Its own system name: `stg_github__check_runs` is the Checks API view; the entity is the same.)
with
source as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "sha": "VARCHAR"}') as c,
           json_transform(_payload, '{"id": "BIGINT", "context": "VARCHAR", "state": "VARCHAR",
                                      "created_at": "VARCHAR", "updated_at": "VARCHAR",
                                      "target_url": "VARCHAR"}') as p
    from raw.github__commit_statuses
),
final as (
    select p.id as check_run_id, c.repo, c.sha as head_sha, p.context as name,
           case when p.state = 'pending' then 'in_progress' else 'completed' end as status,
           case p.state when 'success' then 'success' when 'failure' then 'failure'
                        when 'error' then 'failure' end as conclusion,
           try_cast(p.created_at as timestamptz) as started_at,
           case when p.state <> 'pending' then try_cast(coalesce(p.updated_at, p.created_at) as timestamptz)
           end as completed_at,
           cast(null as varchar) as app_slug, p.target_url as html_url
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
