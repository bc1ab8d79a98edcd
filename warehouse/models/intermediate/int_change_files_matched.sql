-- Each changed file matched once against the policy's path globs: the sensitive areas of CM-18
-- (table sensitive_path_patterns) and the category rules of CM-19 (table category_path_rules).
-- A regex pattern that is a column is compiled per row, so the matching runs on the distinct
-- paths (few: the same files change again and again) and joins back to the changes.
-- One row per (change, path, matched glob): kind 'sensitive' (rule = area) or 'category'.
with
files as (select * from int_change_files),
sensitive_patterns as (select * from sensitive_path_patterns),
category_rules as (select * from category_path_rules),
paths as (select distinct path from files),
matched as (
    select paths.path, 'sensitive' as kind, sensitive_patterns.area as rule, null::varchar as min_category
    from paths join sensitive_patterns on regexp_full_match(paths.path, sensitive_patterns.regex)
    union all
    select paths.path, 'category', category_rules.rule, category_rules.min_category
    from paths join category_rules on regexp_full_match(paths.path, category_rules.regex)
),
final as (
    select files.change_id, files.path, matched.kind, matched.rule, matched.min_category
    from files join matched using (path)
)
select * from final
