-- CM-18 missing-security-review (metadata: cm_18__missing_security_review.yml)
-- Sensitive = a changed file (compare file list, old path of a rename too) matching a glob of
-- policy.sensitive_paths. Security approval = a ticket approval before the deployment, or a
-- valid PR approval (head commit, before the merge, latest word, not a participant), by a holder
-- of policy.security_approver_roles.
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
files as (select * from int_change_files),
matches as (select * from int_change_files_matched where kind = 'sensitive'),
prs as (select * from int_changes_linked_to_prs),
reviews as (select * from int_reviews_evaluated),
approvals as (select * from int_ticket_approvals_resolved where state = 'approved'),
params as (select * from eval_params),
file_counts as (select change_id, count(*) as count_files from files group by change_id),
sensitive as (select change_id, rule as area, path from matches),
touched as (
    select change_id, list(distinct area order by area) as areas,
           list(distinct path order by path) as paths
    from sensitive group by change_id
),
ticket_security as (
    select changes.change_id, approvals.approver_person_id as person_id, 'ticket ' || tickets.ticket_number as via
    from changes
    join tickets using (change_id)
    join approvals on approvals.change_sys_id = tickets.ticket_sys_id and approvals.updated_at <= changes.deployed_at
    cross join params
    where len(list_intersect(approvals.approver_roles, params.security_approver_roles)) > 0
),
review_security as (
    select prs.change_id, reviews.reviewer_key as person_id, 'PR #' || prs.number as via
    from prs
    join reviews on reviews.source_system = prs.source_system and reviews.repo = prs.repo and reviews.pr_number = prs.number
    cross join params
    where reviews.state = 'APPROVED' and reviews.is_before_merge and reviews.is_on_head
      and reviews.is_latest_decision and not reviews.is_participant
      and len(list_intersect(coalesce(reviews.reviewer_roles, []), params.security_approver_roles)) > 0
),
security as (
    select change_id, list(distinct person_id || ' (' || via || ')' order by person_id || ' (' || via || ')') as approvals
    from (select * from ticket_security union all select * from review_security)
    group by change_id
),
judged as (
    select changes.change_id, changes.is_rollback, changes.is_baseline, changes.compare_status,
           coalesce(changes.count_commits_listed, 0) as count_commits_listed,
           coalesce(file_counts.count_files, 0) as count_files,
           touched.areas, touched.paths, security.approvals, tickets.ticket_number,
           params.security_approver_roles
    from changes
    cross join params
    left join tickets using (change_id)
    left join file_counts using (change_id)
    left join touched using (change_id)
    left join security using (change_id)
),
evaluated as (
    select
        change_id as subject_id,
        case
            when is_rollback or is_baseline then 'not_applicable'
            when count_files = 0 and (compare_status is null or count_commits_listed > 0) then 'error'
            when areas is null then 'not_applicable'
            when approvals is not null then 'pass'
            else 'fail'
        end as status,
        case
            when is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when is_baseline then 'baseline deployment: no compared file list'
            when count_files = 0 and compare_status is null then 'changed files unknown: no compare of the change set'
            when count_files = 0 and count_commits_listed > 0 then 'changed files unknown: the compare lists no files'
            when areas is null then 'touches no auth, data access or encryption path (' || count_files || ' file(s))'
            when approvals is not null then 'security approval for ' || array_to_string(areas, ', ') || ': '
                 || array_to_string(approvals, ', ')
            else 'touches ' || array_to_string(areas, ', ') || ' (' || array_to_string(paths[1:5], ', ')
                 || case when len(paths) > 5 then ', …' else '' end
                 || ') without a security approval by ' || array_to_string(security_approver_roles, '/')
        end as reason,
        json_object('ticket_number', ticket_number, 'areas', areas, 'sensitive_paths', paths,
                    'count_files', count_files, 'security_approvals', approvals) as evidence
    from judged
)
select * from evaluated
