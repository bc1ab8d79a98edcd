-- Identity resolution: every identifier a source system uses for a person -> one person.
-- (system, identifier) is unique; identifiers are lower-cased where systems are case-insensitive.
with
people as (select * from int_people_unioned),
users as (select * from int_users_unioned),
keys as (
    select 'github' as system, lower(github_login) as identifier, person_id
    from people where coalesce(github_login, '') <> ''
    union all
    select 'servicenow', servicenow_user_sys_id, person_id
    from people where coalesce(servicenow_user_sys_id, '') <> ''
    union all
    select 'email', lower(email), person_id from people where coalesce(email, '') <> ''
    union all
    select 'pagerduty', pagerduty_user_id, person_id
    from people where coalesce(pagerduty_user_id, '') <> ''
    union all
    select 'gitlab', lower(gitlab_username), person_id
    from people where coalesce(gitlab_username, '') <> ''
    union all
    -- ticketing-system users not mapped by id in the directory resolve by e-mail
    select users.source_system, users.sys_id, people.person_id
    from users join people on lower(people.email) = lower(users.email)
    where coalesce(users.email, '') <> ''
),
final as (
    select keys.system, keys.identifier, keys.person_id, people.name, people.kind,
           people.roles, people.team
    from keys join people using (person_id)
    qualify row_number() over (partition by keys.system, keys.identifier order by keys.person_id) = 1
)
select * from final
