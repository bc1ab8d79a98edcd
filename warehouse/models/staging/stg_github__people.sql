-- People from GitHub: organisation members (GET /orgs/{org}/members) with their team
-- memberships (GET /orgs/{org}/teams/{slug}/members). person_id = 'github:<login>'; roles =
-- the roles config `team_roles` gives their teams (landed in each membership's context);
-- team = their first team (by slug) that maps to no role, else their first team; kind =
-- service for Bot accounts, else human. GitHub does not disclose name or e-mail here.
with
members as (
    select _extracted_at, json_transform(_payload, '{"login": "VARCHAR", "type": "VARCHAR"}') as p
    from raw.github__org_members
),
memberships as (
    select json_extract_string(_context, '$.team_slug') as team_slug,
           json_extract_string(_context, '$.role') as role,
           json_extract_string(_payload, '$.login') as login
    from raw.github__team_members
),
latest_members as (
    select p.login, p.type from members
    qualify row_number() over (partition by lower(p.login) order by _extracted_at desc) = 1
),
per_login as (
    select lower(login) as login_key,
           list(distinct role order by role) filter (where role is not null) as roles,
           coalesce(min(team_slug) filter (where role is null), min(team_slug)) as team
    from memberships group by all
),
final as (
    select 'github:' || lower(latest_members.login) as person_id, cast(null as varchar) as name,
           cast(null as varchar) as email, latest_members.login as github_login,
           cast(null as varchar) as servicenow_user_sys_id, cast(null as varchar) as pagerduty_user_id,
           coalesce(per_login.roles, []::varchar[]) as roles, per_login.team,
           case when latest_members.type = 'Bot' then 'service' else 'human' end as kind
    from latest_members
    left join per_login on per_login.login_key = lower(latest_members.login)
)
select * from final
