"""Read-only queries of the engineering-lead digest, scoped to one evaluation run.

Reads: change_outcomes, run_results(run) (CM-01/02/03/04 on changes, CM-07 on runtime changes
with their evidence), int_changes_linked_to_prs (PR number, title, author, html_url),
int_compare_commits_unioned / int_repositories_unioned (commit URLs), int_people_identities and
int_people_unioned (who a login is, team leads = role eng_lead). Models a partial warehouse lacks
give no rows (the digest then says "not recorded").
"""
from __future__ import annotations

from reports.emergency.sql import optional_rows
from reports.quarterly.sql import Row, rows

CHANGE_CONTROLS = ("CM-01", "CM-02", "CM-03", "CM-04")


def teams(con, run_id: str, period: str) -> list[Row]:
    return rows(con, """
        select coalesce(team, '(no team)') as team, count(*) as changes
        from change_outcomes where run_id = ? and period = ? group by all order by team""",
                [run_id, period])


def change_findings(con, run_id: str, period: str) -> list[Row]:
    """Failed or errored CM-01..CM-04 results with their change."""
    return rows(con, """
        select coalesce(c.team, '(no team)') as team, c.change_id, coalesce(c.service, c.repo, '') as service,
               c.repo, c.sha, timezone('UTC', c.deployed_at) as deployed_at, c.deployment_url,
               c.deployer_login, c.deployer_person_id, r.control_id, r.status, coalesce(r.reason, '') as reason,
               r.evidence
        from run_results(?) r
        join change_outcomes c on c.run_id = r.run_id and c.change_id = r.subject_id
        where c.period = ? and r.status in ('fail', 'error')
          and list_contains(?, r.control_id)
        order by c.deployed_at, c.change_id, r.control_id""", [run_id, period, list(CHANGE_CONTROLS)])


def runtime_findings(con, run_id: str) -> list[Row]:
    """Failed or errored CM-07 results (out-of-band runtime changes) with their evidence."""
    return rows(con, """
        select subject_id, status, coalesce(reason, '') as reason,
               evidence->>'service' as service, evidence->>'actor' as actor,
               evidence->>'action' as action, evidence->>'resource_kind' as resource_kind,
               evidence->>'resource_name' as resource_name,
               timezone('UTC', (evidence->>'observed_at')::timestamptz) as observed_at
        from run_results(?) where control_id = 'CM-07' and status in ('fail', 'error')
        order by observed_at, subject_id""", [run_id])


def service_teams(con, run_id: str) -> dict[str, str]:
    """service or owner/name -> team, from the run's changes, then the warehouse's repository map."""
    out: dict[str, str] = {}
    for r in optional_rows(con, "select repo, team from int_repositories_assigned_to_teams") or []:
        out[r["repo"]] = r["team"]
        out.setdefault(r["repo"].split("/")[-1], r["team"])
    for r in rows(con, """select distinct repo, service, team from change_outcomes
                          where run_id = ? and team is not null""", [run_id]):
        out[r["repo"]] = r["team"]
        out[r["service"] or r["repo"]] = r["team"]
    return out


def linked_prs(con, change_ids: list[str]) -> list[Row]:
    return optional_rows(con, """
        select p.change_id, p.number, coalesce(p.title, '') as title, p.html_url, p.author_login,
               i.person_id as author_person_id
        from int_changes_linked_to_prs p
        left join int_people_identities i
          on i.system = p.source_system and i.identifier = lower(p.author_login)
        where list_contains(?, p.change_id)
        order by p.change_id, p.number""", [change_ids]) or []


def commit_urls(con, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    if not pairs:
        return {}
    found = optional_rows(con, """
        with w as (select unnest(?::varchar[]) as repo, unnest(?::varchar[]) as sha)
        select w.repo, w.sha,
               coalesce((select any_value(c.html_url) from int_compare_commits_unioned c
                         where c.repo = w.repo and c.sha = w.sha),
                        (select any_value(r.html_url) from int_repositories_unioned r where r.repo = w.repo)
                            || '/commit/' || w.sha) as url
        from w""", [[p[0] for p in pairs], [p[1] for p in pairs]])
    return {(r["repo"], r["sha"]): r["url"] for r in found or [] if r["url"]}


def people(con) -> dict[str, Row]:
    found = optional_rows(con, """
        select person_id, coalesce(name, person_id) as name, coalesce(roles, []) as roles, team, kind
        from int_people_unioned""")
    return {r["person_id"]: r for r in found or []}


def identities(con, identifiers: list[str]) -> dict[str, str]:
    """lower-cased identifier (any system) -> person id, for runtime-change actors."""
    found = optional_rows(con, """
        select identifier, min(person_id) as person_id from int_people_identities
        where list_contains(?, identifier) group by identifier""", [identifiers])
    return {r["identifier"]: r["person_id"] for r in found or []}


def monthly_counts(con, run_id: str, period: str) -> list[Row]:
    return rows(con, """
        select coalesce(team, '(no team)') as team, strftime(timezone('UTC', deployed_at), '%Y-%m') as month,
               count(*) as changes,
               count(*) filter (where list_contains(failed_controls, 'CM-01')) as undocumented,
               count(*) filter (where list_contains(failed_controls, 'CM-02')) as unattributable,
               count(*) filter (where list_contains(failed_controls, 'CM-03')
                                   or list_contains(failed_controls, 'CM-04')) as unreviewed,
               count(*) filter (where outcome = 'violation') as violations
        from change_outcomes where run_id = ? and period = ? group by all""", [run_id, period])
