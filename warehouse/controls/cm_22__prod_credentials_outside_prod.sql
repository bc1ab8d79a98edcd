-- CM-22 prod-credentials-outside-prod (metadata: cm_22__prod_credentials_outside_prod.yml)
-- Reads the scans of the deployed sha completed before the deployment (as CM-08 does) for
-- credential findings located in non-production code or config.
with
changes as (select * from int_changes_in_period),
scans_before as (select * from int_change_scans_before_deployment),
-- (not materialized: read twice, a materialized copy would hold every finding of the history)
results as not materialized (select * from int_scan_findings_unioned),
params as (select * from eval_params),
-- the policy's credential_rules regex is a column (compiled per row): match each distinct tool:rule once
credential_keys as (
    select rule_key from (
        select distinct coalesce(tool_name, '') || ':' || coalesce(rule_id, '') as rule_key from results
    ) as keys cross join params
    where regexp_matches(rule_key, params.credential_rules)
),
credentials as (
    select scans_before.change_id, results.rule_id, results.severity, results.is_suppressed,
           -- '/<path relative to the repository root>' whatever the SARIF URI form
           '/' || regexp_replace(coalesce(results.location_uri, ''), '^(file://)?(%SRCROOT%)?/*(\./)?', '') as path
    from scans_before
    join results on results.scan_file = scans_before.scan_file and results.run_index = scans_before.run_index
    where coalesce(results.tool_name, '') || ':' || coalesce(results.rule_id, '') in (select rule_key from credential_keys)
),
located as (
    select credentials.*,
           len(list_filter(params.nonproduction_paths,
                           lambda p: credentials.path glob (case when p[1] in ('/', '*') then p else '*/' || p end))) > 0
               as is_nonproduction
    from credentials cross join params
),
summary as (
    select change_id,
           count(*) filter (where is_nonproduction and not is_suppressed) as count_violations,
           list(distinct rule_id || ' at ' || ltrim(path, '/') order by rule_id || ' at ' || ltrim(path, '/'))
               filter (where is_nonproduction and not is_suppressed) as findings,
           count(*) filter (where is_nonproduction and is_suppressed) as count_suppressed,
           count(*) filter (where not is_nonproduction) as count_production_paths
    from located group by change_id
),
scanned as (
    select change_id, count(*) as count_scans, list(distinct tool_name order by tool_name) as tools
    from scans_before group by change_id
),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when changes.is_rollback or scanned.change_id is null then 'not_applicable'
            when summary.count_violations > 0 then 'fail'
            else 'pass'
        end as status,
        case
            when changes.is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when scanned.change_id is null then 'no scan of ' || left(changes.sha, 7) || ' before deployment (CM-08 fails it)'
            when summary.count_violations > 0 then summary.count_violations
                || ' credential finding(s) in non-production code or config: ' || array_to_string(summary.findings[1:5], ', ')
            else scanned.count_scans || ' scan(s), no credential finding in non-production paths'
                || case when summary.count_suppressed > 0 then ' (' || summary.count_suppressed || ' suppressed)' else '' end
        end as reason,
        json_object('sha', changes.sha, 'tools', scanned.tools, 'count_scans', scanned.count_scans,
                    'credential_findings', summary.findings, 'count_suppressed', coalesce(summary.count_suppressed, 0),
                    'count_in_production_paths', coalesce(summary.count_production_paths, 0)) as evidence
    from changes
    left join scanned using (change_id)
    left join summary using (change_id)
)
select * from evaluated
