-- CM-03 no-code-review (metadata: cm_03__no_code_review.yml)
with
changes as (select * from int_changes_in_period),
commits as (select * from int_change_commits_linked_to_prs),
prs as (select * from int_changes_linked_to_prs),
reviews as (select * from int_reviews_evaluated),
direct_pushes as (
    select change_id, list(left(sha, 7) order by sha) as shas
    from commits where pr_number is null group by change_id
),
independent as (
    select repo, pr_number, count(distinct reviewer_key) as count_approvers
    from reviews where state = 'APPROVED' and not is_author and is_before_merge
    group by all
),
unapproved_prs as (
    select prs.change_id, list(prs.number order by prs.number) as numbers
    from prs left join independent on independent.repo = prs.repo and independent.pr_number = prs.number
    where independent.count_approvers is null
    group by prs.change_id
),
counts as (
    select change_id, count(*) as count_commits, count(distinct pr_number) as count_prs
    from commits group by change_id
),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when changes.is_rollback then 'not_applicable'
            when not changes.is_baseline and changes.compare_status is null then 'error'
            when direct_pushes.shas is not null or unapproved_prs.numbers is not null then 'fail'
            else 'pass'
        end as status,
        case
            when changes.is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when not changes.is_baseline and changes.compare_status is null
                then 'change set unknown: no compare between ' || left(changes.previous_sha, 7) || ' and ' || left(changes.sha, 7)
            when direct_pushes.shas is not null
                then 'commits not from a merged PR: ' || array_to_string(direct_pushes.shas, ', ')
            when unapproved_prs.numbers is not null
                then 'PR merged without independent approval: #' || array_to_string(unapproved_prs.numbers, ', #')
            else coalesce(counts.count_commits, 0) || ' commits via ' || coalesce(counts.count_prs, 0) || ' reviewed PRs'
        end as reason,
        json_object('sha', changes.sha, 'previous_sha', changes.previous_sha,
                    'direct_push_shas', direct_pushes.shas, 'unapproved_prs', unapproved_prs.numbers,
                    'count_commits', counts.count_commits) as evidence
    from changes
    left join direct_pushes using (change_id)
    left join unapproved_prs using (change_id)
    left join counts using (change_id)
)
select * from evaluated
