-- The team that owns each repository: configured, else the team most of its PR authors are in.
with
repos as (select distinct repo from stg_github__deployments),
configured as (select repo, team from repo_teams),
identities as (select * from int_people_identities where system = 'github'),
authors as (
    select prs.repo, identities.team, count(*) as count_prs
    from stg_github__pull_requests as prs
    join identities on identities.identifier = lower(prs.author_login)
    where identities.team is not null and identities.kind = 'human'
    group by all
),
inferred as (
    select repo, team from authors
    qualify row_number() over (partition by repo order by count_prs desc, team) = 1
),
final as (
    select repos.repo, coalesce(configured.team, inferred.team, 'unassigned') as team,
           configured.team is not null as is_configured
    from repos
    left join configured using (repo)
    left join inferred using (repo)
)
select * from final
