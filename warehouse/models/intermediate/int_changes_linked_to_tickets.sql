-- Ticket keys found for each change, in order of trust: the deployment itself, then the PRs'
-- title, body and head branch, then commit messages. Only keys of existing change requests
-- link; the first of them is the primary ticket. A ticketed change whose linked PR or primary
-- ticket carries a label of policy.emergency_labels (case-insensitive) is an emergency (§5).
with
changes as (select * from int_changes_in_period),
prs as (select * from int_changes_linked_to_prs),
commits as (select * from int_change_commits),
-- (not materialized: read three times, a materialized copy would hold every ticket of the history)
tickets as not materialized (select * from int_tickets_categorized),
pr_labels as (select * from int_pull_request_labels_unioned),
ticket_labels as (select * from int_ticket_labels_unioned),
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
           unnest(regexp_extract_all(texts.text, ticket_key_pattern())) as ticket_key  -- the policy's, a macro
    from texts
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
-- §5: a production deployment with no ticket at deploy time, documented afterwards by an Emergency
-- ticket that names it in its text (the change id, the deployment URL or a 7+ hex prefix of the
-- deployed sha); the earliest such ticket becomes the primary one (CM-14 judges its 24 h deadline)
-- (each Emergency ticket's text and hex words are computed once; a pair is tested only when the
-- ticket names the change's repository, URL folder or a sha prefix, so the test is not run for
-- every change x ticket: each candidate set is a necessary condition of its exact test)
emergency_tickets as (
    select number, sys_id, created_at, text,
           regexp_extract_all(text, '\b[0-9a-f]{7,40}\b') as hex_words
    from (
        select *, concat_ws(' ', short_description, description, justification, implementation_plan) as text
        from tickets where category = 'Emergency'
          -- only a ticket created after a deployment of the period can document it later (below):
          -- the history's older Emergency tickets are not searched every day
          and created_at > (select min(deployed_at) from changes)
    )
),
undocumented as (
    select change_id, repo, sha, deployed_at, deployment_url,
           regexp_replace(deployment_url, '/[^/]*$', '') as url_folder
    from changes where change_id not in (select change_id from primary_ticket)
),
by_change_id as (   -- the text holds `<repo>@<deployment id>`: it holds `<repo>@`
    select undocumented.change_id, tickets.sys_id
    from (select distinct repo from undocumented) as repos
    join emergency_tickets as tickets on contains(tickets.text, repos.repo || '@')
    join undocumented on undocumented.repo = repos.repo
    where contains(tickets.text, undocumented.change_id)
),
by_url as (         -- the text holds the deployment URL: it holds the URL's folder
    select undocumented.change_id, tickets.sys_id
    from (select distinct url_folder from undocumented where url_folder <> '') as folders
    join emergency_tickets as tickets on contains(tickets.text, folders.url_folder)
    join undocumented on undocumented.url_folder = folders.url_folder
    where contains(tickets.text, undocumented.deployment_url)
),
by_sha as (         -- a hex word of the text is a prefix of the deployed sha
    select undocumented.change_id, words.sys_id
    from (select distinct sys_id, unnest(hex_words) as word from emergency_tickets) as words
    join (select distinct length(word) as width
          from (select unnest(hex_words) as word from emergency_tickets)) as widths
        on length(words.word) = widths.width
    join undocumented on left(undocumented.sha, widths.width) = words.word
),
later_documented as (
    select changes.change_id, tickets.number as ticket_key, tickets.sys_id as ticket_sys_id,
           'emergency ticket ' || tickets.number || ' naming the deployment (documented after it)' as place
    from (select * from by_change_id union select * from by_url union select * from by_sha) as candidates
    join changes using (change_id)
    join emergency_tickets as tickets on tickets.sys_id = candidates.sys_id
    where tickets.created_at > changes.deployed_at
    qualify row_number() over (partition by changes.change_id order by tickets.created_at, tickets.number) = 1
),
linked as (
    select change_id, ticket_key, ticket_sys_id, place, false as is_documented_later from primary_ticket
    union all
    select change_id, ticket_key, ticket_sys_id, place, true from later_documented
),
-- §5 hotfix label: on a linked PR/MR or on the primary ticket (Jira); ServiceNow has no labels
emergency_labelled as (
    select hits.change_id, list(distinct hits.label || ' (' || hits.place || ')') as emergency_labels
    from (
        select prs.change_id, pr_labels.label, 'PR #' || prs.number as place
        from prs
        join pr_labels on pr_labels.source_system = prs.source_system and pr_labels.repo = prs.repo
            and pr_labels.number = prs.number
        union all
        select linked.change_id, ticket_labels.label, linked.ticket_key
        from linked
        join ticket_labels on ticket_labels.sys_id = linked.ticket_sys_id
    ) as hits
    cross join params
    where list_contains(params.emergency_labels, lower(hits.label))
    group by hits.change_id
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
        coalesce(primary_ticket.is_documented_later, false) as is_documented_later,
        coalesce(summary.keys_found, []) as keys_found,
        coalesce(summary.keys_unknown, []) as keys_unknown,
        -- §5 treats a labelled change as an emergency: its category is Emergency (CM-09/10/13/19 n/a)
        case when tickets.sys_id is not null and emergency_labelled.change_id is not null then 'Emergency'
             else coalesce(tickets.category, 'unknown') end as category,
        tickets.category = 'Emergency' or (tickets.sys_id is not null and emergency_labelled.change_id is not null)
            as is_emergency,
        tickets.category as ticket_category,
        coalesce(emergency_labelled.emergency_labels, []) as emergency_labels,
        tickets.source_system as ticket_system, tickets.ticket_url, tickets.type as ticket_type, tickets.approval as ticket_approval,
        tickets.requested_by_sys_id, tickets.created_at as ticket_created_at,
        tickets.review_date, tickets.verbal_approver_sys_id, tickets.verbal_approved_at
    from changes
    left join linked as primary_ticket using (change_id)
    left join summary using (change_id)
    left join emergency_labelled using (change_id)
    left join tickets on tickets.sys_id = primary_ticket.ticket_sys_id
)
select * from final
