-- Every review of a merged PR of the period's changes (int_changes_linked_to_prs: the controls read
-- no other), judged as of the merge (DESIGN rule 2).
with
in_scope as (select distinct source_system, repo, number from int_changes_linked_to_prs),
reviews as (select * from int_reviews_unioned where (source_system, repo, pr_number) in (select * from in_scope)),
prs as (
    select * from int_pull_requests_unioned
    where merged_at is not null and (source_system, repo, number) in (select * from in_scope)
),
participants as (select * from int_pr_participants),
identities as (select * from int_people_identities),
keyed as (
    select
        reviews.*,
        coalesce(identities.person_id, reviews.source_system || ':' || lower(reviews.reviewer_login)) as reviewer_key,
        identities.roles as reviewer_roles,
        prs.author_login as pr_author_login, prs.head_sha as pr_head_sha, prs.merged_at
    from reviews
    join prs on prs.repo = reviews.repo and prs.number = reviews.pr_number
    left join identities
        on identities.system = reviews.source_system and identities.identifier = lower(reviews.reviewer_login)
),
decisive as (
    -- the reviewer's last word among approve / request changes / dismissed
    select review_id, row_number() over (
        partition by repo, pr_number, reviewer_key order by submitted_at desc, review_id desc
    ) = 1 as is_latest_decision
    from keyed where state in ('APPROVED', 'CHANGES_REQUESTED', 'DISMISSED')
),
final as (
    select
        keyed.*,
        exists (select 1 from participants p where p.repo = keyed.repo and p.pr_number = keyed.pr_number
                and p.person_key = keyed.reviewer_key and p.role in ('author', 'commit_author', 'co_author'))
            as is_author,
        exists (select 1 from participants p where p.repo = keyed.repo and p.pr_number = keyed.pr_number
                and p.person_key = keyed.reviewer_key)
            as is_participant,
        keyed.submitted_at <= keyed.merged_at as is_before_merge,
        keyed.commit_id = keyed.pr_head_sha as is_on_head,
        coalesce(decisive.is_latest_decision, false) as is_latest_decision
    from keyed
    left join decisive on decisive.review_id = keyed.review_id
)
select * from final
