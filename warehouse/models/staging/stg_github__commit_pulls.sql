-- Commit -> pull request association (GET /repos/{repo}/commits/{sha}/pulls): one row per pair.
with
source as (
    select json_transform(_context, '{"repo": "VARCHAR", "sha": "VARCHAR"}') as c,
           json_extract_string(_payload, '$.number') as number
    from raw.github__commit_pulls
),
final as (
    select distinct c.repo, c.sha, number::bigint as pr_number
    from source
    where number is not null
)
select * from final
