-- CM-16 emergency-missing-signoff (metadata: cm_16__emergency_missing_signoff.yml)
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
identities as (select * from int_people_identities),
-- the approvals of the population's tickets only (a run on part of the population reads only theirs)
approvals as (
    select * from int_ticket_approvals_resolved where state = 'approved'
      and change_sys_id in (select ticket_sys_id from tickets where change_id in (select change_id from changes))
),
params as (select * from eval_params),
signoffs as (
    -- retroactive sign-off by a holder of policy.emergency_signoff_roles (default: the CISO)
    select change_sys_id, list(distinct approver_person_id order by approver_person_id) as cisos
    from approvals, params where len(list_intersect(approver_roles, params.emergency_signoff_roles)) > 0
    group by change_sys_id
),
judged as (
    select
        changes.change_id, changes.deployed_at, tickets.is_emergency, tickets.ticket_number,
        tickets.verbal_approver_sys_id, tickets.verbal_approved_at,
        verbal.person_id as verbal_person_id,
        len(list_intersect(coalesce(verbal.roles, []), params.emergency_verbal_approver_roles)) > 0 as is_verbal_role_ok,
        signoffs.cisos
    from changes
    cross join params
    left join tickets using (change_id)
    left join identities as verbal
        on verbal.system = tickets.ticket_system and verbal.identifier = tickets.verbal_approver_sys_id
    left join signoffs on signoffs.change_sys_id = tickets.ticket_sys_id
),
evaluated as (
    select
        change_id as subject_id,
        case
            when not coalesce(is_emergency, false) then 'not_applicable'
            when coalesce(verbal_approver_sys_id, '') = '' or not is_verbal_role_ok
                 or verbal_approved_at is null or verbal_approved_at > deployed_at or cisos is null then 'fail'
            else 'pass'
        end as status,
        case
            when not coalesce(is_emergency, false) then 'not an emergency change'
            when coalesce(verbal_approver_sys_id, '') = '' then 'no verbal approval recorded'
            when not is_verbal_role_ok then 'verbal approval by ' || coalesce(verbal_person_id, verbal_approver_sys_id) || ', who is neither CISO nor Engineering Lead'
            when verbal_approved_at is null or verbal_approved_at > deployed_at then 'verbal approval not recorded before deployment'
            when cisos is null then 'no retroactive CISO sign-off'
            else 'verbal approval by ' || verbal_person_id || '; CISO sign-off by ' || array_to_string(cisos, ', ')
        end as reason,
        json_object('ticket_number', ticket_number, 'verbal_approver', verbal_person_id,
                    'verbal_approved_at', verbal_approved_at, 'ciso_signoff', cisos) as evidence
    from judged
)
select * from evaluated
