-- Files changed between consecutive production deployments, from the `diffs` array of GitLab's
-- repository compare (from=base, to=head). `previous_filename` is the old path of a rename.
-- CM-18, CM-19.
with
source as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "base": "VARCHAR", "head": "VARCHAR"}') as c,
           json_transform(_payload, '{"diffs": [{"old_path": "VARCHAR", "new_path": "VARCHAR", "new_file": "BOOLEAN",
                                                  "renamed_file": "BOOLEAN", "deleted_file": "BOOLEAN"}]}') as p
    from raw.gitlab__compares
),
latest_extraction as (
    select *
    from source
    qualify row_number() over (partition by c.repo, c.base, c.head order by _extracted_at desc, _run_id desc) = 1
),
files as (
    select c.repo, c.base as base_sha, c.head as head_sha, unnest(p.diffs) as d
    from latest_extraction
),
final as (
    select distinct repo, base_sha, head_sha,
           coalesce(d.new_path, d.old_path) as filename,
           case when d.renamed_file then d.old_path end as previous_filename,
           case when d.new_file then 'added' when d.deleted_file then 'removed'
                when d.renamed_file then 'renamed' else 'modified' end as status
    from files
    where coalesce(d.new_path, d.old_path) is not null
)
select * from final
