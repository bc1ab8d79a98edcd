-- pip-audit JSON findings (extractors/scanners/pip_audit.py), legacy list and current
-- {"dependencies": [...]} alike: one row per vulnerability of a dependency.
--   level       from severity: critical/high error, medium warning, low note, none none
--   skipped     dependencies with skip_reason (not audited) are landed but are not findings
--   severity    pip-audit reports none: a vulnerability's own `severity` field when it is
--               critical/high/medium/moderate/low, else none (look the id/aliases up elsewhere)
--   scanned_at  a sidecar's scanned_at, else the file's mtime
with
reports as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "repo": "VARCHAR", "commit_sha": "VARCHAR", "sidecar_scanned_at": "VARCHAR", "file_mtime": "VARCHAR"}') as c,
           json_transform(_payload, '{"count_dependencies": "INTEGER"}') as p
    from raw.pip_audit__reports
),
latest_reports as (
    select * from reports
    qualify row_number() over (partition by c.scan_file, c.report_index order by _extracted_at desc) = 1
),
parsed as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "finding_index": "INTEGER", "kind": "VARCHAR", "package": "VARCHAR", "version": "VARCHAR"}') as c,
           json_transform(_payload, '{"id": "VARCHAR", "description": "VARCHAR", "severity": "VARCHAR", "aliases": ["VARCHAR"]}') as f
    from raw.pip_audit__findings
),
current_findings as (
    select parsed.*, latest_reports.c as rc, latest_reports.p as rp
    from parsed
    join latest_reports
        on latest_reports._run_id = parsed._run_id
        and latest_reports.c.scan_file = parsed.c.scan_file
        and latest_reports.c.report_index = parsed.c.report_index
    where parsed.c.kind = 'vulnerability'
),
judged as (
    select *,
           normalized_severity(f.severity) as severity
    from current_findings
),
final as (
    select
        c.scan_file, 'pip-audit' as tool_name, c.report_index as run_index, c.finding_index as result_index,
        rc.repo, rc.commit_sha,
        coalesce(try_cast(rc.sidecar_scanned_at as timestamptz), try_cast(null as timestamptz),
                 try_cast(rc.file_mtime as timestamptz)) as scanned_at,
        f.id as rule_id,
        severity_level(severity) as level,
        cast(null as double) as security_severity,
        severity,
        coalesce(false, false) as is_suppressed,
        c.package || ' ' || c.version || ': ' || coalesce(f.description, f.id) as message,
        c.package || '==' || c.version as location_uri,
        concat_ws('|', f.id, c.package, c.version) as fingerprint
    from judged
)
select * from final
