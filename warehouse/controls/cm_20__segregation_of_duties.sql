-- CM-20 segregation-of-duties (metadata: cm_20__segregation_of_duties.yml)
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
prs as (select * from int_changes_linked_to_prs),
approvals as (   -- of the period's tickets only: the history's approvals are not aggregated every day
    select * from int_ticket_approvals_resolved
    where state = 'approved' and change_sys_id in (select ticket_sys_id from int_changes_linked_to_tickets)
),
identities as (select * from int_people_identities),
approvers as (
    select change_sys_id, list(distinct coalesce(approver_person_id, source_system || ':' || approver_sys_id)
                              order by coalesce(approver_person_id, source_system || ':' || approver_sys_id)) as people
    from approvals group by change_sys_id
),
pr_authors as (
    select prs.change_id, list(distinct coalesce(identities.person_id, prs.source_system || ':' || lower(prs.author_login))
                              order by coalesce(identities.person_id, prs.source_system || ':' || lower(prs.author_login))) as people
    from prs left join identities on identities.system = prs.source_system and identities.identifier = lower(prs.author_login)
    group by prs.change_id
),
judged as (
    select
        changes.change_id, tickets.ticket_number, tickets.category,
        coalesce(requester.person_id, tickets.ticket_system || ':' || tickets.requested_by_sys_id) as requester,
        approvers.people as approvers, pr_authors.people as authors, changes.accountable_person_id as deployer
    from changes
    left join tickets using (change_id)
    left join identities as requester on requester.system = tickets.ticket_system and requester.identifier = tickets.requested_by_sys_id
    left join approvers on approvers.change_sys_id = tickets.ticket_sys_id
    left join pr_authors using (change_id)
),
evaluated as (
    select
        change_id as subject_id,
        case
            when ticket_number is null or category = 'Standard' then 'not_applicable'
            when approvers = [requester] then 'fail'
            when deployer is not null and list_contains(authors, deployer) and list_contains(approvers, deployer) then 'fail'
            else 'pass'
        end as status,
        case
            when ticket_number is null then 'no change ticket (see CM-01)'
            when category = 'Standard' then 'standard change: self-approval allowed'
            when approvers = [requester] then 'requester ' || requester || ' is the only approver of ' || ticket_number
            when deployer is not null and list_contains(authors, deployer) and list_contains(approvers, deployer)
                then deployer || ' authored, approved and deployed the change'
            else 'duties separated'
        end as reason,
        json_object('ticket_number', ticket_number, 'requester', requester, 'approvers', approvers,
                    'pr_authors', authors, 'deployer', deployer) as evidence
    from judged
)
select * from evaluated
