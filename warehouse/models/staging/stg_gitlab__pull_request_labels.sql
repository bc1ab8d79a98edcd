-- GitLab merge-request labels as pull-request labels (entity pull_request_labels): `labels` of
-- GET /projects/:id/merge_requests is a list of names (objects with `name` when requested
-- with_labels_details=true); one row per label of the latest extraction of each MR, number = iid.
with
source as (
    select json_extract_string(_context, '$.repo') as repo,
           (_payload ->> 'id')::bigint as pr_id, (_payload ->> 'iid')::bigint as number,
           coalesce(json_extract(_payload, '$.labels[*]'), []) as labels
    from raw.gitlab__merge_requests
    qualify row_number() over (partition by _payload ->> 'id' order by _extracted_at desc) = 1
),
final as (
    select distinct pr_id, repo, number,
           case when json_type(item) = 'OBJECT' then item ->> 'name' else item ->> '$' end as label
    from source, unnest(labels) as t(item)
)
select * from final where nullif(trim(label), '') is not null
