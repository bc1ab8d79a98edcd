-- EV-02 coverage-gap (metadata: ev_02__coverage_gap.yml)
with
params as (select * from eval_params),
deployments as (select * from int_deployments_unioned),
repositories as (select * from int_repositories_unioned),
listed as (select distinct repo from onboarded_repos),
production as (
    select deployments.repo, count(*) as count_deployments
    from deployments, params
    where list_contains(params.production_environments, deployments.environment)
      and deployments.created_at >= params.period_start and deployments.created_at < params.period_end
    group by deployments.repo
),
code_data as (
    select distinct repo from int_pull_requests_unioned
    union select distinct repo from int_compare_commits_unioned
),
capped as (
    -- GitHub lists at most 250 commits of a compare: the change set is truncated
    select repo, count(*) as count_capped, list(distinct left(head_sha, 12) order by left(head_sha, 12))[1:3] as sample_heads
    from int_compares_unioned where total_commits > count_commits_listed group by repo
),
subjects as (
    select repo from production union select repo from repositories union select repo from listed
    union select repo from capped
),
repo_ids as (select repo, max(repo_id) as repo_id from repositories group by repo),
missing_pages as (
    -- child resources of the repository that answered 404/409 and were quarantined, not read
    select subjects.repo, count(*) as count_missing, list(distinct quarantine.source order by quarantine.source)[1:3] as sample_urls
    from raw.quarantine as quarantine
    join subjects on lower(quarantine.source) like '%/repos/' || lower(subjects.repo) || '/%'
        or lower(quarantine.source) like '%/projects/' || lower(replace(subjects.repo, '/', '%2f')) || '/%'
        or quarantine.source like '%/projects/' || (select repo_id from repo_ids where repo_ids.repo = subjects.repo) || '/%'
    where regexp_matches(quarantine.reason, '^HTTP 40[49]\b')
    group by subjects.repo
),
judged as (
    select
        subjects.repo, coalesce(production.count_deployments, 0) as count_deployments,
        (select count(*) from listed) > 0 and listed.repo is null as is_unlisted,
        code_data.repo is null as has_no_code_data,
        coalesce(capped.count_capped, 0) as count_capped, capped.sample_heads,
        coalesce(missing_pages.count_missing, 0) as count_missing, missing_pages.sample_urls
    from subjects
    left join production using (repo)
    left join listed using (repo)
    left join code_data using (repo)
    left join capped using (repo)
    left join missing_pages using (repo)
),
evaluated as (
    select
        repo as subject_id,
        case
            when count_deployments > 0 and (is_unlisted or has_no_code_data) then 'fail'
            when count_capped > 0 or count_missing > 0 then 'fail'
            when count_deployments = 0 then 'not_applicable'
            else 'pass'
        end as status,
        case
            when count_deployments = 0 and count_capped = 0 and count_missing = 0 then 'no production deployments in the period'
            when count_deployments > 0 and is_unlisted or has_no_code_data and count_deployments > 0
                 or count_capped > 0 or count_missing > 0 then array_to_string(list_filter([
                    case when count_deployments > 0 and is_unlisted
                         then 'deploys to production (' || count_deployments || ' deployment(s)) but is not in the configured repositories' end,
                    case when count_deployments > 0 and has_no_code_data
                         then 'deploys to production (' || count_deployments || ' deployment(s)) but no pull request or commit data was extracted' end,
                    case when count_capped > 0
                         then count_capped || ' compare(s) truncated at the 250-commit cap (head ' || array_to_string(sample_heads, ', ') || ')' end,
                    case when count_missing > 0
                         then count_missing || ' page(s) not available (HTTP 404/409), e.g. ' || array_to_string(sample_urls, ', ') end
                 ], lambda x: x is not null), '; ')
            else 'onboarded: ' || count_deployments || ' production deployment(s) with code review data'
        end as reason,
        json_object('count_deployments', count_deployments, 'is_unlisted', is_unlisted,
                    'has_no_code_data', has_no_code_data, 'count_capped', count_capped,
                    'count_missing_pages', count_missing) as evidence
    from judged
)
select * from evaluated
