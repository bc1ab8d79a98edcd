-- Every deployment with the time of its first `success` status and its environment class.
-- Merged per deployment (warehouse/merge.py): a day recomputes the deployments it touched.
-- merge key: source_system, deployment_id
-- merge inputs: int_deployments_unioned, int_deployment_statuses_unioned
with
deployments as (select * from int_deployments_unioned),
statuses as (select * from int_deployment_statuses_unioned),
params as (select * from eval_params),
first_success as (
    select source_system, deployment_id, min(created_at) as succeeded_at
    from statuses where state = 'success' group by all
),
final as (
    select
        deployments.*,
        first_success.succeeded_at,
        list_contains(params.production_environments, deployments.environment) as is_production,
        list_contains(params.staging_environments, deployments.environment) as is_staging
    from deployments
    cross join params
    left join first_success
        on first_success.source_system = deployments.source_system
        and first_success.deployment_id = deployments.deployment_id
)
select * from final
