-- EV-01 stale-source (metadata: ev_01__stale_source.yml)
-- A configured source whose latest loaded extraction (raw._manifests.finished_at) is older than its
-- freshness_hours at evaluation time, or which was never extracted, fails; the runner then turns the
-- passes of every control that reads it (the control's `sources:`) into errors.
with
params as (select * from eval_params),
sources as (select * from source_freshness),
manifests as (
    select system, max(finished_at) as last_extracted_at, count(*) as count_manifests
    from raw._manifests group by system
),
judged as (
    select
        sources.system, sources.freshness_hours, manifests.last_extracted_at,
        coalesce(manifests.count_manifests, 0) as count_manifests,
        params.evaluated_at - manifests.last_extracted_at as age,
        manifests.last_extracted_at is null
            or manifests.last_extracted_at < params.evaluated_at
               - to_microseconds((sources.freshness_hours * 3600000000)::bigint) as is_stale
    from sources
    cross join params
    left join manifests using (system)
),
evaluated as (
    select
        system as subject_id,
        case when is_stale then 'fail' else 'pass' end as status,
        case
            when last_extracted_at is null then system || ' never extracted'
            else system || ' last extracted ' || strftime(last_extracted_at, '%Y-%m-%d %H:%M UTC')
                || case when is_stale then ', more than ' || freshness_hours || ' h before evaluation' else '' end
        end as reason,
        json_object('last_extracted_at', last_extracted_at, 'freshness_hours', freshness_hours,
                    'count_manifests', count_manifests) as evidence
    from judged
)
select * from evaluated
