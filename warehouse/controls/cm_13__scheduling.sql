-- CM-13 scheduling (metadata: cm_13__scheduling.yml)
-- Local time of the deployment in policy.schedule.time_zone (DST by the zone's rules); windows and
-- peak hours come as weekly spans (warehouse/policy_rules.py: one row per day, midnight split).
-- Notice = the ticket's creation: the change is on the change calendar from then on.
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
params as (select * from eval_params),
spans as (select * from schedule_spans),
localized as (
    select changes.change_id, changes.deployed_at, changes.is_rollback,
           tickets.ticket_number, tickets.category, tickets.ticket_created_at,
           timezone(params.schedule_time_zone, changes.deployed_at) as local_at,
           params.schedule_time_zone as time_zone, params.notice_hours
    from changes
    cross join params
    left join tickets using (change_id)
),
placed as (
    select localized.*, isodow(local_at) as local_dow,
           extract(epoch from local_at::time) as local_second,
           epoch(deployed_at) - epoch(ticket_created_at) as notice_seconds
    from localized
),
hits as (
    select placed.change_id,
           bool_or(spans.kind = 'window') as is_in_window,
           list(distinct spans.span order by spans.span) filter (where spans.kind = 'peak') as peak_spans
    from placed
    join spans
        on spans.iso_dow = placed.local_dow
        and placed.local_second >= spans.start_minute * 60 and placed.local_second < spans.end_minute * 60
    group by placed.change_id
),
configured as (
    select list(distinct span order by span) filter (where kind = 'window') as windows from spans
),
judged as (
    select placed.*, configured.windows,
           strftime(placed.local_at, '%a %Y-%m-%d %H:%M') || ' ' || placed.time_zone as local_text,
           len(coalesce(configured.windows, [])) > 0 and not coalesce(hits.is_in_window, false) as is_outside_window,
           hits.peak_spans,
           list_filter([
               case when len(coalesce(configured.windows, [])) > 0 and not coalesce(hits.is_in_window, false)
                    then 'outside the maintenance windows (' || array_to_string(configured.windows, '; ') || ')' end,
               case when len(coalesce(hits.peak_spans, [])) > 0
                    then 'in peak hours (' || array_to_string(hits.peak_spans, '; ') || ')' end,
               case when placed.ticket_created_at is null
                    then 'notice unknown: ticket ' || placed.ticket_number || ' has no creation time'
                    when placed.notice_seconds < placed.notice_hours * 3600
                    then 'stakeholders notified ' || round(placed.notice_seconds / 3600, 1) || ' h ahead (ticket '
                         || placed.ticket_number || ' created ' || strftime(placed.ticket_created_at, '%Y-%m-%d %H:%M')
                         || ' UTC), less than ' || placed.notice_hours || ' h' end
           ], lambda r: r is not null) as problems
    from placed
    cross join configured
    left join hits using (change_id)
),
evaluated as (
    select
        change_id as subject_id,
        case
            when is_rollback or ticket_number is null or category not in ('Normal', 'Major') then 'not_applicable'
            when len(problems) > 0 then 'fail'
            else 'pass'
        end as status,
        case
            when is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when ticket_number is null then 'no change ticket (see CM-01)'
            when category = 'unknown' then 'ticket ' || ticket_number || ' has no recognizable category (see CM-10)'
            when category not in ('Normal', 'Major') then category || ' change: §2 scheduling applies to Normal and Major'
            when len(problems) > 0 then 'deployed ' || local_text || ' ' || array_to_string(problems, '; ')
            else 'deployed ' || local_text || ' within the schedule, ' || round(notice_seconds / 3600, 1) || ' h notice'
        end as reason,
        json_object('ticket_number', ticket_number, 'category', category, 'deployed_at', deployed_at,
                    'local_time', local_text, 'time_zone', time_zone, 'maintenance_windows', windows,
                    'peak_hours_hit', peak_spans, 'notified_at', ticket_created_at,
                    'notice_hours', round(notice_seconds / 3600, 1), 'required_notice_hours', notice_hours) as evidence
    from judged
)
select * from evaluated
