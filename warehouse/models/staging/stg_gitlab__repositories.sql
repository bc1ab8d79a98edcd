-- GitLab projects (GET /groups/{id}/projects?include_subgroups=true or /projects/{id}); repo is
-- the project's path with namespace.
with
source as (
    select _extracted_at,
           json_transform(_payload, '{"id": "BIGINT", "path_with_namespace": "VARCHAR", "default_branch": "VARCHAR",
                                      "web_url": "VARCHAR", "archived": "BOOLEAN"}') as p
    from raw.gitlab__projects
),
final as (
    select p.path_with_namespace as repo, p.id as repo_id, p.default_branch, p.web_url as html_url,
           coalesce(p.archived, false) as archived
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
