-- CM-09 no-staging-validation (metadata: cm_09__no_staging_validation.yml)
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
deployments as (select * from int_deployments_succeeded where is_staging and succeeded_at is not null),
staged as (
    select changes.change_id, min(deployments.succeeded_at) as staged_at,
           arg_min(deployments.environment, deployments.succeeded_at) as staging_environment
    from changes
    join deployments on deployments.repo = changes.repo and deployments.sha = changes.sha
                    and deployments.succeeded_at < changes.deployed_at
    group by changes.change_id
),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when changes.is_rollback or tickets.category in ('Standard', 'Emergency') then 'not_applicable'
            when staged.change_id is null then 'fail'
            else 'pass'
        end as status,
        case
            when changes.is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when tickets.category in ('Standard', 'Emergency') then tickets.category || ' change: staging not required'
            when staged.change_id is null then 'commit ' || left(changes.sha, 7) || ' was not deployed to staging before production'
            else 'deployed to ' || staged.staging_environment || ' at ' || strftime(staged.staged_at, '%Y-%m-%d %H:%M UTC')
        end as reason,
        json_object('sha', changes.sha, 'category', tickets.category, 'staged_at', staged.staged_at,
                    'staging_environment', staged.staging_environment) as evidence
    from changes
    left join tickets using (change_id)
    left join staged using (change_id)
)
select * from evaluated
