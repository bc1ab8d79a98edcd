-- One row per SARIF run (a file may hold several). repo and commit come from
-- versionControlProvenance[0] (repositoryUri -> owner/name, revisionId); scanned_at from
-- invocations[0].endTimeUtc (else its startTimeUtc). count_results counts the results landed
-- with that same extraction of the run.
-- merge key: scan_file, run_index
with
runs as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"scan_file": "VARCHAR", "run_index": "INTEGER"}') as c,
           json_transform(_payload, '{"tool": {"driver": {"name": "VARCHAR"}},
                                      "versionControlProvenance": [{"repositoryUri": "VARCHAR", "revisionId": "VARCHAR"}],
                                      "invocations": [{"startTimeUtc": "VARCHAR", "endTimeUtc": "VARCHAR"}]}') as p
    from raw.sarif__runs
),
latest_runs as (
    select * from runs
    qualify row_number() over (partition by c.scan_file, c.run_index order by _extracted_at desc) = 1
),
result_counts as (
    select _run_id, c.scan_file, c.run_index, count(distinct c.result_index) as count_results
    from (select _run_id,
                 json_transform(_context, '{"scan_file": "VARCHAR", "run_index": "INTEGER", "result_index": "INTEGER"}') as c
          from raw.sarif__results)
    group by all
),
documents as (select c.scan_file, c.run_index, _extracted_at from runs),
final as (
    select
        latest_runs.c.scan_file, latest_runs.p.tool.driver.name as tool_name, latest_runs.c.run_index,
        nullif(regexp_extract(latest_runs.p.versionControlProvenance[1].repositoryUri,
                              '([^/:]+/[^/]+?)(\.git)?/?$', 1), '') as repo,
        latest_runs.p.versionControlProvenance[1].revisionId as commit_sha,
        try_cast(coalesce(latest_runs.p.invocations[1].endTimeUtc, latest_runs.p.invocations[1].startTimeUtc)
                 as timestamptz) as scanned_at,
        coalesce(result_counts.count_results, 0) as count_results,
        latest_runs._extracted_at
    from latest_runs
    left join result_counts
        on result_counts._run_id = latest_runs._run_id
        and result_counts.scan_file = latest_runs.c.scan_file
        and result_counts.run_index = latest_runs.c.run_index
)
select * from final
