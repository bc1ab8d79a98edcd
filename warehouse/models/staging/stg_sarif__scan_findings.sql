-- One row per SARIF result, judged with its run's rules (the one staging view that joins: a
-- result's level and severity are only defined together with the rule that produced it).
--   rule        result.rule.toolComponent.index -> tool.extensions[i], else tool.driver; found by
--               rule.index / ruleIndex, else by id (driver first, then extensions)
--   level       result.level, else 'none' when result.kind is present and not 'fail' (SARIF
--               3.27.9), else the rule's defaultConfiguration.level, else 'warning'
--   severity    security-severity (result properties, else rule properties) as a number
--               (>= 9 critical, >= 7 high, >= 4 medium, > 0 low) or a word (CRITICAL/HIGH/
--               MEDIUM/MODERATE/LOW); otherwise from level: error high, warning medium, note low,
--               none none
--   suppressed  a non-empty `suppressions` none of which has status rejected or underReview
-- merge key: scan_file, run_index
with
runs as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "run_index": "INTEGER"}') as c,
           json_transform(_payload, '{
               "tool": {"driver": {"name": "VARCHAR",
                                   "rules": [{"id": "VARCHAR", "defaultConfiguration": {"level": "VARCHAR"},
                                              "properties": {"security-severity": "JSON"}}]},
                        "extensions": [{"rules": [{"id": "VARCHAR", "defaultConfiguration": {"level": "VARCHAR"},
                                                   "properties": {"security-severity": "JSON"}}]}]},
               "versionControlProvenance": [{"repositoryUri": "VARCHAR", "revisionId": "VARCHAR"}],
               "invocations": [{"startTimeUtc": "VARCHAR", "endTimeUtc": "VARCHAR"}]}') as p
    from raw.sarif__runs
),
latest_runs as (
    select _run_id, _extracted_at, c.scan_file, c.run_index, p
    from runs
    qualify row_number() over (partition by c.scan_file, c.run_index order by _extracted_at desc) = 1
),
driver_rules as (
    select scan_file, run_index, -1 as component_index,
           generate_subscripts(p.tool.driver.rules, 1) - 1 as rule_index,
           unnest(p.tool.driver.rules) as rule
    from latest_runs
),
extensions as (
    select scan_file, run_index, generate_subscripts(p.tool.extensions, 1) - 1 as component_index,
           unnest(p.tool.extensions) as extension
    from latest_runs
),
extension_rules as (
    select scan_file, run_index, component_index,
           generate_subscripts(extension.rules, 1) - 1 as rule_index, unnest(extension.rules) as rule
    from extensions
),
rules as (
    select scan_file, run_index, component_index, rule_index, rule.id as rule_id,
           rule.defaultConfiguration.level as default_level,
           rule.properties."security-severity"->>'$' as security_severity_text
    from (select * from driver_rules union all select * from extension_rules)
),
rules_by_id as (
    select * from rules
    qualify row_number() over (partition by scan_file, run_index, rule_id order by component_index, rule_index) = 1
),
results as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "run_index": "INTEGER", "result_index": "INTEGER"}') as c,
           json_transform(_payload, '{
               "ruleId": "VARCHAR", "ruleIndex": "INTEGER",
               "rule": {"id": "VARCHAR", "index": "INTEGER", "toolComponent": {"index": "INTEGER"}},
               "kind": "VARCHAR", "level": "VARCHAR", "message": {"text": "VARCHAR", "markdown": "VARCHAR"},
               "locations": [{"physicalLocation": {"artifactLocation": {"uri": "VARCHAR"}}}],
               "suppressions": [{"kind": "VARCHAR", "status": "VARCHAR"}],
               "fingerprints": "JSON", "partialFingerprints": "JSON",
               "properties": {"security-severity": "JSON"}}') as r
    from raw.sarif__results
),
current_results as (
    -- only results landed together with the run record in use (a re-scanned file may have fewer)
    select results.c.scan_file, results.c.run_index, results.c.result_index, results.r, latest_runs.p,
           latest_runs._extracted_at as _version_at,
           coalesce(results.r.ruleId, results.r.rule.id) as rule_id,
           coalesce(results.r.rule.toolComponent.index, -1) as component_index,
           coalesce(results.r.rule.index, results.r.ruleIndex) as rule_index
    from results
    join latest_runs
        on latest_runs._run_id = results._run_id
        and latest_runs.scan_file = results.c.scan_file
        and latest_runs.run_index = results.c.run_index
    qualify row_number() over (
        partition by results.c.scan_file, results.c.run_index, results.c.result_index
        order by results._extracted_at desc) = 1
),
with_rule as (
    select current_results.*,
           case when by_index.rule_id is not null
                     and (current_results.rule_id is null or by_index.rule_id = current_results.rule_id)
                then by_index.default_level else by_id.default_level end as default_level,
           case when by_index.rule_id is not null
                     and (current_results.rule_id is null or by_index.rule_id = current_results.rule_id)
                then by_index.security_severity_text else by_id.security_severity_text end as rule_severity_text,
           coalesce(current_results.rule_id, by_index.rule_id) as effective_rule_id
    from current_results
    left join rules as by_index
        on by_index.scan_file = current_results.scan_file
        and by_index.run_index = current_results.run_index
        and by_index.component_index = current_results.component_index
        and by_index.rule_index = current_results.rule_index
    left join rules_by_id as by_id
        on by_id.scan_file = current_results.scan_file
        and by_id.run_index = current_results.run_index
        and by_id.rule_id = current_results.rule_id
),
judged as (
    select *,
           coalesce(r.level,
                    case when r.kind is not null and r.kind <> 'fail' then 'none' end,
                    default_level, 'warning') as effective_level,
           coalesce(r.properties."security-severity"->>'$', rule_severity_text) as severity_text
    from with_rule
),
documents as (select c.scan_file, c.run_index, _extracted_at from runs),
final as (
    select
        scan_file, p.tool.driver.name as tool_name, run_index, result_index,
        nullif(regexp_extract(p.versionControlProvenance[1].repositoryUri, '([^/:]+/[^/]+?)(\.git)?/?$', 1), '')
            as repo,
        p.versionControlProvenance[1].revisionId as commit_sha,
        try_cast(coalesce(p.invocations[1].endTimeUtc, p.invocations[1].startTimeUtc) as timestamptz) as scanned_at,
        effective_rule_id as rule_id,
        effective_level as level,
        try_cast(severity_text as double) as security_severity,
        case
            when try_cast(severity_text as double) >= 9.0 then 'critical'
            when try_cast(severity_text as double) >= 7.0 then 'high'
            when try_cast(severity_text as double) >= 4.0 then 'medium'
            when try_cast(severity_text as double) > 0 then 'low'
            when lower(trim(severity_text)) in ('critical', 'high', 'medium', 'low') then lower(trim(severity_text))
            when lower(trim(severity_text)) = 'moderate' then 'medium'
            when effective_level = 'error' then 'high'
            when effective_level = 'note' then 'low'
            when effective_level = 'none' then 'none'
            else 'medium'
        end as severity,
        coalesce(len(r.suppressions) > 0
                 and len(list_filter(r.suppressions, lambda s: s.status in ('rejected', 'underReview'))) = 0,
                 false) as is_suppressed,
        coalesce(r.message.text, r.message.markdown) as message,
        r.locations[1].physicalLocation.artifactLocation.uri as location_uri,
        coalesce(json_extract_string(r.fingerprints, '$.*')[1],
                 r.partialFingerprints->>'primaryLocationLineHash',
                 json_extract_string(r.partialFingerprints, '$.*')[1]) as fingerprint,
        _version_at as _extracted_at
    from judged
)
select * from final
