-- CM-06 pipeline-bypass (metadata: cm_06__pipeline_bypass.yml)
-- Two halves, each with its own evidence: the deployment was performed by the sanctioned CI/CD
-- pipeline, and the deployed sha is on a release branch.
with
changes as (select * from int_changes_in_period),
params as (select * from eval_params),
-- (not materialized: each use joins the history's deployments and PRs to the period's subjects;
-- a materialized copy would hold every column of every one of them)
deployments as not materialized (select * from int_deployments_succeeded),
statuses as (select * from int_deployment_statuses_unioned),
runs as (select * from int_workflow_runs_unioned),
repos as (select repo, min(default_branch) as default_branch from int_repositories_unioned group by repo),
prs as not materialized (select * from int_pull_requests_unioned where merged_at is not null),
pr_commits as (select * from int_pr_commits_unioned),
association as (select * from int_commit_pulls_unioned),
subjects as (
    select changes.change_id, changes.source_system, changes.repo, changes.deployment_id, changes.sha,
           changes.ref, changes.deployer_login, changes.deployed_at, changes.is_rollback,
           deployments.created_at,
           -- release branches: the policy's globs, else the repository's default branch
           case when len(params.release_branches) > 0 then params.release_branches
                when repos.default_branch is not null then [repos.default_branch]
                else ['main', 'master'] end as release_branches,
           len(list_filter(params.pipeline_identities,
                           lambda p: lower(changes.deployer_login) = lower(p) or changes.deployer_login glob p)) > 0
               as is_pipeline_identity
    from changes
    cross join params
    left join deployments
        on deployments.source_system = changes.source_system and deployments.deployment_id = changes.deployment_id
    left join repos on repos.repo = changes.repo
),
-- pipeline half ------------------------------------------------------------------------------
ci_logs as (
    select subjects.change_id, min(statuses.log_url) as log_url
    from subjects
    cross join params
    join statuses on statuses.source_system = subjects.source_system and statuses.deployment_id = subjects.deployment_id
    where len(list_filter(params.pipeline_run_urls, lambda p: statuses.log_url glob p)) > 0
    group by subjects.change_id
),
ci_runs as (
    -- a CI run of the deployed sha that was running when the deployment was created
    select subjects.change_id, min(runs.html_url) as run_url
    from subjects
    join runs on runs.source_system = subjects.source_system and runs.repo = subjects.repo and runs.head_sha = subjects.sha
              and subjects.created_at between coalesce(runs.run_started_at, runs.created_at) and runs.updated_at
    group by subjects.change_id
),
pipeline as (
    select subjects.change_id,
           case
               when subjects.is_pipeline_identity then 'pipeline identity ' || subjects.deployer_login
               when ci_logs.log_url is not null then 'CI run ' || ci_logs.log_url
               when ci_runs.run_url is not null then 'CI run ' || ci_runs.run_url
               when subjects.source_system = 'deploylog' then 'recorded by the CD tool''s deploy log'
           end as evidence
    from subjects
    left join ci_logs using (change_id)
    left join ci_runs using (change_id)
),
-- release-branch half --------------------------------------------------------------------------
-- (each sha is matched to PR numbers first, then to the PRs: joined the other way round, every
-- PR commit and association of the history would meet its PR before the subjects filter them)
sha_prs as materialized (
    select subjects.change_id, subjects.repo, pr_commits.pr_number
    from subjects join pr_commits on pr_commits.repo = subjects.repo and pr_commits.sha = subjects.sha
    union all
    select subjects.change_id, subjects.repo, association.pr_number
    from subjects join association on association.repo = subjects.repo and association.sha = subjects.sha
),
pr_carriers as (
    -- merged PRs into a release branch whose merge commit, head or commits hold the deployed sha
    select subjects.change_id, prs.number, prs.base_ref
    from subjects join prs on prs.repo = subjects.repo and prs.merge_commit_sha = subjects.sha
    union all
    select subjects.change_id, prs.number, prs.base_ref
    from subjects join prs on prs.repo = subjects.repo and prs.head_sha = subjects.sha
    union all
    select sha_prs.change_id, prs.number, prs.base_ref
    from sha_prs join prs on prs.repo = sha_prs.repo and prs.number = sha_prs.pr_number
),
pr_release as (
    select pr_carriers.change_id, min(pr_carriers.number) as number, min(pr_carriers.base_ref) as base_ref
    from pr_carriers join subjects using (change_id)
    where len(list_filter(subjects.release_branches, lambda p: pr_carriers.base_ref = p or pr_carriers.base_ref glob p)) > 0
    group by pr_carriers.change_id
),
branch_runs as (
    select subjects.change_id, min(runs.head_branch) as head_branch
    from subjects
    join runs on runs.source_system = subjects.source_system and runs.repo = subjects.repo
              and runs.head_sha = subjects.sha and runs.event = 'push'
    where len(list_filter(subjects.release_branches, lambda p: runs.head_branch = p or runs.head_branch glob p)) > 0
    group by subjects.change_id
),
redeployed as (
    -- a rollback redeploys a sha production already ran
    select subjects.change_id, min(deployments.deployment_id) as earlier_deployment_id
    from subjects
    join deployments on deployments.repo = subjects.repo and deployments.sha = subjects.sha and deployments.is_production
                    and deployments.succeeded_at < subjects.deployed_at
    where subjects.is_rollback
    group by subjects.change_id
),
branch as (
    select subjects.change_id,
           case
               when len(list_filter(subjects.release_branches, lambda p: subjects.ref = p or subjects.ref glob p)) > 0
                   then 'deployed from ref ' || subjects.ref
               when pr_release.number is not null
                   then 'in PR #' || pr_release.number || ' merged into ' || pr_release.base_ref
               when branch_runs.head_branch is not null then 'CI push run on ' || branch_runs.head_branch
               when redeployed.change_id is not null
                   then 'rollback to the sha of production deployment ' || redeployed.earlier_deployment_id
           end as evidence
    from subjects
    left join pr_release using (change_id)
    left join branch_runs using (change_id)
    left join redeployed using (change_id)
),
evaluated as (
    select
        subjects.change_id as subject_id,
        case when pipeline.evidence is null or branch.evidence is null then 'fail' else 'pass' end as status,
        case
            when pipeline.evidence is null or branch.evidence is null then concat_ws('; ',
                case when pipeline.evidence is null then 'not performed by the pipeline: ' || coalesce(subjects.deployer_login, 'unknown')
                     || ' is not a pipeline identity and no CI run performed the deployment' end,
                case when branch.evidence is null then 'not on a release branch: ' || left(subjects.sha, 7) || ' (ref '
                     || coalesce(subjects.ref, 'none') || ') is on none of ' || array_to_string(subjects.release_branches, ', ') end)
            else pipeline.evidence || '; ' || branch.evidence
        end as reason,
        json_object('deployer_login', subjects.deployer_login, 'is_pipeline_identity', subjects.is_pipeline_identity,
                    'pipeline_evidence', pipeline.evidence, 'sha', subjects.sha, 'ref', subjects.ref,
                    'release_branches', subjects.release_branches, 'branch_evidence', branch.evidence) as evidence
    from subjects
    left join pipeline using (change_id)
    left join branch using (change_id)
)
select * from evaluated
