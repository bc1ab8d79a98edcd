-- The scans of each change's deployed sha completed before its deployment (CM-08, CM-22).
with
changes as (select * from int_changes_in_period),
scans as (select * from int_scans_unioned),
final as (
    select changes.change_id, scans.scan_file, scans.run_index, scans.tool_name
    from changes
    join scans on scans.repo = changes.repo and scans.commit_sha = changes.sha
              and scans.scanned_at <= changes.deployed_at
)
select * from final
