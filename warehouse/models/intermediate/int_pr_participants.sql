-- Everyone who wrote a PR: its author, the authors and committers of its commits and the
-- co-authors named in `Co-authored-by:` trailers. A person is keyed by person_id when the
-- directory resolves them, else by the raw login/e-mail, so unknown people still compare.
-- Only the PRs of the period's changes (int_changes_linked_to_prs): the controls read no other, and
-- the cost follows the period, not the years of PRs behind it.
with
in_scope as (select distinct source_system, repo, number from int_changes_linked_to_prs),
prs as (
    select * from int_pull_requests_unioned
    where merged_at is not null and (source_system, repo, number) in (select * from in_scope)
),
pr_commits as (
    select * from int_pr_commits_unioned where (source_system, repo, pr_number) in (select * from in_scope)
),
identities as (select * from int_people_identities),
raw_participants as (
    select source_system, repo, number as pr_number, 'author' as role, author_login as login, null as email from prs
    union all
    select source_system, repo, pr_number, 'commit_author', author_login, author_email from pr_commits
    union all
    select source_system, repo, pr_number, 'committer', committer_login, committer_email from pr_commits
    union all
    select source_system, repo, pr_number, 'co_author', null,
           unnest(regexp_extract_all(message, '(?im)^co-authored-by:[^<\n]*<([^>\n]+)>', 1))
    from pr_commits
),
resolved as (
    select
        raw_participants.*,
        coalesce(
            by_login.person_id, by_email.person_id, by_noreply.person_id,
            raw_participants.source_system || ':' || lower(raw_participants.login), 'email:' || lower(raw_participants.email)
        ) as person_key
    from raw_participants
    left join identities as by_login
        on by_login.system = raw_participants.source_system and by_login.identifier = lower(raw_participants.login)
    left join identities as by_email
        on by_email.system = 'email' and by_email.identifier = lower(raw_participants.email)
    left join identities as by_noreply
        on by_noreply.system = 'github'
        and by_noreply.identifier = lower(regexp_extract(
            raw_participants.email, '^(?:[0-9]+\+)?([^@]+)@users\.noreply\.github\.com$', 1))
),
final as (
    select distinct repo, pr_number, role, person_key from resolved
    -- GitHub's own committer for web merges is not a participant
    where person_key is not null and person_key not in ('github:web-flow', 'email:noreply@github.com')
)
select * from final
