-- CM-21 change-not-closed (metadata: cm_21__change_not_closed.yml)
with
changes as (select * from int_changes_in_period),
links as (select * from int_changes_linked_to_tickets),
tickets as (select * from int_tickets_categorized),
params as (select * from eval_params),
judged as (
    select
        changes.change_id, changes.is_rollback, changes.deployed_at, links.ticket_number,
        tickets.close_code, tickets.closed_at, params.evaluated_at,
        changes.deployed_at + to_days(params.closing_deadline_days) as deadline,
        coalesce(regexp_matches(tickets.close_code, '\S'), false) and tickets.closed_at is not null as is_closed
    from changes
    cross join params
    left join links using (change_id)
    left join tickets on tickets.sys_id = links.ticket_sys_id
),
evaluated as (
    select
        change_id as subject_id,
        case
            when is_rollback or ticket_number is null then 'not_applicable'
            when is_closed and closed_at <= deadline then 'pass'
            when is_closed then 'fail'
            when evaluated_at <= deadline then 'not_applicable'
            else 'fail'
        end as status,
        case
            when is_rollback then 'rollback: judged on the rolled-back change (see CM-17)'
            when ticket_number is null then 'no change ticket (see CM-01)'
            when is_closed and closed_at <= deadline
                then ticket_number || ' closed ' || strftime(closed_at, '%Y-%m-%d %H:%M') || ' with outcome ' || close_code
            when is_closed
                then ticket_number || ' closed ' || strftime(closed_at, '%Y-%m-%d %H:%M') || ', after the deadline '
                     || strftime(deadline, '%Y-%m-%d %H:%M')
            when evaluated_at <= deadline then 'closing deadline ' || strftime(deadline, '%Y-%m-%d %H:%M') || ' not reached yet'
            else ticket_number || ' not closed with an outcome ('
                 || case when closed_at is null then 'no closed date' else 'no close code' end
                 || ') by the deadline ' || strftime(deadline, '%Y-%m-%d %H:%M')
        end as reason,
        json_object('ticket_number', ticket_number, 'deployed_at', deployed_at, 'close_code', close_code,
                    'closed_at', closed_at, 'deadline', deadline) as evidence
    from judged
)
select * from evaluated
