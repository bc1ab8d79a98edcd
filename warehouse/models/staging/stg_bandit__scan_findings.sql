-- Bandit JSON findings (extractors/scanners/bandit.py): one row per results[] entry.
--   level       from severity: critical/high error, medium warning, low note, none none
--   severity    issue_severity HIGH/MEDIUM/LOW -> lower case; UNDEFINED -> none
--   suppressed  never: `# nosec` lines do not reach results[] (Bandit only counts them)
--   scanned_at  a sidecar's scanned_at, else the report's generated_at, else the file's mtime
with
reports as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "repo": "VARCHAR", "commit_sha": "VARCHAR", "sidecar_scanned_at": "VARCHAR", "file_mtime": "VARCHAR"}') as c,
           json_transform(_payload, '{"generated_at": "VARCHAR"}') as p
    from raw.bandit__reports
),
latest_reports as (
    select * from reports
    qualify row_number() over (partition by c.scan_file, c.report_index order by _extracted_at desc) = 1
),
parsed as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "finding_index": "INTEGER", "kind": "VARCHAR"}') as c,
           json_transform(_payload, '{"test_id": "VARCHAR", "test_name": "VARCHAR", "issue_severity": "VARCHAR", "issue_text": "VARCHAR", "filename": "VARCHAR", "line_number": "INTEGER"}') as f
    from raw.bandit__findings
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
           normalized_severity(f.issue_severity) as severity
    from current_findings
),
final as (
    select
        c.scan_file, 'Bandit' as tool_name, c.report_index as run_index, c.finding_index as result_index,
        rc.repo, rc.commit_sha,
        coalesce(try_cast(rc.sidecar_scanned_at as timestamptz), try_cast(rp.generated_at as timestamptz),
                 try_cast(rc.file_mtime as timestamptz)) as scanned_at,
        f.test_id as rule_id,
        severity_level(severity) as level,
        cast(null as double) as security_severity,
        severity,
        coalesce(false, false) as is_suppressed,
        f.issue_text as message,
        f.filename as location_uri,
        concat_ws('|', f.test_id, f.filename, cast(f.line_number as varchar)) as fingerprint
    from judged
)
select * from final
