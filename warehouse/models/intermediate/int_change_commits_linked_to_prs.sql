-- Which merged PR brought each change-set commit. Survives squash and rebase merges: GitHub's
-- commit->PR association covers rewritten commits; merge_commit_sha and PR commit lists
-- cover merge commits and fast-forwards.
with
commits as (select * from int_change_commits),
-- (not materialized: read twice, a materialized copy would hold every merged PR of the history, bodies and all)
prs as not materialized (select * from int_pull_requests_unioned where merged_at is not null),
association as (select * from int_commit_pulls_unioned),
pr_commits as (select * from int_pr_commits_unioned),
candidates as (
    select commits.change_id, commits.repo, commits.sha, association.pr_number, 'association' as via
    from commits join association on association.repo = commits.repo and association.sha = commits.sha
    union all
    select commits.change_id, commits.repo, commits.sha, prs.number, 'merge_commit_sha'
    from commits join prs on prs.repo = commits.repo and prs.merge_commit_sha = commits.sha
    union all
    select commits.change_id, commits.repo, commits.sha, pr_commits.pr_number, 'pr_commits'
    from commits join pr_commits on pr_commits.repo = commits.repo and pr_commits.sha = commits.sha
),
merged_only as (
    select candidates.change_id, candidates.repo, candidates.sha, candidates.pr_number,
           list(distinct candidates.via order by candidates.via) as linked_via
    from candidates
    join prs on prs.repo = candidates.repo and prs.number = candidates.pr_number
    group by all
),
final as (
    select commits.*, merged_only.pr_number, merged_only.linked_via
    from commits
    left join merged_only
        on merged_only.change_id = commits.change_id and merged_only.sha = commits.sha
)
select * from final
