-- Successful production deployments with their predecessor in the same repository: the
-- predecessor bounds the change set; a repository's first one is a baseline. Only what the period
-- needs: from each repository's last deployment before the period start on (the predecessor of
-- its first one in the period), so years of history are not re-sequenced every day.
with
params as (select * from eval_params),
-- (each reads the deployments itself: a shared CTE would be materialized with every column of every
-- deployment of the history)
before_period as (
    select repo, max(succeeded_at) as since
    from int_deployments_succeeded cross join params
    where is_production and succeeded_at < params.period_start
    group by repo
),
deployments as (
    select all_deployments.* from int_deployments_succeeded as all_deployments
    left join before_period using (repo)
    where all_deployments.is_production and all_deployments.succeeded_at is not null
      and (before_period.since is null or all_deployments.succeeded_at >= before_period.since)
),
compares as (select * from int_compares_unioned),
sequenced as (
    select
        *,
        lag(sha) over by_repo as previous_sha,
        lag(deployment_id) over by_repo as previous_deployment_id
    from deployments
    window by_repo as (partition by repo order by succeeded_at, deployment_id)
),
final as (
    select
        sequenced.repo || '@' || sequenced.deployment_id as change_id,
        sequenced.*,
        sequenced.succeeded_at as deployed_at,
        sequenced.previous_sha is null as is_baseline,
        compares.status as compare_status,
        compares.total_commits,
        compares.count_commits_listed,
        coalesce(list_contains(params.rollback_tasks, sequenced.task), false)
            or coalesce(compares.status = 'behind', false) as is_rollback
    from sequenced
    cross join params
    left join compares
        on compares.repo = sequenced.repo
        and compares.base_sha = sequenced.previous_sha
        and compares.head_sha = sequenced.sha
)
select * from final
