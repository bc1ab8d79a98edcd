"""Section builders of the quarterly report: query results -> typed, labelled section models."""
from __future__ import annotations

import re
from collections import defaultdict

import duckdb

from reports.quarterly import sql as q
from reports.document import (Period, fmt_dt, fmt_int, fmt_rate, fmt_when, outcome_css,
                              outcome_label, plural, rate, short_hash, status_css, status_label)
from reports.quarterly.model import (CategoryRow, ControlRow, EmergencyRow, EmergencySection,
                                     ExceptionRow, ExceptionSection, IncidentRow, LabelValue,
                                     RegisterException,
                                     RollbackRow, RollbackSection, ServiceRow, StatusCell,
                                     StreamRow, TeamRow, ViolationGroup, ViolationRow,
                                     ViolationSection)

CATEGORY_ORDER = ("Standard", "Normal", "Major", "Emergency", "unknown")
EMERGENCY_CONTROLS = ("CM-14", "CM-15", "CM-16")
ROLLBACK_CONTROL = "CM-17"
OUTCOMES = ("compliant", "exception", "violation")
SYSTEM_NAMES = {"github": "GitHub", "gitlab": "GitLab", "servicenow": "ServiceNow",
                "jira": "Jira", "pagerduty": "PagerDuty", "sarif": "SARIF scanners",
                "trivy": "Trivy", "people": "People directory", "k8s_audit": "Kubernetes audit",
                "cloudtrail": "AWS CloudTrail", "deploylog": "Deployment log", "scanners": "Scanner reports"}
REASON_CHARS = 240
HASHES_SHOWN = 3


def system_name(system: str) -> str:
    return SYSTEM_NAMES.get(system, system)


def clip(text: str | None, limit: int = REASON_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def control_sort_key(control_id: str) -> tuple:
    """CM-02 before CM-10, CM-* before EV-*: prefix, then number."""
    match = re.match(r"^([A-Za-z]+)-?(\d+)", control_id or "")
    if not match:
        return ("~", 0, control_id)
    return (match[1].upper() != "CM", match[1].upper(), int(match[2]), control_id)


def failed_list(change: dict) -> str:
    return ", ".join(sorted(change["failed_controls"], key=control_sort_key))


def status_cell(result: dict | None) -> StatusCell:
    status = result["status"] if result else None
    reason = clip(result["reason"]) if result else "no result recorded for this change"
    return StatusCell(status, status_label(status), status_css(status), reason)


def _results_by_subject(results: list[dict]) -> dict[tuple[str, str], dict]:
    worst = {"error": 0, "fail": 1, "pass": 2, "not_applicable": 3}
    out: dict[tuple[str, str], dict] = {}
    for r in results:
        key = (r["subject_id"], r["control_id"])
        if key not in out or worst.get(r["status"], 9) < worst.get(out[key]["status"], 9):
            out[key] = r
    return out


# --- controls and categories -----------------------------------------------------------------

def control_rows(stats: list[dict]) -> list[ControlRow]:
    out = []
    for s in sorted(stats, key=lambda s: control_sort_key(s["control_id"])):
        population = int(s["subjects"]) - int(s["not_applicable"])
        fails, errors = int(s["fails"]), int(s["errors"])
        css = "row-fail" if fails else ("row-error" if errors else "")
        out.append(ControlRow(
            control_id=s["control_id"], title=s["title"], clause=s["clause"],
            subject_type=s["subject_type"],
            subject_note=("" if s["subject_type"] == "change"
                          else f"subjects: {str(s['subject_type']).replace('_', ' ')}"),
            population=population, passes=int(s["passes"]),
            fails=fails, errors=errors, not_applicable=int(s["not_applicable"]),
            failure_rate=rate(fails, population), failure_rate_label=fmt_rate(fails, population),
            css=css))
    return out


def category_rows(counts: list[dict], population: int) -> list[CategoryRow]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in counts:
        category = c["category"] if c["category"] in CATEGORY_ORDER else (
            next((k for k in CATEGORY_ORDER if k.lower() == str(c["category"]).lower()),
                 c["category"]))
        table[category][c["outcome"]] += int(c["n"])
    order = list(CATEGORY_ORDER) + sorted(k for k in table if k not in CATEGORY_ORDER)
    rows = [_category_row(name, table[name], population) for name in order]
    total: dict[str, int] = defaultdict(int)
    for name in order:
        for outcome, n in table[name].items():
            total[outcome] += n
    rows.append(_category_row("Total", total, population, css="total"))
    return rows


def _category_row(name: str, by_outcome: dict[str, int], population: int,
                  css: str = "") -> CategoryRow:
    changes = sum(by_outcome.values())
    return CategoryRow(category=name, changes=changes, compliant=by_outcome.get("compliant", 0),
                       exception=by_outcome.get("exception", 0),
                       violation=by_outcome.get("violation", 0),
                       violation_rate_label=fmt_rate(by_outcome.get("violation", 0), changes),
                       share_label=fmt_rate(changes, population), css=css)


# --- emergency changes and rollbacks ---------------------------------------------------------

def emergency_section(con, run_id: str, period: Period, titles: dict[str, str],
                      cap: int | None = None, csv_name: str = "") -> EmergencySection:
    """Every emergency change counted; listed not-closed-out first, then by deployment, up to `cap`."""
    changes = q.changes_where(con, run_id, period, "coalesce(is_emergency, false)",
                              "outcome <> 'violation', deployed_at, change_id")
    results = _results_by_subject(q.results_for(con, run_id, list(EMERGENCY_CONTROLS),
                                                "coalesce(is_emergency, false)"))
    rows = []
    for c in changes:
        checks = [status_cell(results.get((c["change_id"], cid))) for cid in EMERGENCY_CONTROLS]
        rows.append(EmergencyRow(
            change_id=c["change_id"], service=c["service"], team=c["team"],
            deployed_at=fmt_when(c["deployed_at"]), ticket=c["ticket_number"] or "no ticket",
            checks=checks, outcome=outcome_label(c["outcome"]),
            outcome_css=outcome_css(c["outcome"]), failed_controls=failed_list(c)))
    failing = {cid: sum(1 for r in rows if r.checks[i].status in ("fail", "error"))
               for i, cid in enumerate(EMERGENCY_CONTROLS)}
    closed = sum(1 for c in changes if c["outcome"] in ("exception", "compliant"))
    violations = sum(1 for c in changes if c["outcome"] == "violation")
    figures = [
        LabelValue("Emergency changes", fmt_int(len(rows))),
        LabelValue("Closed out under §5 (exception or compliant)", fmt_int(closed)),
        LabelValue("Violations", fmt_int(violations)),
    ] + [LabelValue(f"{cid} {titles.get(cid, '')} — failed", fmt_int(n))
         for cid, n in failing.items()]
    heads = [LabelValue(cid, titles.get(cid, cid)) for cid in EMERGENCY_CONTROLS]
    shown = rows[:cap] if cap is not None else rows
    return EmergencySection(rows=shown, check_titles=heads, figures=figures, closed_out=closed,
                            violations=violations,
                            more_note=_capped_note(len(rows), len(shown), "emergency changes",
                                                   "those not closed out first", csv_name,
                                                   "is_emergency = true"))


def _priority_key(priority: str) -> tuple:
    match = re.match(r"^[Pp](\d+)$", priority or "")
    return (0, int(match[1]), "") if match else (1, 0, priority or "")


def rollback_section(con, run_id: str, period: Period, cap: int | None = None,
                     csv_name: str = "") -> RollbackSection:
    """Rollbacks listed violations first, then by deployment, up to `cap`; incidents by priority."""
    changes = q.changes_where(con, run_id, period, "coalesce(is_rollback, false)",
                              "outcome <> 'violation', deployed_at, change_id")

    results = _results_by_subject(q.results_for(con, run_id, [ROLLBACK_CONTROL],
                                                "coalesce(is_rollback, false)"))
    rollbacks = [RollbackRow(
        change_id=c["change_id"], service=c["service"], deployed_at=fmt_when(c["deployed_at"]),
        cm17=status_cell(results.get((c["change_id"], ROLLBACK_CONTROL))),
        outcome=outcome_label(c["outcome"]), outcome_css=outcome_css(c["outcome"]),
        failed_controls=failed_list(c)) for c in changes]
    documented = sum(1 for r in rollbacks if r.cm17.status == "pass")
    total, rollbacks = len(rollbacks), (rollbacks[:cap] if cap is not None else rollbacks)
    note = "PagerDuty incidents created in the period, all services."
    try:
        by_priority = q.incidents_by_priority(con, period)
    except duckdb.Error as exc:  # the incidents view is optional evidence for this section
        by_priority = []
        note = f"PagerDuty incidents not available: {clip(str(exc).splitlines()[0], 160)}"
    incidents = [IncidentRow(priority=r["priority"] or "No priority", incidents=int(r["incidents"]),
                             resolved=int(r["resolved"]),
                             open=int(r["incidents"]) - int(r["resolved"]))
                 for r in sorted(by_priority, key=lambda r: _priority_key(r["priority"]))]
    return RollbackSection(rollbacks=rollbacks, incidents=incidents,
                           incidents_total=sum(r.incidents for r in incidents),
                           incidents_note=note, total=total, documented=documented,
                           more_note=_capped_note(total, len(rollbacks), "rollbacks",
                                                  "violations first", csv_name, "is_rollback = true"))


def _capped_note(total: int, shown: int, what: str, order: str, csv_name: str, where: str) -> str:
    if shown >= total:
        return ""
    return (f"Showing {shown:,} of {total:,} {what} ({order}); {total - shown:,} more are not listed "
            f"here. All {total:,} are in the attachment {csv_name} ({where}).")


# --- violations and exceptions ---------------------------------------------------------------

def _more_note(total: int, shown: int, what: str, csv_name: str, outcome: str) -> str:
    if shown >= total:
        return ""
    return (f"Showing the first {shown:,} of {total:,} {what}; {total - shown:,} more are not listed "
            f"here. All {total:,} are in the attachment {csv_name} (outcome = {outcome}).")


def violation_section(con, run_id: str, period: Period, total: int, cap: int,
                      csv_name: str) -> ViolationSection:
    teams = [TeamRow(team=t["team"], changes=int(t["changes"]), violations=int(t["violations"]),
                     violation_rate_label=fmt_rate(int(t["violations"]), int(t["changes"])),
                     services_with_violations=int(t["services"]))
             for t in q.team_counts(con, run_id, period)]
    services = [ServiceRow(
        team=s["team"], service=s["service"], changes=int(s["changes"]),
        violations=int(s["violations"]),
        violation_rate_label=fmt_rate(int(s["violations"]), int(s["changes"])),
        top_control=(f"{s['top_control']} ({s['top_control_count']})" if s["top_control"] else "—"))
        for s in q.service_counts(con, run_id, period)]
    listed = q.violating_changes(con, run_id, period, cap)
    groups: list[ViolationGroup] = []
    per_group_total = {(s.team, s.service): s.violations for s in services}
    for c in listed:
        team = c["team"] or "(no team)"
        heading = f"{team} · {c['service']}"
        if not groups or groups[-1].heading != heading:
            n = per_group_total.get((team, c["service"]), 0)
            groups.append(ViolationGroup(heading, plural(n, "violating change"), []))
        groups[-1].rows.append(ViolationRow(
            change_id=c["change_id"], deployed_at=fmt_when(c["deployed_at"]), category=c["category"],
            failed_controls=failed_list(c),
            first_reason=clip(c["reasons"][0] if c["reasons"] else "")))
    return ViolationSection(total=total, by_team=[t for t in teams if t.changes],
                            by_service=services, groups=groups, shown=len(listed),
                            more_note=_more_note(total, len(listed), "violating changes", csv_name,
                                                 "violation"))


def exception_section(con, run_id: str, period: Period, total: int, cap: int,
                      csv_name: str) -> ExceptionSection:
    listed = q.changes_where(con, run_id, period, "outcome = 'exception'",
                             "deployed_at, change_id", limit=cap)
    register: dict[str, list[RegisterException]] = defaultdict(list)
    for x in q.register_exceptions(con, run_id, [c["change_id"] for c in listed]):
        register[x["subject_id"]].append(RegisterException(
            exception_id=x["exception_id"], control_id=x["control_id"], justification=clip(x["justification"]),
            approver=x["approver"] or "—", expires=x["expires_at"].strftime("%Y-%m-%d") if x["expires_at"] else "—"))
    rows = []
    for c in listed:
        waived = register.get(c["change_id"], [])
        covered = {x.control_id for x in waived}
        basis = ("Register" if covered >= set(c["failed_controls"]) else "§5 emergency + register") if waived \
            else "§5 emergency"
        rows.append(ExceptionRow(
            change_id=c["change_id"], service=c["service"], category=c["category"],
            deployed_at=fmt_when(c["deployed_at"]), ticket=c["ticket_number"] or "no ticket",
            bypassed=failed_list(c) or "—",
            first_reason=clip(c["reasons"][0] if c["reasons"] else ""), basis=basis, register=tuple(waived)))
    return ExceptionSection(total=total, rows=rows, shown=len(rows),
                            more_note=_more_note(total, len(rows), "exceptions", csv_name, "exception"))


# --- how the population was obtained ---------------------------------------------------------

def _stream_key(subject_id: str) -> str:
    key = re.sub(r"(__|[.:\\])", "/", (subject_id or "").strip().lower())
    return key.removeprefix("raw/")


def stream_rows(con, run: dict) -> tuple[list[StreamRow], list[LabelValue]]:
    files = q.manifest_files(con, run)
    quarantined = q.quarantine_counts(con, run)
    ev03 = {_stream_key(r["subject_id"]): r for r in q.ev03_results(con, run["run_id"])}
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for f in files:
        grouped[(f["system"], f["stream"])].append(f)
    q_counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in quarantined:
        q_counts[(r["system"], r["stream"])] += int(r["n"])
    out = []
    for key in sorted(set(grouped) | set(q_counts)):
        entries = grouped.get(key, [])
        starts = [e["started_at"] or e["finished_at"] for e in entries
                  if e["started_at"] or e["finished_at"]]
        ends = [e["finished_at"] or e["started_at"] for e in entries
                if e["started_at"] or e["finished_at"]]
        if not starts:
            extracted = ["—"]
        elif min(starts) == max(ends):
            extracted = [fmt_dt(min(starts))]
        else:
            extracted = [f"{fmt_dt(min(starts))} –", fmt_dt(max(ends))]
        hashes = [short_hash(e["sha256"]) for e in entries]
        ev = ev03.get(f"{key[0]}/{key[1]}".lower())
        more = len(hashes) - HASHES_SHOWN
        out.append(StreamRow(
            system=system_name(key[0]), stream=key[1],
            extractions=len({e["run_id"] for e in entries}),
            extractions_label=plural(len({e["run_id"] for e in entries}), "extraction run"),
            extracted=extracted, records=sum(int(e["records"]) for e in entries),
            files=len(entries), files_label=plural(len(entries), "file"),
            hashes=hashes[:HASHES_SHOWN], hashes_more=f"+ {more:,} more" if more > 0 else "",
            quarantined=q_counts.get(key, 0),
            ev03=status_cell(ev) if ev else StatusCell(None, "Not evaluated", "st-missing", "")))
    reasons = [LabelValue(f"{system_name(r['system'])} / {r['stream']}: {clip(r['reason'], 160)}",
                          fmt_int(int(r["n"]))) for r in quarantined[:12]]
    return out, reasons
