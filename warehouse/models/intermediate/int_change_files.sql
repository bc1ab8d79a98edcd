-- The files each change touched: the compare(previous deployed sha...deployed sha) file list,
-- old and new path of a rename both. Baselines and rollbacks have no compare file list.
-- A change with compared commits but no row here has no file evidence (CM-18/CM-19: error).
with
changes as (select * from int_changes_in_period),
-- (not materialized: read twice, a materialized copy would hold every file row of the history)
compare_files as not materialized (select * from int_compare_files_unioned),
touched as (
    select changes.change_id, compare_files.filename as path
    from changes
    join compare_files
        on compare_files.repo = changes.repo and compare_files.base_sha = changes.previous_sha
        and compare_files.head_sha = changes.sha
    where not changes.is_baseline and not changes.is_rollback
    union
    select changes.change_id, compare_files.previous_filename
    from changes
    join compare_files
        on compare_files.repo = changes.repo and compare_files.base_sha = changes.previous_sha
        and compare_files.head_sha = changes.sha
    where not changes.is_baseline and not changes.is_rollback and compare_files.previous_filename is not null
),
final as (select * from touched)
select * from final
