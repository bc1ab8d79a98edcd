-- CM-04 insufficient-review (metadata: cm_04__insufficient_review.yml)
with
changes as (select * from int_changes_in_period),
-- the population's PRs, reviews and trailers only: a run on part of the population (warehouse/change_scope.py)
-- then reads only theirs
prs as (select * from int_changes_linked_to_prs where change_id in (select change_id from changes)),
reviews as (select * from int_reviews_evaluated where (repo, pr_number) in (select repo, number from prs)),
params as (select * from eval_params),
valid as (
    -- an approval counts only on the final head, before the merge, by a non-participant,
    -- and only if it is the reviewer's last word
    select repo, pr_number, reviewer_key, reviewer_roles
    from reviews
    where state = 'APPROVED' and is_on_head and is_before_merge and not is_participant
      and is_latest_decision
),
trailers as (select * from int_change_commits_reviewed_in_trailers where change_id in (select change_id from changes)),
pr_reviews as (
    select
        prs.change_id, prs.number as sort_key, '#' || prs.number as label, json_object('pr', prs.number) as ref,
        null::varchar as note,
        count(distinct valid.reviewer_key) as count_valid,
        coalesce(bool_or(len(list_intersect(valid.reviewer_roles, params.senior_roles)) > 0), false) as has_senior
    from prs
    cross join params
    left join valid on valid.repo = prs.repo and valid.pr_number = prs.number
    group by all
),
-- a review recorded in Gerrit/Phabricator trailers (commits outside any PR): its reviewers other
-- than the commit's author/committer count as approvers (the review system wrote them at submit,
-- on the submitted revision); seniority needs the reviewer resolved in the people directory
trailer_reviews as (
    select
        trailers.change_id, null::bigint as sort_key, trailers.review_system || ' ' || trailers.review_url as label,
        json_object('review', trailers.review_url, 'system', trailers.review_system) as ref,
        'reviewed in ' || trailers.review_system || ' ' || trailers.review_url || ' by '
            || coalesce(string_agg(distinct trailers.reviewer, ', ' order by trailers.reviewer), 'nobody') as note,
        count(distinct trailers.reviewer_key) filter (where trailers.reviewer is not null and not trailers.is_author) as count_valid,
        coalesce(bool_or(not trailers.is_author and len(list_intersect(trailers.reviewer_roles, params.senior_roles)) > 0),
                 false) as has_senior
    from trailers cross join params
    group by trailers.change_id, trailers.review_system, trailers.review_url
),
per_pr as (select * from pr_reviews union all select * from trailer_reviews),
per_change as (
    select
        per_pr.change_id,
        count(*) as count_prs,
        list(label || ' has ' || count_valid || ' valid approval' || case when count_valid = 1 then '' else 's' end
             order by sort_key nulls last, label) filter (where count_valid < params.min_reviewers) as too_few,
        list(label order by sort_key nulls last, label) filter (where count_valid >= params.min_reviewers and not has_senior) as no_senior,
        list(json_merge_patch(ref, json_object('valid_approvers', count_valid, 'senior', has_senior))
             order by sort_key nulls last, label) as prs,
        list(note order by label) filter (where note is not null) as notes
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
            when len(per_change.notes) > 0 then per_change.count_prs || ' PR(s) or trailer reviews, each with '
                || params.min_reviewers || '+ valid approvals incl. a senior; ' || array_to_string(per_change.notes, '; ')
            else per_change.count_prs || ' PR(s), each with ' || params.min_reviewers || '+ valid approvals incl. a senior'
        end as reason,
        json_object('prs', per_change.prs) as evidence
    from changes
    cross join params
    left join per_change using (change_id)
)
select * from evaluated
