-- Trivy JSON findings (extractors/scanners/trivy.py), one row per finding of the latest landing
-- of each report file.
--   kinds       vulnerability (every Status), misconfiguration (Status FAIL only), secret, and
--               modified = a finding VEX suppressed (ExperimentalModifiedFindings[].Finding)
--   severity    Severity CRITICAL/HIGH/MEDIUM/LOW -> lower case; UNKNOWN or missing -> none
--   level       from severity: critical/high error, medium warning, low note, none none
--   suppressed  kind modified, or a vulnerability with Status not_affected (vendor/VEX says the
--               package is not affected); fixed/will_not_fix/fix_deferred/end_of_life/affected/
--               under_investigation/unknown stay open (a fix existing does not mean it is applied)
--   scanned_at  a sidecar's scanned_at, else the report's CreatedAt, else the file's mtime
with
reports as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "repo": "VARCHAR",
                                      "commit_sha": "VARCHAR", "sidecar_scanned_at": "VARCHAR",
                                      "file_mtime": "VARCHAR"}') as c,
           json_transform(_payload, '{"CreatedAt": "VARCHAR", "ArtifactName": "VARCHAR"}') as p
    from raw.trivy__reports
),
latest_reports as (
    select * from reports
    qualify row_number() over (partition by c.scan_file, c.report_index order by _extracted_at desc) = 1
),
findings as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "report_index": "INTEGER", "finding_index": "INTEGER",
                                      "kind": "VARCHAR", "target": "VARCHAR"}') as c,
           case when _context->>'$.kind' = 'modified' then _payload->'$.Finding' else _payload end as finding,
           _payload->>'$.Status' as modified_status
    from raw.trivy__findings
),
parsed as (
    select _run_id, _extracted_at, c, modified_status,
           json_transform(finding, '{"VulnerabilityID": "VARCHAR", "ID": "VARCHAR", "RuleID": "VARCHAR",
                                     "PkgID": "VARCHAR", "PkgName": "VARCHAR", "InstalledVersion": "VARCHAR",
                                     "Title": "VARCHAR", "Message": "VARCHAR", "Severity": "VARCHAR",
                                     "Status": "VARCHAR", "StartLine": "INTEGER",
                                     "CVSS": {"nvd": {"V3Score": "DOUBLE"}}}') as f
    from findings
),
current_findings as (
    select parsed.*, latest_reports.c as rc, latest_reports.p as rp
    from parsed
    join latest_reports
        on latest_reports._run_id = parsed._run_id
        and latest_reports.c.scan_file = parsed.c.scan_file
        and latest_reports.c.report_index = parsed.c.report_index
    where parsed.c.kind <> 'misconfiguration' or parsed.f.Status = 'FAIL'
),
judged as (
    select *,
           normalized_severity(f.Severity) as severity,
           coalesce(f.VulnerabilityID, f.ID, f.RuleID) as rule_id
    from current_findings
),
final as (
    select
        c.scan_file, 'Trivy' as tool_name, c.report_index as run_index, c.finding_index as result_index,
        rc.repo, rc.commit_sha,
        coalesce(try_cast(rc.sidecar_scanned_at as timestamptz), try_cast(rp.CreatedAt as timestamptz),
                 try_cast(rc.file_mtime as timestamptz)) as scanned_at,
        rule_id,
        severity_level(severity) as level,
        f.CVSS.nvd.V3Score as security_severity,
        severity,
        coalesce(c.kind = 'modified' or (c.kind = 'vulnerability' and f.Status = 'not_affected'), false) as is_suppressed,
        coalesce(f.Title, f.Message) as message,
        c.target as location_uri,
        concat_ws('|', rule_id, c.target, coalesce(f.PkgID, f.PkgName), f.InstalledVersion,
                  cast(f.StartLine as varchar)) as fingerprint
    from judged
)
select * from final
