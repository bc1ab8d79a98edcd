-- Checkov JSON findings (extractors/scanners/checkov.py): one report per framework object,
-- one row per failed or skipped check.
--   level       from severity: critical/high error, medium warning, low note, none none
--   severity    severity HIGH/MEDIUM/LOW/CRITICAL -> lower case; null (no platform API key) -> none
--   suppressed  kind skipped (a `checkov:skip` comment or a suppression)
--   scanned_at  a sidecar's scanned_at, else the file's mtime
with
reports as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "repo": "VARCHAR", "commit_sha": "VARCHAR", "sidecar_scanned_at": "VARCHAR", "file_mtime": "VARCHAR"}') as c,
           json_transform(_payload, '{"check_type": "VARCHAR"}') as p
    from raw.checkov__reports
),
latest_reports as (
    select * from reports
    qualify row_number() over (partition by c.scan_file, c.report_index order by _extracted_at desc) = 1
),
parsed as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "finding_index": "INTEGER", "kind": "VARCHAR"}') as c,
           json_transform(_payload, '{"check_id": "VARCHAR", "check_name": "VARCHAR", "severity": "VARCHAR", "file_path": "VARCHAR", "resource": "VARCHAR", "file_line_range": ["INTEGER"]}') as f
    from raw.checkov__findings
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
           normalized_severity(f.severity) as severity
    from current_findings
),
final as (
    select
        c.scan_file, 'Checkov' as tool_name, c.report_index as run_index, c.finding_index as result_index,
        rc.repo, rc.commit_sha,
        coalesce(try_cast(rc.sidecar_scanned_at as timestamptz), try_cast(null as timestamptz),
                 try_cast(rc.file_mtime as timestamptz)) as scanned_at,
        f.check_id as rule_id,
        severity_level(severity) as level,
        cast(null as double) as security_severity,
        severity,
        coalesce(c.kind = 'skipped', false) as is_suppressed,
        f.check_name || ' (' || f.resource || ')' as message,
        ltrim(f.file_path, '/') as location_uri,
        concat_ws('|', f.check_id, f.resource, f.file_path) as fingerprint
    from judged
)
select * from final
