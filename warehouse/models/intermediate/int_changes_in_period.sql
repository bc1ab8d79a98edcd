-- The population: successful production deployments in the evaluated period, with who deployed.
with
changes as (select * from int_changes_sequenced),
params as (select * from eval_params),
teams as (select * from int_repositories_assigned_to_teams),
identities as (select * from int_people_identities),
runs as (select * from int_workflow_runs_unioned),
in_period as (
    select changes.* from changes cross join params
    where changes.deployed_at >= params.period_start and changes.deployed_at < params.period_end
),
-- who started the CI run of the deployed sha last before the deployment: the human behind a bot
-- when the deployment payload names no `triggered_by`
run_triggers as (
    select in_period.change_id, arg_max(runs.triggering_actor_login, runs.created_at) as login
    from in_period
    join runs
        on runs.source_system = in_period.source_system and runs.repo = in_period.repo
        and runs.head_sha = in_period.sha and runs.created_at <= in_period.deployed_at
        and runs.triggering_actor_login is not null
    group by in_period.change_id
),
triggers as (
    select in_period.change_id,
           coalesce(nullif(json_extract_string(in_period.payload, '$.triggered_by'), ''), run_triggers.login) as login
    from in_period left join run_triggers using (change_id)
),
final as (
    select
        in_period.change_id, in_period.source_system, in_period.repo,
        split_part(in_period.repo, '/', 2) as service,
        teams.team,
        in_period.deployment_id, in_period.deployment_url, in_period.sha, in_period.ref,
        in_period.task, in_period.environment, in_period.description, in_period.payload,
        in_period.deployed_at, in_period.previous_sha, in_period.previous_deployment_id,
        in_period.is_baseline, in_period.is_rollback, in_period.compare_status,
        in_period.total_commits, in_period.count_commits_listed,
        in_period.creator_login as deployer_login,
        deployer.person_id as deployer_person_id,
        deployer.kind as deployer_kind,
        triggers.login as trigger_login,
        trigger.person_id as trigger_person_id,
        trigger.kind as trigger_kind,
        -- the human accountable for the deployment: the deployer, or the human behind a bot
        case
            when deployer.kind = 'human' then deployer.person_id
            when deployer.kind = 'service' and trigger.kind = 'human' then trigger.person_id
        end as accountable_person_id
    from in_period
    left join teams on teams.repo = in_period.repo
    left join triggers on triggers.change_id = in_period.change_id
    left join identities as deployer
        on deployer.system = in_period.source_system and deployer.identifier = lower(in_period.creator_login)
    left join identities as trigger
        on trigger.system = in_period.source_system
        and trigger.identifier = lower(triggers.login)
)
select * from final
