-- CM-15 emergency-late-review (metadata: cm_15__emergency_late_review.yml)
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
business_days as (select * from int_business_days_numbered),
params as (select * from eval_params),
deadlines as (
    -- the Nth business day after the deployment day
    select changes.change_id, min(later.day) as deadline
    from changes
    cross join params
    join business_days as later on later.day > changes.deployed_at::date
    join (
        select changes.change_id, count(*) as n_before from changes
        join business_days on business_days.day <= changes.deployed_at::date group by changes.change_id
    ) as offsets using (change_id)
    where later.business_day_number = offsets.n_before + params.emergency_review_business_days
    group by changes.change_id
),
evaluated as (
    select
        changes.change_id as subject_id,
        case
            when not coalesce(tickets.is_emergency, false) then 'not_applicable'
            when tickets.review_date is null and params.evaluated_at::date <= deadlines.deadline then 'not_applicable'
            when tickets.review_date is null or tickets.review_date::date > deadlines.deadline then 'fail'
            else 'pass'
        end as status,
        case
            when not coalesce(tickets.is_emergency, false) then 'not an emergency change'
            when tickets.review_date is null and params.evaluated_at::date <= deadlines.deadline
                then 'review deadline ' || deadlines.deadline || ' not reached yet'
            when tickets.review_date is null then 'no post-hoc review recorded (due ' || deadlines.deadline || ')'
            when tickets.review_date::date > deadlines.deadline
                then 'reviewed ' || tickets.review_date::date || ', after the deadline ' || deadlines.deadline
            else 'reviewed ' || tickets.review_date::date || ' (due ' || deadlines.deadline || ')'
        end as reason,
        json_object('ticket_number', tickets.ticket_number, 'deployed_at', changes.deployed_at,
                    'review_date', tickets.review_date, 'deadline', deadlines.deadline) as evidence
    from changes
    cross join params
    left join tickets using (change_id)
    left join deadlines using (change_id)
)
select * from evaluated
