-- The team that owns each repository: configured, else the team most of its PR authors are in.
with
repos as (select distinct repo from int_deployments_unioned),
configured as (select repo, team from repo_teams),
identities as (select * from int_people_identities),
authors as (
    select prs.repo, identities.team, count(*) as count_prs
    from int_pull_requests_unioned as prs
    join identities on identities.system = prs.source_system and identities.identifier = lower(prs.author_login)
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
