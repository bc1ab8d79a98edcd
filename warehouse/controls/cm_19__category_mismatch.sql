-- CM-19 category-mismatch (metadata: cm_19__category_mismatch.yml)
-- A changed file matching a rule of policy.category_rules sets the lowest category the change may
-- be filed under (Standard < Normal < Major); the ticket's category must reach it.
with
changes as (select * from int_changes_in_period),
tickets as (select * from int_changes_linked_to_tickets),
files as (select * from int_change_files),
matches as (select * from int_change_files_matched where kind = 'category'),
file_counts as (select change_id, count(*) as count_files from files group by change_id),
matched as (
    select change_id, rule, min_category, path,
           case min_category when 'Major' then 3 when 'Normal' then 2 else 1 end as min_rank
    from matches
),
required as (
    select change_id, max(min_rank) as min_rank,
           arg_max(min_category, min_rank) as min_category,
           list(distinct rule || ': ' || path order by rule || ': ' || path) as hits
    from matched group by change_id
),
judged as (
    select changes.change_id, changes.is_rollback, changes.is_baseline, changes.compare_status,
           coalesce(changes.count_commits_listed, 0) as count_commits_listed,
           coalesce(file_counts.count_files, 0) as count_files,
           tickets.ticket_number, tickets.category,
           case tickets.category when 'Major' then 3 when 'Normal' then 2 when 'Standard' then 1 end as category_rank,
           required.min_rank, required.min_category, required.hits
    from changes
    left join tickets using (change_id)
    left join file_counts using (change_id)
    left join required using (change_id)
),
evaluated as (
    select
        change_id as subject_id,
        case
            when is_rollback or is_baseline or ticket_number is null or category_rank is null then 'not_applicable'
            when count_files = 0 and (compare_status is null or count_commits_listed > 0) then 'error'
            when min_rank is null then 'not_applicable'
            when category_rank < min_rank then 'fail'
            else 'pass'
        end as status,
        case
            when is_rollback then 'rollback to a previously deployed commit (see CM-17)'
            when is_baseline then 'baseline deployment: no compared file list'
            when ticket_number is null then 'no change ticket (see CM-01)'
            when category = 'Emergency' then 'emergency change: category set by §5'
            when category_rank is null then 'ticket ' || ticket_number || ' has no recognizable category (see CM-10)'
            when count_files = 0 and compare_status is null then 'changed files unknown: no compare of the change set'
            when count_files = 0 and count_commits_listed > 0 then 'changed files unknown: the compare lists no files'
            when min_rank is null then 'no category rule matches the ' || count_files || ' changed file(s)'
            when category_rank < min_rank then ticket_number || ' is filed as ' || category || ' but the change needs at least '
                 || min_category || ': ' || array_to_string(hits[1:5], ', ') || case when len(hits) > 5 then ', …' else '' end
            else category || ' meets the required ' || min_category || ' (' || array_to_string(hits[1:5], ', ')
                 || case when len(hits) > 5 then ', …' else '' end || ')'
        end as reason,
        json_object('ticket_number', ticket_number, 'category', category, 'required_category', min_category,
                    'matched', hits, 'count_files', count_files) as evidence
    from judged
)
select * from evaluated
