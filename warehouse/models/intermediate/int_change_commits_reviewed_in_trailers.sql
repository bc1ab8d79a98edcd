-- Reviews recorded outside the code host, as commit-message trailers of change-set commits that
-- came through no PR: Gerrit (`Reviewed-on: <url>` + one `Reviewed-by: Name <email>` per
-- reviewer, written by Gerrit at submit) and Phabricator (`Differential Revision: <url>` +
-- `Reviewed By: alice, bob`). One row per (commit, reviewer); a trailer review with no reviewer
-- line has one row with reviewer null. A reviewer resolves by e-mail (Gerrit) or code-host login
-- (Phabricator user names) through the people directory; is_author = the reviewer is the
-- commit's author or committer.
with
commits as (select * from int_change_commits_linked_to_prs where pr_number is null and message is not null),
changes as (select * from int_changes_in_period),
identities as (select * from int_people_identities),
parsed as (
    select commits.change_id, commits.repo, commits.sha, commits.author_email, commits.committer_email,
           commits.author_login, commits.committer_login, changes.source_system,
           nullif(regexp_extract(commits.message, '(?m)^Reviewed-on:[ \t]*(\S+)', 1), '') as gerrit_url,
           regexp_extract_all(commits.message, '(?m)^Reviewed-by:[ \t]*([^\r\n]*\S)', 1) as gerrit_reviewers,
           nullif(regexp_extract(commits.message, '(?m)^Differential Revision:[ \t]*(\S+)', 1), '') as phabricator_url,
           regexp_extract(commits.message, '(?m)^Reviewed By:[ \t]*([^\r\n]*\S)', 1) as phabricator_reviewers
    from commits join changes using (change_id)
),
reviews as (
    select *, 'Gerrit' as review_system, gerrit_url as review_url,
           case when len(gerrit_reviewers) = 0 then [null] else gerrit_reviewers end as reviewers
    from parsed where gerrit_url is not null
    union all
    select *, 'Phabricator', phabricator_url,
           case when phabricator_reviewers = '' then [null]
                else list_transform(string_split(phabricator_reviewers, ','), lambda r: trim(r)) end
    from parsed where phabricator_url is not null and gerrit_url is null
),
reviewers as (
    select reviews.* exclude (reviewers), unnest(reviewers) as reviewer from reviews
),
resolved as (
    select reviewers.*,
           nullif(lower(regexp_extract(reviewer, '<([^>]+)>', 1)), '') as reviewer_email,
           coalesce(by_email.person_id, by_login.person_id) as reviewer_person_id,
           coalesce(by_email.roles, by_login.roles, []) as reviewer_roles,
           author.person_id as author_person_id, committer.person_id as committer_person_id
    from reviewers
    left join identities by_email
        on by_email.system = 'email' and by_email.identifier = lower(regexp_extract(reviewer, '<([^>]+)>', 1))
    left join identities by_login
        on review_system = 'Phabricator' and by_login.system = reviewers.source_system
        and by_login.identifier = lower(reviewer)
    left join identities author on author.system = 'email' and author.identifier = lower(reviewers.author_email)
    left join identities committer on committer.system = 'email' and committer.identifier = lower(reviewers.committer_email)
),
final as (
    select change_id, repo, sha, review_system, review_url, reviewer, reviewer_person_id, reviewer_roles,
           coalesce(reviewer_person_id, 'trailer:' || lower(coalesce(reviewer_email, reviewer))) as reviewer_key,
           coalesce(reviewer is not null and (
               (reviewer_person_id is not null and reviewer_person_id in (author_person_id, committer_person_id))
               or reviewer_email in (lower(author_email), lower(committer_email))
               or lower(reviewer) in (lower(author_login), lower(committer_login))
           ), false) as is_author
    from resolved
)
select * from final
