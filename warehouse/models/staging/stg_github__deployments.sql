-- GitHub deployments, every environment; the deployment payload is kept as JSON (it may carry
-- `triggered_by` and ticket keys).
-- merge key: deployment_id
with
source as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "sha": "VARCHAR", "ref": "VARCHAR", "task": "VARCHAR",
                                      "environment": "VARCHAR", "description": "VARCHAR", "payload": "JSON",
                                      "creator": {"login": "VARCHAR", "type": "VARCHAR"},
                                      "created_at": "VARCHAR", "url": "VARCHAR"}') as p
    from raw.github__deployments
),
documents as (select p.id as deployment_id, _extracted_at from source),
final as (
    select p.id as deployment_id, repo, p.sha, p.ref, p.task, p.environment, p.description,
           p.payload, p.creator.login as creator_login, p.creator.type as creator_type,
           try_cast(p.created_at as timestamptz) as created_at, p.url as deployment_url, _extracted_at
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
