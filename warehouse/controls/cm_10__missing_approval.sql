-- CM-10 missing-approval (metadata: cm_10__missing_approval.yml)
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
approvals as (select * from int_ticket_approvals_resolved where state = 'approved'),
timely as (
    select changes.change_id, approvals.approver_person_id, approvals.approver_roles, approvals.updated_at
    from changes
    join tickets using (change_id)
    join approvals on approvals.change_sys_id = tickets.ticket_sys_id and approvals.updated_at <= changes.deployed_at
),
late as (
    select changes.change_id, count(*) as count_late
    from changes
    join tickets using (change_id)
    join approvals on approvals.change_sys_id = tickets.ticket_sys_id and approvals.updated_at > changes.deployed_at
    group by changes.change_id
),
roles as (
    select change_id, list(distinct approver_person_id order by approver_person_id) as approvers from timely group by change_id
),
required as (
    -- the category's roles (policy.approvers), each to be held by a different person
    select tickets.change_id,
        case tickets.category when 'Normal' then params.normal_approver_roles
                              when 'Major' then params.major_approver_roles end as required_roles
    from tickets, eval_params as params
),
role_subsets as (
    -- Hall's condition: every subset of the roles is covered by at least as many distinct approvers
    select change_id, list_filter(required_roles, lambda r, i: (mask >> (i - 1)) & 1 = 1) as subset
    from (select change_id, required_roles, unnest(range(1, (1 << len(required_roles))::bigint)) as mask
          from required where len(required_roles) > 0)
),
covered as (
    select role_subsets.change_id,
        bool_and(coalesce(holders.count_holders, 0) >= len(role_subsets.subset)) as is_covered
    from role_subsets
    left join lateral (
        select count(distinct timely.approver_person_id) as count_holders from timely
        where timely.change_id = role_subsets.change_id
          and len(list_intersect(timely.approver_roles, role_subsets.subset)) > 0
    ) as holders on true
    group by role_subsets.change_id
),
judged as (
    select
        changes.change_id, tickets.category, tickets.ticket_number, tickets.ticket_approval, roles.approvers,
        coalesce(late.count_late, 0) as count_late, required.required_roles,
        case
            when tickets.category = 'Standard' then tickets.ticket_approval = 'approved'
            when tickets.category in ('Normal', 'Major') and len(required.required_roles) = 0 then roles.approvers is not null
            when tickets.category in ('Normal', 'Major') then coalesce(covered.is_covered, false)
            else false
        end as is_satisfied
    from changes
    left join tickets using (change_id)
    left join roles using (change_id)
    left join late using (change_id)
    left join required using (change_id)
    left join covered using (change_id)
),
evaluated as (
    select
        judged.change_id as subject_id,
        case
            when changes.is_rollback or judged.ticket_number is null or judged.category = 'Emergency' then 'not_applicable'
            when judged.is_satisfied then 'pass'
            else 'fail'
        end as status,
        case
            when changes.is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when judged.ticket_number is null then 'no change ticket (see CM-01)'
            when judged.category = 'Emergency' then 'emergency change: approvals under §5 (see CM-16)'
            when judged.is_satisfied then judged.category || ' approvals satisfied before deployment'
            when judged.category = 'Standard' then 'standard change ' || judged.ticket_number || ' is not pre-approved (approval ' || coalesce(judged.ticket_approval, 'empty') || ')'
            when judged.category = 'unknown' then 'ticket ' || judged.ticket_number || ' has no recognizable category'
            else judged.category || ' change needs '
                || array_to_string(judged.required_roles, ' + ')
                || ' approval before deployment; ' || coalesce(len(judged.approvers), 0) || ' timely approver(s)'
                || case when judged.count_late > 0 then ', ' || judged.count_late || ' approval(s) after deployment' else '' end
        end as reason,
        json_object('ticket_number', judged.ticket_number, 'category', judged.category,
                    'timely_approvers', judged.approvers, 'late_approvals', judged.count_late) as evidence
    from judged
    join changes using (change_id)
)
select * from evaluated
