-- Check runs of deployed production commits (GET /repos/{repo}/commits/{sha}/check-runs?filter=all).
with
source as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "head_sha": "VARCHAR", "name": "VARCHAR",
                                      "status": "VARCHAR", "conclusion": "VARCHAR",
                                      "started_at": "VARCHAR", "completed_at": "VARCHAR",
                                      "app": {"slug": "VARCHAR"}, "html_url": "VARCHAR"}') as p
    from raw.github__check_runs
),
final as (
    select p.id as check_run_id, repo, p.head_sha, p.name, p.status, p.conclusion,
           try_cast(p.started_at as timestamptz) as started_at,
           try_cast(p.completed_at as timestamptz) as completed_at,
           p.app.slug as app_slug, p.html_url
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
