-- CM-07 out-of-band-change (metadata: cm_07__out_of_band_change.yml)
-- Subjects: runtime change events (Kubernetes audit, CloudTrail) observed in the period.
with
params as (select * from eval_params),
events as (select * from int_runtime_changes_unioned),
-- (not materialized: read twice, a materialized copy would hold every column of the history's deployments)
deployments as not materialized (select * from int_deployments_succeeded where is_production and succeeded_at is not null),
in_period as (
    select events.*,
           len(list_filter(params.pipeline_identities, lambda p: events.actor glob p)) > 0 as is_pipeline,
           len(list_filter(params.runtime_ignored_identities, lambda p: events.actor glob p)) > 0 as is_control_plane,
           len(list_filter(params.runtime_excluded_resources, lambda p: events.resource_kind glob p)) > 0 as is_excluded,
           lower(events.action) in ('get', 'list', 'watch')
               or regexp_matches(events.action, ':(Describe|Get|List|Head|Lookup|BatchGet)[A-Za-z0-9]*$') as is_read_only,
           to_minutes(params.runtime_change_window_minutes) as window
    from events cross join params
    where events.observed_at >= params.period_start and events.observed_at < params.period_end
),
-- a production deployment of the same service (repo name or owner/name) running within the window;
-- each deployment is keyed by both names so the match is an equality (hash) join: an `in (...)`
-- condition made it a nested loop over events x deployments (XL: 20 minutes)
deployment_keys as (
    select lower(repo) as service_key, * from deployments
    union all
    select lower(split_part(repo, '/', 2)) as service_key, * from deployments
),
matched as (
    select in_period.source_system, in_period.event_id,
           arg_min(deployments.repo || '@' || deployments.deployment_id,
                   abs(epoch(deployments.succeeded_at) - epoch(in_period.observed_at))) as deployment,
           arg_min(deployments.succeeded_at,
                   abs(epoch(deployments.succeeded_at) - epoch(in_period.observed_at))) as deployed_at
    from in_period
    join deployment_keys as deployments
      on lower(in_period.service) = deployments.service_key
     and in_period.observed_at between coalesce(deployments.created_at, deployments.succeeded_at) - in_period.window
                                   and deployments.succeeded_at + in_period.window
    group by all
),
described as (
    select in_period.*, matched.deployment, matched.deployed_at,
           in_period.action || ' of ' || coalesce(in_period.resource_kind, '?') || ' '
               || coalesce(in_period.namespace || '/', '') || coalesce(in_period.resource_name, '?')
               || ' by ' || coalesce(in_period.actor, 'an unknown identity')
               || ' (' || in_period.actor_kind || ') in ' || coalesce(in_period.environment, 'an unknown environment')
               as what
    from in_period
    left join matched using (source_system, event_id)
),
evaluated as (
    select
        source_system || ':' || event_id as subject_id,
        case
            when coalesce(environment, '') <> 'production' or is_read_only or is_excluded or is_control_plane
                then 'not_applicable'
            when is_pipeline and deployment is not null then 'pass'
            else 'fail'
        end as status,
        case
            when coalesce(environment, '') <> 'production' then 'not a production change (' || coalesce(environment, 'no environment') || ')'
            when is_read_only then 'read-only action ' || action
            when is_excluded then 'resource ' || resource_kind || ' not in scope'
            when is_control_plane then 'made by the cluster''s own control plane (' || actor || ')'
            when is_pipeline and deployment is not null
                then what || ': pipeline deployment ' || deployment || ' at ' || strftime(deployed_at, '%Y-%m-%d %H:%M UTC')
            when is_pipeline
                then what || ': pipeline identity, but no production deployment of ' || coalesce(service, '?')
                     || ' within ' || params.runtime_change_window_minutes || ' min'
            when deployment is not null
                then what || ': not a sanctioned pipeline identity (deployment ' || deployment || ' within '
                     || params.runtime_change_window_minutes || ' min does not explain a manual change)'
            else what || ', no pipeline deployment of ' || coalesce(service, '?') || ' within '
                 || params.runtime_change_window_minutes || ' min'
        end as reason,
        json_object('source_system', source_system, 'event_id', event_id, 'observed_at', observed_at,
                    'actor', actor, 'actor_kind', actor_kind, 'is_pipeline_identity', is_pipeline,
                    'service', service, 'environment', environment, 'resource_kind', resource_kind,
                    'resource_name', resource_name, 'namespace', namespace, 'action', action,
                    'source_file', source_file, 'matched_deployment', deployment,
                    'matched_deployed_at', deployed_at, 'detail', detail) as evidence
    from described
    cross join params
)
select * from evaluated
