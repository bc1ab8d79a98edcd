-- Snyk CLI JSON findings (extractors/scanners/snyk.py): one report per project (`--all-projects`
-- gives several), one row per vulnerability path.
--   level       from severity: critical/high error, medium warning, low note, none none
--   severity    severityWithCritical, else severity: critical/high/medium/low (lower case), else none
--   suppressed  kind ignored (filtered.ignore: issues ignored by a .snyk policy)
--   scanned_at  a sidecar's scanned_at, else the file's mtime (Snyk JSON carries no scan time)
with
reports as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "repo": "VARCHAR", "commit_sha": "VARCHAR", "sidecar_scanned_at": "VARCHAR", "file_mtime": "VARCHAR"}') as c,
           json_transform(_payload, '{"projectName": "VARCHAR", "displayTargetFile": "VARCHAR", "path": "VARCHAR"}') as p
    from raw.snyk__reports
),
latest_reports as (
    select * from reports
    qualify row_number() over (partition by c.scan_file, c.report_index order by _extracted_at desc) = 1
),
parsed as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "finding_index": "INTEGER", "kind": "VARCHAR"}') as c,
           json_transform(_payload, '{"id": "VARCHAR", "title": "VARCHAR", "severity": "VARCHAR", "severityWithCritical": "VARCHAR", "cvssScore": "DOUBLE", "packageName": "VARCHAR", "version": "VARCHAR", "from": ["VARCHAR"]}') as f
    from raw.snyk__findings
),
current_findings as (
    select parsed.*, latest_reports.c as rc, latest_reports.p as rp
    from parsed
    join latest_reports
        on latest_reports._run_id = parsed._run_id
        and latest_reports.c.scan_file = parsed.c.scan_file
        and latest_reports.c.report_index = parsed.c.report_index
    where true
),
judged as (
    select *,
           normalized_severity(coalesce(f.severityWithCritical, f.severity)) as severity
    from current_findings
),
final as (
    select
        c.scan_file, 'Snyk' as tool_name, c.report_index as run_index, c.finding_index as result_index,
        rc.repo, rc.commit_sha,
        coalesce(try_cast(rc.sidecar_scanned_at as timestamptz), try_cast(null as timestamptz),
                 try_cast(rc.file_mtime as timestamptz)) as scanned_at,
        f.id as rule_id,
        severity_level(severity) as level,
        f.cvssScore as security_severity,
        severity,
        coalesce(c.kind = 'ignored', false) as is_suppressed,
        f.title || ' (' || f.packageName || '@' || f.version || ')' as message,
        coalesce(rp.displayTargetFile, rp.path) as location_uri,
        concat_ws('|', f.id, f.packageName || '@' || f.version, array_to_string(f."from", '>')) as fingerprint
    from judged
)
select * from final
