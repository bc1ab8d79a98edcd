-- One row per snyk report (the latest landing of each file); count_results counts its rows in
-- stg_snyk__scan_findings. repo/commit_sha/scanned_at as there.
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
counts as (
    select scan_file, run_index, count(*) as count_results from stg_snyk__scan_findings group by all
),
final as (
    select latest_reports.c.scan_file, 'Snyk' as tool_name, latest_reports.c.report_index as run_index,
           latest_reports.c.repo, latest_reports.c.commit_sha,
           coalesce(try_cast(c.sidecar_scanned_at as timestamptz), try_cast(null as timestamptz),
                    try_cast(c.file_mtime as timestamptz)) as scanned_at,
           coalesce(counts.count_results, 0) as count_results
    from latest_reports
    left join counts on counts.scan_file = latest_reports.c.scan_file and counts.run_index = latest_reports.c.report_index
)
select * from final
