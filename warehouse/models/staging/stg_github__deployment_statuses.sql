-- GitHub deployment statuses (GET /repos/{repo}/deployments/{id}/statuses).
-- merge key: status_id
with
source as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "deployment_id": "BIGINT"}') as c,
           json_transform(_payload, '{"id": "BIGINT", "state": "VARCHAR", "creator": {"login": "VARCHAR"},
                                      "created_at": "VARCHAR", "log_url": "VARCHAR",
                                      "target_url": "VARCHAR"}') as p
    from raw.github__deployment_statuses
),
documents as (select p.id as status_id, _extracted_at from source),
final as (
    select p.id as status_id, c.deployment_id, c.repo, p.state, p.creator.login as creator_login,
           try_cast(p.created_at as timestamptz) as created_at,
           coalesce(nullif(p.log_url, ''), nullif(p.target_url, '')) as log_url,
           _extracted_at
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
