-- GitLab security report findings (gl-sast-report.json; extractors/scanners/gitlab_sast.py):
-- one row per vulnerabilities[] entry.
--   level       from severity: critical/high error, medium warning, low note, none none
--   severity    Critical/High/Medium/Low -> lower case; Info, Unknown or missing -> none
--   suppressed  never (dismissals live in GitLab, not in the report)
--   scanned_at  a sidecar's scanned_at, else scan.end_time (UTC), else scan.start_time, else mtime
with
reports as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "repo": "VARCHAR", "commit_sha": "VARCHAR", "sidecar_scanned_at": "VARCHAR", "file_mtime": "VARCHAR"}') as c,
           json_transform(_payload, '{"scan": {"scanner": {"name": "VARCHAR"}, "start_time": "VARCHAR", "end_time": "VARCHAR"}}') as p
    from raw.gitlab_sast__reports
),
latest_reports as (
    select * from reports
    qualify row_number() over (partition by c.scan_file, c.report_index order by _extracted_at desc) = 1
),
parsed as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "finding_index": "INTEGER", "kind": "VARCHAR"}') as c,
           json_transform(_payload, '{"id": "VARCHAR", "cve": "VARCHAR", "name": "VARCHAR", "message": "VARCHAR", "description": "VARCHAR", "severity": "VARCHAR", "scanner": {"name": "VARCHAR"}, "identifiers": [{"value": "VARCHAR"}], "location": {"file": "VARCHAR", "start_line": "INTEGER"}}') as f
    from raw.gitlab_sast__findings
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
        c.scan_file, coalesce(rp.scan.scanner.name, f.scanner.name, 'GitLab SAST') as tool_name, c.report_index as run_index, c.finding_index as result_index,
        rc.repo, rc.commit_sha,
        coalesce(try_cast(rc.sidecar_scanned_at as timestamptz), try_cast(coalesce(rp.scan.end_time, rp.scan.start_time) as timestamptz),
                 try_cast(rc.file_mtime as timestamptz)) as scanned_at,
        coalesce(f.identifiers[1].value, f.cve, f.id) as rule_id,
        severity_level(severity) as level,
        cast(null as double) as security_severity,
        severity,
        coalesce(false, false) as is_suppressed,
        coalesce(f.message, f.name, f.description) as message,
        f.location.file as location_uri,
        coalesce(f.id, concat_ws('|', f.cve, f.location.file, cast(f.location.start_line as varchar))) as fingerprint
    from judged
)
select * from final
