-- Change requests with their SOC2-CHG-001 §1 category.
-- Recognition per ticket system from the policy (config policy.categories.<system>, table ticket_categories):
-- type -> Standard/Normal/Emergency; a Normal change with one of the system's major_risks is Major.
-- Merged per ticket (warehouse/merge.py): a day recomputes the tickets it touched.
-- merge key: source_system, sys_id
-- merge inputs: int_change_requests_unioned
with
tickets as (select * from int_change_requests_unioned),
rules as (select * from ticket_categories),
final as (
    select
        tickets.* exclude (category),
        tickets.category as servicenow_category,
        case
            when rules.category is null then 'unknown'
            when rules.category = 'Normal' and list_contains(rules.major_risks, tickets.risk) then 'Major'
            else rules.category
        end as category
    from tickets
    left join rules on rules.system = tickets.source_system and rules.type = lower(tickets.type)
)
select * from final
