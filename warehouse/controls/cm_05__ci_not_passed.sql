-- CM-05 ci-not-passed (metadata: cm_05__ci_not_passed.yml)
with
changes as (select * from int_changes_in_period),
checks as (select * from int_check_runs_unioned),
params as (select * from eval_params),
required as (
    select changes.change_id, changes.repo, changes.sha, changes.deployed_at, unnest(params.required_checks) as check_name
    from changes cross join params
    where not changes.is_rollback
),
per_check as (
    select
        required.change_id, required.check_name,
        count(checks.check_run_id) as count_runs,
        arg_max(checks.conclusion, checks.completed_at)
            filter (where checks.status = 'completed' and checks.completed_at <= required.deployed_at) as last_conclusion
    from required
    left join checks
        on checks.repo = required.repo and checks.head_sha = required.sha and checks.name = required.check_name
    group by all
),
per_change as (
    select
        change_id,
        list(case
                when count_runs = 0 then check_name || ': missing'
                when last_conclusion is null then check_name || ': pending at deploy time'
                when last_conclusion <> 'success' then check_name || ': ' || last_conclusion
             end order by check_name)
            filter (where count_runs = 0 or last_conclusion is null or last_conclusion <> 'success') as problems,
        list(json_object('check', check_name, 'runs', count_runs, 'conclusion', last_conclusion) order by check_name) as checks
    from per_check group by change_id
),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when changes.is_rollback or per_change.change_id is null then 'not_applicable'
            when len(per_change.problems) > 0 then 'fail'
            else 'pass'
        end as status,
        case
            when changes.is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when per_change.change_id is null then 'no required checks configured'
            when len(per_change.problems) > 0 then array_to_string(per_change.problems, '; ')
            else 'required checks passed before deployment'
        end as reason,
        json_object('sha', changes.sha, 'deployed_at', changes.deployed_at, 'checks', per_change.checks) as evidence
    from changes
    left join per_change using (change_id)
)
select * from evaluated
