-- A calendar of business days (Mon-Fri, configured holidays excluded), numbered in order, so a
-- deadline of N business days is a lookup rather than a loop.
with
params as (select * from eval_params),
days as (
    select unnest(generate_series(
        (params.period_start - interval 400 days)::date,
        (greatest(params.period_end, params.evaluated_at) + interval 60 days)::date,
        interval 1 day))::date as day, params.holidays
    from params
),
final as (
    select day, row_number() over (order by day) as business_day_number
    from days
    where isodow(day) <= 5 and not list_contains(holidays, day)
)
select * from final
