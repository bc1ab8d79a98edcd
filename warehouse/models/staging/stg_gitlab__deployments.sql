-- GitLab deployments (GET /projects/{id}/deployments), every environment. GitLab has no
-- deployment task, description or payload; their equivalents:
--   task         the deploy job's name (`deployable.name`, e.g. `deploy` or `deploy:rollback`)
--   description  the pipeline's name (`workflow:name`, where teams put the change ticket)
--   payload      {"triggered_by": the human behind the deploying account, "job_id", "pipeline_id"}:
--                the pipeline's user when GitLab embeds it, else the job's user when it differs
--                from the deployment's user (a bot running a job a person started)
--   creator      the deployment's `user`; deployment_url the API resource of the deployment.
with
source as (
    select _extracted_at, _source_url,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "sha": "VARCHAR", "ref": "VARCHAR",
                                      "created_at": "VARCHAR", "user": {"username": "VARCHAR", "bot": "BOOLEAN"},
                                      "environment": {"name": "VARCHAR"},
                                      "deployable": {"id": "BIGINT", "name": "VARCHAR", "user": {"username": "VARCHAR"},
                                                     "pipeline": {"id": "BIGINT", "name": "VARCHAR",
                                                                  "user": {"username": "VARCHAR"}}}}') as p
    from raw.gitlab__deployments
),
final as (
    select p.id as deployment_id, repo, p.sha, p.ref, coalesce(p.deployable.name, 'deploy') as task,
           p.environment.name as environment, p.deployable.pipeline.name as description,
           json_object('triggered_by', coalesce(p.deployable.pipeline.user.username,
                                                nullif(p.deployable.user.username, p.user.username)),
                       'job_id', p.deployable.id, 'pipeline_id', p.deployable.pipeline.id) as payload,
           p.user.username as creator_login,
           case when p.user.bot then 'Bot' else 'User' end as creator_type,
           try_cast(p.created_at as timestamptz) as created_at,
           regexp_replace(_source_url, '\?.*$', '') || '/' || p.id as deployment_url
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
