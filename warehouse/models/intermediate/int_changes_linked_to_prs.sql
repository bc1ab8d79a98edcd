-- One row per (change, merged PR) that brought at least one commit of its change set.
with
linked as (select * from int_change_commits_linked_to_prs where pr_number is not null),
prs as (select * from int_pull_requests_unioned),
final as (
    select linked.change_id, prs.*, count(*) as count_change_commits
    from linked
    join prs on prs.repo = linked.repo and prs.number = linked.pr_number
    group by all
)
select * from final
