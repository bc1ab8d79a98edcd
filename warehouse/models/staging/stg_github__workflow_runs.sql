-- GitHub Actions workflow runs of deployed commits (GET /repos/{repo}/actions/runs?head_sha=).
-- triggering_actor is who started (or re-ran) the run: the human behind a bot's deployment.
-- merge key: run_id
with
source as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "name": "VARCHAR", "event": "VARCHAR", "status": "VARCHAR",
                                      "conclusion": "VARCHAR", "head_sha": "VARCHAR", "head_branch": "VARCHAR",
                                      "actor": {"login": "VARCHAR"}, "triggering_actor": {"login": "VARCHAR"},
                                      "created_at": "VARCHAR", "run_started_at": "VARCHAR",
                                      "updated_at": "VARCHAR", "html_url": "VARCHAR"}') as p
    from raw.github__workflow_runs
),
documents as (select p.id as run_id, _extracted_at from source),
final as (
    select p.id as run_id, repo, p.name as workflow_name, p.event, p.status, p.conclusion, p.head_sha,
           p.head_branch, p.actor.login as actor_login,
           coalesce(p.triggering_actor.login, p.actor.login) as triggering_actor_login,
           try_cast(p.created_at as timestamptz) as created_at,
           try_cast(p.run_started_at as timestamptz) as run_started_at,
           try_cast(p.updated_at as timestamptz) as updated_at, p.html_url, _extracted_at
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
