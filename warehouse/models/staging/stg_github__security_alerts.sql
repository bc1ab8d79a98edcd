-- GitHub code-scanning and Dependabot alerts, one row per alert (latest extraction wins).
-- An alert is open at time t when created_at <= t and (closed_at is null or closed_at > t);
-- closed_at = fixed_at, else dismissed_at, else auto_dismissed_at.
--   severity  code scanning: rule.security_severity_level (critical/high/medium/low), else the
--             rule's severity error high, warning medium, note low; Dependabot: the advisory's
--             severity (moderate -> medium)
with
code_scanning as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"number": "BIGINT", "state": "VARCHAR", "created_at": "VARCHAR",
                                      "fixed_at": "VARCHAR", "dismissed_at": "VARCHAR", "dismissed_reason": "VARCHAR",
                                      "html_url": "VARCHAR",
                                      "rule": {"id": "VARCHAR", "severity": "VARCHAR", "security_severity_level": "VARCHAR"},
                                      "tool": {"name": "VARCHAR"},
                                      "most_recent_instance": {"commit_sha": "VARCHAR",
                                                               "location": {"path": "VARCHAR"}}}') as p
    from raw.github__code_scanning_alerts
),
dependabot as (
    select _extracted_at,
           json_extract_string(_context, '$.repo') as repo,
           json_transform(_payload, '{"number": "BIGINT", "state": "VARCHAR", "created_at": "VARCHAR",
                                      "fixed_at": "VARCHAR", "dismissed_at": "VARCHAR", "auto_dismissed_at": "VARCHAR",
                                      "dismissed_reason": "VARCHAR", "html_url": "VARCHAR",
                                      "dependency": {"manifest_path": "VARCHAR", "package": {"name": "VARCHAR"}},
                                      "security_advisory": {"ghsa_id": "VARCHAR", "severity": "VARCHAR"},
                                      "security_vulnerability": {"severity": "VARCHAR"}}') as p
    from raw.github__dependabot_alerts
),
unioned as (
    select _extracted_at, 'code_scanning' as kind, repo, p.number, coalesce(p.tool.name, 'code scanning') as tool_name,
           p.rule.id as rule_id,
           case
               when lower(p.rule.security_severity_level) in ('critical', 'high', 'medium', 'low')
                   then lower(p.rule.security_severity_level)
               when p.rule.severity = 'error' then 'high'
               when p.rule.severity = 'warning' then 'medium'
               when p.rule.severity = 'note' then 'low'
               else 'none'
           end as severity,
           p.state, p.created_at, p.fixed_at, p.dismissed_at, null as auto_dismissed_at, p.dismissed_reason,
           p.most_recent_instance.commit_sha, p.most_recent_instance.location.path as location_uri, p.html_url
    from code_scanning
    union all
    select _extracted_at, 'dependabot', repo, p.number, 'Dependabot', p.security_advisory.ghsa_id,
           case lower(coalesce(p.security_advisory.severity, p.security_vulnerability.severity))
               when 'critical' then 'critical' when 'high' then 'high' when 'medium' then 'medium'
               when 'moderate' then 'medium' when 'low' then 'low' else 'none'
           end,
           p.state, p.created_at, p.fixed_at, p.dismissed_at, p.auto_dismissed_at, p.dismissed_reason,
           null, p.dependency.manifest_path, p.html_url
    from dependabot
),
final as (
    select kind || ':' || repo || '#' || number as alert_id, repo, kind, tool_name, rule_id, severity, state,
           try_cast(created_at as timestamptz) as created_at,
           try_cast(fixed_at as timestamptz) as fixed_at,
           try_cast(dismissed_at as timestamptz) as dismissed_at, dismissed_reason,
           coalesce(try_cast(fixed_at as timestamptz), try_cast(dismissed_at as timestamptz),
                    try_cast(auto_dismissed_at as timestamptz)) as closed_at,
           commit_sha, location_uri, html_url
    from unioned
    qualify row_number() over (partition by kind, repo, number order by _extracted_at desc) = 1
)
select * from final
