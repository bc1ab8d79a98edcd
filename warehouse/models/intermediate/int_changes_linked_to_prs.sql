-- One row per (change, merged PR) that brought at least one commit of its change set.
-- (the commits are counted per PR first: grouping after the join would group every PR column,
-- title and body included)
with
linked as (
    select change_id, repo, pr_number, count(*) as count_change_commits
    from int_change_commits_linked_to_prs where pr_number is not null
    group by change_id, repo, pr_number
),
prs as (select * from int_pull_requests_unioned),
final as (
    select linked.change_id, prs.*, linked.count_change_commits
    from linked
    join prs on prs.repo = linked.repo and prs.number = linked.pr_number
)
select * from final
