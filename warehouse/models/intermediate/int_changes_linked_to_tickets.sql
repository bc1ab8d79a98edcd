-- Ticket keys found for each change, in order of trust: the deployment itself, then the PRs'
-- title, body and head branch, then commit messages. Only keys of existing change requests
-- link; the first of them is the primary ticket.
with
changes as (select * from int_changes_in_period),
prs as (select * from int_changes_linked_to_prs),
commits as (select * from int_change_commits),
tickets as (select * from int_tickets_categorized),
params as (select * from eval_params),
texts as (
    select change_id, 1 as place_rank, 'deployment description' as place, description as text from changes
    union all select change_id, 1, 'deployment payload', payload::varchar from changes
    union all select change_id, 2, 'PR #' || number || ' title', title from prs
    union all select change_id, 3, 'PR #' || number || ' body', body from prs
    union all select change_id, 4, 'PR #' || number || ' branch', head_ref from prs
    union all select change_id, 5, 'commit ' || left(sha, 7) || ' message', message from commits
),
keys as (
    select texts.change_id, texts.place_rank, texts.place,
           unnest(regexp_extract_all(texts.text, params.ticket_key_pattern)) as ticket_key
    from texts cross join params
    where texts.text is not null
),
found as (
    select keys.*, tickets.sys_id as ticket_sys_id from keys
    left join tickets on tickets.number = keys.ticket_key
),
primary_ticket as (
    select change_id, ticket_key, ticket_sys_id, place
    from found where ticket_sys_id is not null
    qualify row_number() over (partition by change_id order by place_rank, ticket_key, place) = 1
),
summary as (
    select change_id,
           list(distinct ticket_key order by ticket_key) as keys_found,
           list(distinct ticket_key order by ticket_key) filter (where ticket_sys_id is null) as keys_unknown
    from found group by change_id
),
final as (
    select
        changes.change_id,
        primary_ticket.ticket_key as ticket_number,
        primary_ticket.ticket_sys_id,
        primary_ticket.place as ticket_found_in,
        coalesce(summary.keys_found, []) as keys_found,
        coalesce(summary.keys_unknown, []) as keys_unknown,
        coalesce(tickets.category, 'unknown') as category,
        tickets.category = 'Emergency' as is_emergency,
        tickets.source_system as ticket_system, tickets.ticket_url, tickets.type as ticket_type, tickets.approval as ticket_approval,
        tickets.requested_by_sys_id, tickets.created_at as ticket_created_at,
        tickets.review_date, tickets.verbal_approver_sys_id, tickets.verbal_approved_at
    from changes
    left join primary_ticket using (change_id)
    left join summary using (change_id)
    left join tickets on tickets.sys_id = primary_ticket.ticket_sys_id
)
select * from final
