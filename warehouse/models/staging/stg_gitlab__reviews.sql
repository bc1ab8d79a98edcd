-- GitLab approvals as reviews. Each approval decision is a system note on the merge request
-- ("approved this merge request" -> APPROVED, "unapproved this merge request" -> DISMISSED,
-- "requested changes" -> CHANGES_REQUESTED); review_id = the note id, submitted_at = its time,
-- so the latest decision per user is the one downstream models keep.
-- GitLab approvals are not tied to a commit; commit_id is the MR head at the approval: the MR's
-- `sha` when the approval is at or after its last commit (by committed date), else the latest
-- MR commit committed at or before the approval (so an approval followed by a push is stale).
-- An approver listed by GET .../approvals (`approved_by`) without any approval note is kept as
-- an APPROVED row with unknown time and commit (review_id synthesised, negative): it shows who
-- approved but cannot count as given before the merge or on the final head.
-- This view reads the MR and MR-commit raw tables too: the commit is not in the note itself.
with
notes as (
    select _extracted_at,
           json_transform(_context, '{"repo": "VARCHAR", "iid": "BIGINT"}') as c,
           json_transform(_payload, '{"id": "BIGINT", "body": "VARCHAR", "system": "BOOLEAN",
                                      "author": {"username": "VARCHAR"}, "created_at": "VARCHAR"}') as p
    from raw.gitlab__mr_notes
),
decisions as (
    select p.id as review_id, c.repo, c.iid as pr_number, p.author.username as reviewer_login,
           case lower(trim(p.body))
               when 'approved this merge request' then 'APPROVED'
               when 'unapproved this merge request' then 'DISMISSED'
               when 'requested changes' then 'CHANGES_REQUESTED'
           end as state,
           try_cast(p.created_at as timestamptz) as submitted_at
    from notes
    where p.system and lower(trim(p.body)) in
        ('approved this merge request', 'unapproved this merge request', 'requested changes')
    qualify row_number() over (partition by p.id order by _extracted_at desc) = 1
),
latest_approvals as (
    select json_transform(_context, '{"repo": "VARCHAR", "iid": "BIGINT"}') as c,
           json_transform(_payload, '{"approved_by": [{"user": {"username": "VARCHAR"}}]}') as p
    from raw.gitlab__mr_approvals
    qualify row_number() over (partition by _context order by _extracted_at desc) = 1
),
approvals as (
    select c, unnest(p.approved_by) as a from latest_approvals
),
listed_only as (
    select distinct -(hash(c.repo, c.iid, a.user.username) % 9000000000000000000)::bigint as review_id,
           c.repo, c.iid as pr_number, a.user.username as reviewer_login, 'APPROVED' as state,
           null::timestamptz as submitted_at
    from approvals
    where a.user.username is not null
      and not exists (select 1 from decisions d where d.repo = c.repo and d.pr_number = c.iid
                      and d.reviewer_login = a.user.username and d.state = 'APPROVED')
),
mrs as (
    select json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"iid": "BIGINT", "sha": "VARCHAR", "web_url": "VARCHAR"}') as p
    from raw.gitlab__merge_requests
    qualify row_number() over (partition by repo, json_extract_string(_payload, '$.iid') order by _extracted_at desc) = 1
),
mr_commits as (
    select distinct json_extract_string(_context, '$.repo') as repo, json_extract(_context, '$.iid')::bigint as iid,
           json_extract_string(_payload, '$.id') as sha,
           try_cast(json_extract_string(_payload, '$.committed_date') as timestamptz) as committed_at
    from raw.gitlab__mr_commits
),
last_commit as (
    select repo, iid, max(committed_at) as last_committed_at from mr_commits group by all
),
all_rows as (select * from decisions union all select * from listed_only),
final as (
    select all_rows.review_id, all_rows.repo, all_rows.pr_number, all_rows.reviewer_login, all_rows.state,
           case
               when all_rows.submitted_at is null then null
               when last_commit.last_committed_at is null
                    or all_rows.submitted_at >= last_commit.last_committed_at then mrs.p.sha
               else (select arg_max(mc.sha, mc.committed_at) from mr_commits as mc
                     where mc.repo = all_rows.repo and mc.iid = all_rows.pr_number
                       and mc.committed_at <= all_rows.submitted_at)
           end as commit_id,
           all_rows.submitted_at,
           mrs.p.web_url || coalesce('#note_' || case when all_rows.review_id > 0 then all_rows.review_id end, '')
               as html_url
    from all_rows
    left join mrs on mrs.repo = all_rows.repo and mrs.p.iid = all_rows.pr_number
    left join last_commit on last_commit.repo = all_rows.repo and last_commit.iid = all_rows.pr_number
)
select * from final
