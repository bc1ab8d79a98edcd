-- Every successful production deployment over all fetched history, with its predecessor in the
-- same repository: the predecessor bounds the change set; the first one is a baseline.
with
deployments as (select * from int_deployments_succeeded where is_production and succeeded_at is not null),
compares as (select * from int_compares_unioned),
params as (select * from eval_params),
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
