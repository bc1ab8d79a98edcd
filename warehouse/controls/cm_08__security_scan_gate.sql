-- CM-08 security-scan-gate (metadata: cm_08__security_scan_gate.yml)
with
changes as (select * from int_changes_in_period),
scans_before as (select * from int_change_scans_before_deployment),
results as (select * from int_scan_findings_unioned),
alerts as (select * from int_security_alerts_unioned),
params as (select * from eval_params),
blocking as (
    select scans_before.change_id, count(*) as count_blocking,
           list(distinct results.severity || ' ' || results.rule_id order by results.severity || ' ' || results.rule_id) as findings
    from scans_before
    cross join params
    join results on results.scan_file = scans_before.scan_file and results.run_index = scans_before.run_index
    where not results.is_suppressed and list_contains(params.blocking_severities, results.severity)
    group by scans_before.change_id
),
open_alerts as (
    -- code-scanning / Dependabot alerts of the repository open at deploy time
    select changes.change_id, count(*) as count_blocking,
           list(distinct alerts.severity || ' ' || alerts.rule_id order by alerts.severity || ' ' || alerts.rule_id) as findings
    from changes
    cross join params
    join alerts on alerts.repo = changes.repo
               and alerts.created_at <= changes.deployed_at
               and (alerts.closed_at is null or alerts.closed_at > changes.deployed_at)
    where list_contains(params.blocking_severities, alerts.severity)
    group by changes.change_id
),
blocking_all as (
    select change_id, sum(count_blocking) as count_blocking, flatten(list(findings)) as findings
    from (select * from blocking union all select * from open_alerts)
    group by change_id
),
scanned as (
    select change_id, count(*) as count_scans, list(distinct tool_name order by tool_name) as tools
    from scans_before group by change_id
),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when changes.is_rollback then 'not_applicable'
            when scanned.change_id is null then 'fail'
            when blocking.count_blocking > 0 then 'fail'
            else 'pass'
        end as status,
        case
            when changes.is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when scanned.change_id is null then 'no scan of ' || left(changes.sha, 7) || ' before deployment'
            when blocking.count_blocking > 0 then blocking.count_blocking || ' open critical/high finding(s): '
                || array_to_string(blocking.findings[1:5], ', ')
            else scanned.count_scans || ' scan(s) with no open critical/high findings'
        end as reason,
        json_object('sha', changes.sha, 'tools', scanned.tools, 'count_scans', scanned.count_scans,
                    'blocking_findings', blocking.findings) as evidence
    from changes
    left join scanned using (change_id)
    left join blocking_all as blocking using (change_id)
)
select * from evaluated
