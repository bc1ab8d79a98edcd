-- CM-02 unattributable-change (metadata: cm_02__unattributable_change.yml)
with
changes as (select * from int_changes_in_period),
evaluated as (
    select
        change_id as subject_id,
        case when accountable_person_id is not null then 'pass' else 'fail' end as status,
        case
            when deployer_kind = 'human' then 'deployed by ' || deployer_person_id
            when deployer_kind = 'service' and trigger_kind = 'human'
                then 'service account ' || deployer_login || ' triggered by ' || trigger_person_id
            when deployer_kind = 'service' and trigger_login is not null
                then 'service account ' || deployer_login || ' with trigger ' || trigger_login || ' that is not a named person'
            when deployer_kind = 'service' then 'service account ' || deployer_login || ' with no human trigger'
            when deployer_kind = 'shared' then 'shared account ' || deployer_login
            else 'deploying login ' || coalesce(deployer_login, '(none)') || ' is not in the people directory'
        end as reason,
        json_object('deployer_login', deployer_login, 'deployer_kind', deployer_kind,
                    'trigger_login', trigger_login, 'person_id', accountable_person_id) as evidence
    from changes
)
select * from evaluated
