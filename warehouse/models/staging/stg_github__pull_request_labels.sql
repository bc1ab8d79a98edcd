-- GitHub pull-request labels (entity pull_request_labels): one row per label name of the latest
-- extraction of each PR (`labels[].name` of GET /repos/{owner}/{repo}/pulls, or `labels.nodes` of
-- a GraphQL PR node). A label removed since the previous extraction is gone. Emergency
-- detection (§5) reads them.
-- merge key: pr_id
with
unioned as (
    select _extracted_at, json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "number": "BIGINT", "labels": [{"name": "VARCHAR"}]}') as p
    from raw.github__pull_requests
    union all by name
    select _extracted_at, json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"id": "BIGINT", "number": "BIGINT", "labels": [{"name": "VARCHAR"}]}') as p
    from (select _extracted_at, _context,
                 json_object('id', _payload -> '$.databaseId', 'number', _payload -> '$.number',
                             'labels', coalesce(_payload -> '$.labels.nodes', '[]'::json)) as _payload
          from raw.github__graphql_pull_requests)
),
source as (
    select repo, p, _extracted_at from unioned
    where p.id is not null
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
),
documents as (select p.id as pr_id, _extracted_at from unioned where p.id is not null),
final as (
    select distinct p.id as pr_id, repo, p.number, label.name as label, _extracted_at
    from source, unnest(coalesce(p.labels, [])) as t(label)
    where nullif(trim(label.name), '') is not null
)
select * from final
