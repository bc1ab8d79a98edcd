-- Change requests with their SOC2-CHG-001 §1 category.
with
tickets as (select * from int_change_requests_unioned),
final as (
    select
        tickets.* exclude (category),
        tickets.category as servicenow_category,
        case
            when lower(tickets.type) = 'emergency' then 'Emergency'
            when lower(tickets.type) = 'standard' then 'Standard'
            when lower(tickets.type) = 'normal' and tickets.risk in ('1', '2') then 'Major'
            when lower(tickets.type) = 'normal' then 'Normal'
            else 'unknown'
        end as category
    from tickets
)
select * from final
