-- CM-04 insufficient-review (metadata: cm_04__insufficient_review.yml)
with
changes as (select * from int_changes_in_period),
prs as (select * from int_changes_linked_to_prs),
reviews as (select * from int_reviews_evaluated),
params as (select * from eval_params),
valid as (
    -- an approval counts only on the final head, before the merge, by a non-participant,
    -- and only if it is the reviewer's last word
    select repo, pr_number, reviewer_key, reviewer_roles
    from reviews
    where state = 'APPROVED' and is_on_head and is_before_merge and not is_participant
      and is_latest_decision
),
per_pr as (
    select
        prs.change_id, prs.number,
        count(distinct valid.reviewer_key) as count_valid,
        coalesce(bool_or(len(list_intersect(valid.reviewer_roles, params.senior_roles)) > 0), false) as has_senior
    from prs
    cross join params
    left join valid on valid.repo = prs.repo and valid.pr_number = prs.number
    group by all
),
per_change as (
    select
        per_pr.change_id,
        count(*) as count_prs,
        list('#' || number || ' has ' || count_valid || ' valid approval' || case when count_valid = 1 then '' else 's' end
             order by number) filter (where count_valid < params.min_reviewers) as too_few,
        list('#' || number order by number) filter (where count_valid >= params.min_reviewers and not has_senior) as no_senior,
        list(json_object('pr', number, 'valid_approvers', count_valid, 'senior', has_senior) order by number) as prs
    from per_pr cross join params
    group by per_pr.change_id, params.min_reviewers
),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when changes.is_rollback or per_change.change_id is null then 'not_applicable'
            when len(per_change.too_few) > 0 or len(per_change.no_senior) > 0 then 'fail'
            else 'pass'
        end as status,
        case
            when changes.is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when per_change.change_id is null then 'no merged PR in the change set (see CM-03)'
            when len(per_change.too_few) > 0 then array_to_string(per_change.too_few, '; ')
                || ' (minimum ' || params.min_reviewers || ')'
            when len(per_change.no_senior) > 0 then 'no senior approver on ' || array_to_string(per_change.no_senior, ', ')
            else per_change.count_prs || ' PR(s), each with ' || params.min_reviewers || '+ valid approvals incl. a senior'
        end as reason,
        json_object('prs', per_change.prs) as evidence
    from changes
    cross join params
    left join per_change using (change_id)
)
select * from evaluated
