-- GitLab CI as check runs: every job of the pipelines of deployed production commits
-- (GET /projects/{id}/pipelines/{pipeline_id}/jobs?include_retried=true; name = the job name),
-- plus each pipeline itself as a run named `pipeline`. Statuses in GitHub's words:
-- success/failed/canceled/skipped -> completed with conclusion success/failure/cancelled/skipped;
-- running -> in_progress; created/pending/preparing/waiting_for_resource/manual/scheduled -> queued.
-- A job completes at `finished_at`; a pipeline from the list API at its `updated_at` (null:
-- not known to have completed).
with
jobs as (
    select _extracted_at, 'job' as kind,
           json_transform(_context, '{"repo": "VARCHAR", "sha": "VARCHAR"}') as c,
           json_transform(_payload, '{"id": "BIGINT", "name": "VARCHAR", "status": "VARCHAR",
                                      "started_at": "VARCHAR", "finished_at": "VARCHAR", "web_url": "VARCHAR",
                                      "commit": {"id": "VARCHAR"}, "pipeline": {"sha": "VARCHAR"}}') as p
    from raw.gitlab__jobs
),
pipelines as (
    select _extracted_at, 'pipeline' as kind,
           json_transform(_context, '{"repo": "VARCHAR", "sha": "VARCHAR"}') as c,
           json_transform(_payload, '{"id": "BIGINT", "sha": "VARCHAR", "status": "VARCHAR", "created_at": "VARCHAR",
                                      "updated_at": "VARCHAR", "web_url": "VARCHAR"}') as p
    from raw.gitlab__pipelines
),
runs as (
    select _extracted_at, kind, p.id, c.repo, coalesce(p.commit.id, p.pipeline.sha, c.sha) as head_sha, p.name,
           p.status, p.started_at, p.finished_at, p.web_url
    from jobs
    union all
    select _extracted_at, kind, p.id, c.repo, coalesce(p.sha, c.sha), 'pipeline', p.status, p.created_at,
           case when p.status in ('success', 'failed', 'canceled', 'skipped') then p.updated_at end, p.web_url
    from pipelines
),
final as (
    select id as check_run_id, repo, head_sha, name,
           case when status in ('success', 'failed', 'canceled', 'skipped') then 'completed'
                when status = 'running' then 'in_progress'
                else 'queued' end as status,
           case status when 'success' then 'success' when 'failed' then 'failure'
                       when 'canceled' then 'cancelled' when 'skipped' then 'skipped' end as conclusion,
           try_cast(started_at as timestamptz) as started_at,
           try_cast(finished_at as timestamptz) as completed_at,
           'gitlab-ci' as app_slug, web_url as html_url
    from runs
    qualify row_number() over (partition by kind, id order by _extracted_at desc) = 1
)
select * from final
