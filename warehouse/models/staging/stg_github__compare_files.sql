-- Files changed between consecutive production deployments, from the `files` array of GitHub's
-- compare (base...head) response (GitHub lists up to 300 files). Every page of a compare repeats
-- the list; the latest extraction of each pair is kept and files are distinct. CM-18, CM-19.
-- merge key: repo, base_sha, head_sha
with
source as (
    select _run_id, _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "base": "VARCHAR", "head": "VARCHAR"}') as c,
           json_transform(_payload, '{"files": [{"filename": "VARCHAR", "previous_filename": "VARCHAR",
                                                  "status": "VARCHAR"}]}') as p
    from raw.github__compares
),
latest_extraction as (
    select *, max(_extracted_at) over (partition by c.repo, c.base, c.head) as _version_at
    from source
    qualify _run_id = arg_max(_run_id, _extracted_at) over (partition by c.repo, c.base, c.head)
),
files as (
    select c.repo, c.base as base_sha, c.head as head_sha, _version_at, unnest(p.files) as f
    from latest_extraction
),
documents as (select c.repo, c.base as base_sha, c.head as head_sha, _extracted_at from source),
final as (
    select distinct repo, base_sha, head_sha, f.filename as filename, f.previous_filename as previous_filename,
           f.status as status, _version_at as _extracted_at
    from files
    where f.filename is not null
)
select * from final
