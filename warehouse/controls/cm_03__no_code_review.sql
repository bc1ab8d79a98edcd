-- CM-03 no-code-review (metadata: cm_03__no_code_review.yml)
with
changes as (select * from int_changes_in_period),
commits as (select * from int_change_commits_linked_to_prs),
prs as (select * from int_changes_linked_to_prs),
reviews as (select * from int_reviews_evaluated),
trailers as (select * from int_change_commits_reviewed_in_trailers),
-- a commit outside any PR counts as reviewed when a Gerrit/Phabricator trailer names a reviewer
-- who is not its author or committer (reported as such: "reviewed in Gerrit <url> by <who>")
trailer_reviewed as (
    select change_id, sha, review_system, review_url,
           list(distinct reviewer order by reviewer) as reviewers
    from trailers where reviewer is not null and not is_author
    group by all
),
trailer_summary as (
    select change_id,
           list(left(sha, 7) || ' reviewed in ' || review_system || ' ' || review_url || ' by '
                || array_to_string(reviewers, ', ') order by sha) as notes,
           list(json_object('sha', sha, 'system', review_system, 'url', review_url, 'reviewers', reviewers)
                order by sha) as reviews
    from trailer_reviewed group by change_id
),
direct_pushes as (
    select commits.change_id, list(left(commits.sha, 7) order by commits.sha) as shas
    from commits
    left join trailer_reviewed on trailer_reviewed.change_id = commits.change_id and trailer_reviewed.sha = commits.sha
    where commits.pr_number is null and trailer_reviewed.sha is null group by commits.change_id
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
            when trailer_summary.notes is not null
                then coalesce(counts.count_commits, 0) || ' commits via ' || coalesce(counts.count_prs, 0)
                     || ' reviewed PRs and review trailers: ' || array_to_string(trailer_summary.notes, '; ')
            else coalesce(counts.count_commits, 0) || ' commits via ' || coalesce(counts.count_prs, 0) || ' reviewed PRs'
        end as reason,
        json_object('sha', changes.sha, 'previous_sha', changes.previous_sha,
                    'direct_push_shas', direct_pushes.shas, 'unapproved_prs', unapproved_prs.numbers,
                    'count_commits', counts.count_commits, 'trailer_reviews', trailer_summary.reviews) as evidence
    from changes
    left join direct_pushes using (change_id)
    left join unapproved_prs using (change_id)
    left join counts using (change_id)
    left join trailer_summary using (change_id)
)
select * from evaluated
