-- EV-03 quarantined-records (metadata: ev_03__quarantined_records.yml)
with
quarantine as (select * from raw.quarantine),
sources as (
    -- every configured stream, and any stream that quarantined input even if no longer configured
    select system, stream from source_streams
    union
    select distinct system, stream from quarantine
),
counted as (
    select system, stream, count(*) as count_quarantined,
           list(distinct reason order by reason)[1:3] as sample_reasons
    from quarantine group by all
),
evaluated as (
    select
        sources.system || '/' || sources.stream as subject_id,
        case when counted.count_quarantined > 0 then 'fail' else 'pass' end as status,
        case
            when counted.count_quarantined > 0
                then counted.count_quarantined || ' record(s) quarantined: ' || array_to_string(counted.sample_reasons, '; ')
            else 'no quarantined records'
        end as reason,
        json_object('count_quarantined', coalesce(counted.count_quarantined, 0)) as evidence
    from sources
    left join counted using (system, stream)
)
select * from evaluated
