"""Build the engineering-lead digests (one per team) and their index from one evaluation run.

Who can fix each item — decided here from the evidence, and printed with the reason:
- undocumented (CM-01): the author of a linked PR (they can add the ticket key or open the
  retroactive ticket); with no PR, the deployer when they resolve to a person; else the team lead;
- unattributable (CM-02): the team lead — by definition no person stands behind the deployment,
  so only the lead can name who ran it and move the pipeline to attributable credentials;
- unreviewed (CM-03/04): the author of the PR lacking approvals (they ask for the independent or
  senior review); direct pushes with no PR: the deployer when a person, else the team lead;
- out-of-band (CM-07): the actor when the identity resolves to a person, else the team lead.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import duckdb

from reports.quarterly import sql as q
from reports.digest import sql
from reports.digest.model import (DigestIndex, IndexRow, Item, Link, Section, TeamDigest,
                                  TrendRow)
from reports.document import DocumentMeta, fmt_dt, fmt_rate, parse_period
from reports.emergency.sql import evaluated_periods

ROW_CAP = 150
SECTIONS = (  # key, title, controls, explanation
    ("undocumented", "Undocumented changes (CM-01)", ("CM-01",),
     "Production deployments with no change ticket linked (SOC2-CHG-001 §2, §7)."),
    ("unattributable", "Unattributable changes (CM-02)", ("CM-02",),
     "Deployments no person can be held accountable for: shared, unknown or service accounts with no human trigger (§6)."),
    ("unreviewed", "Unreviewed changes (CM-03, CM-04)", ("CM-03", "CM-04"),
     "Commits outside a merged PR, PRs without an independent approval, or fewer than the required valid approvals (§3)."),
    ("out_of_band", "Out-of-band changes (CM-07)", ("CM-07",),
     "Changes to production infrastructure outside the deployment pipeline (§6)."),
)
FIXER_RULES = [line.strip(" -") for line in __doc__.split("printed with the reason:")[1].strip().split("\n- ")]


def slug(team: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-") or "team"


def file_stem(period_key: str, name: str) -> str:
    return f"changetrail-{period_key}-digest-{name}"


def _link(label: str, url: str | None) -> Link:
    url = url or ""
    return Link(label, url if url.lower().startswith(("https://", "http://")) else "", url)


class _People:
    def __init__(self, con):
        self.by_id = sql.people(con)
        self.leads = defaultdict(list)
        for p in sorted(self.by_id.values(), key=lambda p: p["person_id"]):
            if "eng_lead" in p["roles"] and p["team"]:
                self.leads[p["team"]].append(p["person_id"])

    def label(self, person_id: str | None) -> str:
        found = self.by_id.get(person_id or "")
        return f"{found['name']} ({person_id})" if found else (person_id or "")

    def is_human(self, person_id: str | None) -> bool:
        found = self.by_id.get(person_id or "")
        return bool(found) and (found["kind"] or "human") == "human"

    def lead(self, team: str) -> tuple[str, str, str]:
        ids = self.leads.get(team)
        if ids:
            return ", ".join(self.label(i) for i in ids), "team lead", ""
        return f"no engineering lead recorded for team {team}", "team lead", ""


def _fixer(key: str, prs: list[dict], deployer: str | None, team: str, people: _People,
           unapproved: set[int]) -> tuple[str, str, str]:
    lead, role, _ = people.lead(team)
    if key == "unattributable":
        return lead, role, "no person stands behind this deployment; the lead names who ran it"
    if key in ("undocumented", "unreviewed"):
        # unreviewed with no PR lacking approvals = direct pushes: the PR authors are not the ones
        wanted = [p for p in prs if key == "undocumented" or p["number"] in unapproved]
        authors = [p for p in wanted if people.is_human(p["author_person_id"])]
        if authors:
            nums = ", ".join(f"#{p['number']}" for p in authors)
            why = ("authored " + nums + ": can add the ticket key or open the retroactive ticket"
                   if key == "undocumented" else "authored " + nums + ": asks for the missing review")
            return ", ".join(sorted({people.label(p["author_person_id"]) for p in authors})), "PR author", why
        if people.is_human(deployer):
            return people.label(deployer), "deployer", ("deployed commits that came through no PR"
                                                         if key == "unreviewed" else
                                                         "no PR author to ask: the person who deployed it")
    return lead, role, "nobody else identifiable from the evidence"


def build_digests(con: duckdb.DuckDBPyConnection, period: str, organization: str,
                  run_id: str | None = None, *, team: str | None = None, as_of: date | None = None,
                  generated_at: datetime | None = None,
                  row_cap: int = ROW_CAP) -> tuple[DigestIndex, list[TeamDigest]]:
    p = parse_period(period)
    run = q.evaluation_run(con, p, run_id)
    rid = run["run_id"]
    people = _People(con)
    team_rows = {t["team"]: int(t["changes"]) for t in sql.teams(con, rid, p.key)}
    findings = sql.change_findings(con, rid, p.key)
    service_team = sql.service_teams(con, rid)
    runtime = sql.runtime_findings(con, rid)
    for r in runtime:
        r["team"] = service_team.get(r["service"] or "", "(no team)")
        team_rows.setdefault(r["team"], 0)
    if team is not None:
        if team not in team_rows:
            raise ValueError(f"no team {team!r} in {p.key}; teams: {', '.join(sorted(team_rows)) or 'none'}")
        team_rows = {team: team_rows[team]}
    change_ids = sorted({f["change_id"] for f in findings})
    prs = defaultdict(list)
    for pr in sql.linked_prs(con, change_ids):
        prs[pr["change_id"]].append(pr)
    commits = sql.commit_urls(con, sorted({(f["repo"], f["sha"]) for f in findings if f["repo"] and f["sha"]}))
    actors = sql.identities(con, sorted({(r["actor"] or "").lower() for r in runtime}))
    week = (datetime.combine(as_of - timedelta(days=7), datetime.min.time()),
            datetime.combine(as_of, datetime.min.time())) if as_of else None
    trend = _trend(con, p, rid, service_team)
    generated = fmt_dt(generated_at or datetime.now(timezone.utc))
    as_of_label = f"as of {as_of.isoformat()} (new = deployed in the 7 days before)" if as_of else ""

    digests = []
    for name in sorted(team_rows):
        items = _change_items(name, findings, prs, commits, people, week)
        items["out_of_band"] = [_runtime_item(r, name, actors, people, week) for r in runtime if r["team"] == name]
        sections = []
        for key, title, controls, explanation in SECTIONS:
            found = items.get(key, [])
            more = (f"{len(found) - row_cap:,} more not listed: see the findings CSV of the quarterly report."
                    if len(found) > row_cap else "")
            sections.append(Section(key, title, explanation, found[:row_cap], len(found), more,
                                    f"No {title.split(' (')[0].lower()} for team {name} in {p.short_label}."))
        stem = file_stem(p.key, slug(name))
        new = sum(1 for s in sections for i in s.items if i.is_new) if as_of else None
        rows_ = trend.get(name, [])
        digests.append(TeamDigest(
            document=DocumentMeta(f"Engineering digest — {name}", "SOC2-CHG-001 · what the team can fix",
                                  organization, p.label, generated, rid,
                                  f"{organization} · team {name} · {p.short_label} · evaluation run {rid}"),
            period=p, organization=organization, run_id=rid, team=name, lead=people.lead(name)[0],
            changes=team_rows[name], counts=[(s.title, s.total) for s in sections], new_this_week=new,
            as_of_label=as_of_label, sections=sections, trend=rows_,
            trend_note="" if any(not r.is_current for r in rows_) else
            f"No earlier data: the warehouse holds no evaluation of a quarter before {p.short_label}.",
            fixer_rules=FIXER_RULES, pdf_name=f"{stem}.pdf", html_name=f"{stem}.html"))
    index = DigestIndex(
        document=DocumentMeta("Engineering digests", "SOC2-CHG-001 · one digest per team", organization,
                              p.label, generated, rid, f"{organization} · {p.short_label} · evaluation run {rid}"),
        period=p, organization=organization, run_id=rid, as_of_label=as_of_label,
        rows=[IndexRow(d.team, d.lead, d.changes, *(s.total for s in d.sections), d.new_this_week,
                       d.pdf_name, d.html_name) for d in digests])
    return index, digests


def _change_items(team, findings, prs, commits, people, week) -> dict[str, list[Item]]:
    by_key: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    key_of = {c: k for k, _, controls, _ in SECTIONS for c in controls}
    for f in findings:
        if f["team"] == team:
            by_key[key_of[f["control_id"]]][f["change_id"]].append(f)
    out: dict[str, list[Item]] = {}
    for key, changes in by_key.items():
        items = []
        for change_id, rows_ in changes.items():
            f = rows_[0]
            unapproved = set()
            for r in rows_:
                evidence = _json(r["evidence"])
                unapproved |= set(evidence.get("unapproved_prs") or [])
                unapproved |= {x["pr"] for x in evidence.get("prs") or []  # CM-04: the PRs its reason names
                               if isinstance(x, dict) and x.get("pr") and f"#{x['pr']}" in r["reason"]}
            change_prs = prs.get(change_id, [])
            links = [_link("deployment", f["deployment_url"])]
            links += [_link(f"PR #{pr['number']}", pr["html_url"]) for pr in change_prs]
            if f["sha"]:
                links.append(_link(f"commit {f['sha'][:7]}", commits.get((f["repo"], f["sha"]))))
            fixer, role, why = _fixer(key, change_prs, f["deployer_person_id"], team, people, unapproved)
            reason = "; ".join(r["reason"] for r in rows_)
            if key == "undocumented" and change_prs:
                reason += " — PR: " + "; ".join(f"#{pr['number']} {pr['title']}" for pr in change_prs)
            items.append(Item(change_id, f["service"], fmt_dt(f["deployed_at"]),
                              ", ".join(r["control_id"] for r in rows_), reason, links, fixer, role, why,
                              bool(week and week[0] <= f["deployed_at"] < week[1])))
        out[key] = items
    return out


def _runtime_item(r, team, actors, people, week) -> Item:
    person = actors.get((r["actor"] or "").lower())
    if people.is_human(person):
        fixer, role, why = people.label(person), "actor", "made the change: documents it or reverts it"
    else:
        fixer, role, _ = people.lead(team)
        why = f"the actor {r['actor'] or 'unknown'} is not a person in the directory"
    what = " ".join(x for x in (r["action"], r["resource_kind"], r["resource_name"]) if x)
    return Item(r["subject_id"], r["service"] or "", fmt_dt(r["observed_at"]), "CM-07",
                f"{r['reason']} — {what} by {r['actor'] or 'unknown'}", [], fixer, role, why,
                bool(week and r["observed_at"] and week[0] <= r["observed_at"] < week[1]))


def _json(value) -> dict:
    import json
    try:
        found = json.loads(value) if isinstance(value, str) else (value or {})
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _trend(con, p, rid, service_team) -> dict[str, list[TrendRow]]:
    """Per team, per month: this period and up to three earlier evaluated quarters."""
    keys = [k for k in evaluated_periods(con) if k <= p.key][-4:]
    out: dict[str, list[TrendRow]] = defaultdict(list)
    for key in keys:
        run = q.evaluation_run(con, parse_period(key), rid if key == p.key else None)
        oob = defaultdict(int)
        for r in sql.runtime_findings(con, run["run_id"]):
            if r["observed_at"] is not None:
                oob[(service_team.get(r["service"] or "", "(no team)"), r["observed_at"].strftime("%Y-%m"))] += 1
        for m in sorted(sql.monthly_counts(con, run["run_id"], key), key=lambda m: m["month"]):
            n = int(m["changes"])
            out[m["team"]].append(TrendRow(m["month"], n, int(m["undocumented"]), int(m["unattributable"]),
                                           int(m["unreviewed"]), oob.get((m["team"], m["month"]), 0),
                                           int(m["violations"]), fmt_rate(int(m["violations"]), n), key == p.key))
    return out
