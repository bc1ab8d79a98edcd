-- The change set of each change: commits in compare(previous deployed sha...deployed sha).
-- A baseline (first production deployment of a repository) is the deployed commit alone, so
-- it is not blamed for the repository's whole history. A rollback adds no commits.
with
changes as (select * from int_changes_in_period),
compare_commits as (select * from int_compare_commits_unioned),
from_compare as (
    select changes.change_id, changes.repo, cc.sha, cc.author_login, cc.author_email,
           cc.author_name, cc.committer_login, cc.committer_email, cc.message,
           cc.count_parents, cc.authored_at, cc.committed_at, cc.html_url
    from changes
    join compare_commits as cc
        on cc.repo = changes.repo and cc.base_sha = changes.previous_sha and cc.head_sha = changes.sha
    where not changes.is_baseline and not changes.is_rollback
),
baseline as (
    select changes.change_id, changes.repo, changes.sha, null::varchar as author_login,
           null::varchar as author_email, null::varchar as author_name,
           null::varchar as committer_login, null::varchar as committer_email,
           null::varchar as message, null::bigint as count_parents,
           null::timestamptz as authored_at, null::timestamptz as committed_at,
           'https://github.com/' || changes.repo || '/commit/' || changes.sha as html_url
    from changes where changes.is_baseline
),
final as (select * from from_compare union all by name select * from baseline)
select * from final
