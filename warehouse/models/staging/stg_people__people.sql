-- The people directory: one row per person_id, latest extraction wins (people removed from the
-- CSV later stay resolvable for the history they are part of). Roles are the ';'-list as an array.
with
source as (
    select _extracted_at,
           json_transform(_payload, '{"person_id": "VARCHAR", "name": "VARCHAR", "email": "VARCHAR",
                                      "github_login": "VARCHAR", "servicenow_user_sys_id": "VARCHAR",
                                      "pagerduty_user_id": "VARCHAR", "gitlab_username": "VARCHAR", "roles": "VARCHAR", "team": "VARCHAR",
                                      "kind": "VARCHAR"}') as p
    from raw.people__people
),
final as (
    select nullif(trim(p.person_id), '') as person_id, nullif(trim(p.name), '') as name,
           nullif(trim(p.email), '') as email, nullif(trim(p.github_login), '') as github_login,
           nullif(trim(p.servicenow_user_sys_id), '') as servicenow_user_sys_id,
           nullif(trim(p.pagerduty_user_id), '') as pagerduty_user_id,
           list_filter(list_transform(string_split(coalesce(p.roles, ''), ';'), lambda r: trim(r)),
                       lambda r: r <> '') as roles,
           nullif(trim(p.team), '') as team, p.kind,
           nullif(trim(p.gitlab_username), '') as gitlab_username
    from source
    where nullif(trim(p.person_id), '') is not null
    qualify row_number() over (partition by trim(p.person_id) order by _extracted_at desc) = 1
)
select * from final
