-- GitHub repositories (GET /orgs/{org}/repos or /repos/{repo}); one row per repository id.
with
source as (
    select _extracted_at,
           json_transform(_payload, '{"id": "BIGINT", "full_name": "VARCHAR", "default_branch": "VARCHAR",
                                      "html_url": "VARCHAR", "archived": "BOOLEAN"}') as p
    from raw.github__repositories
),
final as (
    select p.full_name as repo, p.id as repo_id, p.default_branch, p.html_url,
           coalesce(p.archived, false) as archived
    from source
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
)
select * from final
