"""Build the emergency-change report's context from one evaluation run (see model.py)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta, timezone

import duckdb

from reports.quarterly import sql as q
from reports.document import (DocumentMeta, fmt_dt, fmt_int, fmt_rate, outcome_css,
                              outcome_label, parse_period, plural, status_css, status_label)
from reports.emergency import sql
from reports.emergency.model import (Check, EmergencyChange, EmergencyContext, Figure, Gate,
                                     Incident, OpenEmergency, QuarterCount)
from warehouse.runner import EMERGENCY_BYPASSABLE

DOC_LIMIT_HOURS = 24
REVIEW_LIMIT_DAYS = 5


def file_stem(period_key: str) -> str:
    return f"changetrail-{period_key}-emergency"


def _naive(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _person(directory: dict, person_id: str | None) -> str:
    if not person_id:
        return "none recorded"
    found = directory.get(person_id)
    if not found:
        return f"{person_id} (not in the people directory)"
    roles = ", ".join(found["roles"]) or "no role"
    return f"{found['name']} ({person_id}, {roles})"


def _duration(hours: float) -> str:
    if hours < 0:
        return "overdue"
    days, rest = divmod(int(round(hours)), 24)
    return (f"{plural(days, 'day')} {rest} h" if days else f"{rest} h")


def build_context(con: duckdb.DuckDBPyConnection, period: str, organization: str,
                  run_id: str | None = None, *, generated_at: datetime | None = None,
                  documentation_hours: int = DOC_LIMIT_HOURS,
                  review_business_days: int = REVIEW_LIMIT_DAYS,
                  incident_window_hours: int = 24) -> EmergencyContext:
    p = parse_period(period)
    run = q.evaluation_run(con, p, run_id)
    rid = run["run_id"]
    found = sql.emergency_changes(con, rid, p.key)
    ids = [r["change_id"] for r in found]
    gates = defaultdict(list)
    for g in sql.failed_gates(con, rid, ids, list(EMERGENCY_BYPASSABLE)):
        gates[g["subject_id"]].append(g)
    reviewed = [(r["change_id"], r["deployed_at"].date(), r["review_date"].date())
                for r in found if r["review_date"] is not None and r["deployed_at"] is not None]
    business_days = sql.business_days_between(con, reviewed)
    signoffs = defaultdict(list)
    for s in sql.signoff_times(con, sorted({r["ticket_number"] for r in found if r["ticket_number"]})):
        signoffs[s["ticket_number"]].append(s)
    incident_rows = sql.incidents_near(con, [(r["change_id"], r["service"], r["deployed_at"]) for r in found],
                                       incident_window_hours)
    incidents = defaultdict(list)
    for i in incident_rows or []:
        incidents[i["change_id"]].append(Incident(i["number"], i["priority"], i["title"],
                                                  fmt_dt(i["created_at"]), i["url"]))
    person_ids = {r["verbal_approver"] for r in found if r["verbal_approver"]}
    person_ids |= {pid for r in found for pid in r["signoff_people"]}
    directory = sql.people(con, sorted(person_ids))

    changes = [_change(r, gates[r["change_id"]], business_days.get(r["change_id"]),
                       signoffs.get(r["ticket_number"], []), incidents[r["change_id"]], directory,
                       documentation_hours, review_business_days) for r in found]
    evaluated = max((_naive(r["evaluated_at"]) for r in found if r["evaluated_at"]), default=None) \
        or _naive(run["started_at"])
    open_changes = _open(found, evaluated)
    quarters, quarters_note = _quarters(con, p, rid)

    closed = sum(1 for c in changes if c.outcome in ("Exception", "Compliant"))
    late_docs = sum(1 for c in changes if c.documentation_late)
    late_reviews = sum(1 for c in changes if c.review_late)
    no_signoff = sum(1 for c in changes if c.checks[2].label == "Fail")
    bypassed = sum(len(c.gates) for c in changes)
    figures = [Figure("Emergency changes", len(changes), fmt_int(len(changes)), "st-emergency"),
               Figure("Closed out under §5", closed, fmt_int(closed), "st-pass"),
               Figure("Violations", len(changes) - closed, fmt_int(len(changes) - closed), "st-fail"),
               Figure("Deadlines still running", len(open_changes), fmt_int(len(open_changes)))]
    statements = [
        f"{plural(len(changes), 'emergency change')} in {p.short_label}: {closed:,} closed out under §5, "
        f"{len(changes) - closed:,} violations.",
        f"{plural(late_docs, 'change')} documented later than {documentation_hours} h; "
        f"{plural(late_reviews, 'change')} reviewed late or not at all; "
        f"{plural(no_signoff, 'change')} without a valid verbal approval or retroactive sign-off.",
        f"{plural(bypassed, 'failed gate')} of §3 on emergency changes "
        f"({sum(len(c.gates) for c in changes if c.outcome == 'Exception'):,} excepted under §5).",
        quarters_note or ("Earlier quarters: " + "; ".join(
            f"{x.period} {x.emergencies:,}" for x in quarters if not x.is_current) + "."),
    ]
    limits = [
        f"Hours to documentation: the ticket's creation time minus the deployment time (CM-14, limit {documentation_hours} h).",
        f"Business days to review: the warehouse's business-day calendar (Mon–Fri without the configured "
        f"holidays) counted after the deployment day up to the review date (CM-15, limit {review_business_days}).",
        "Retroactive sign-off: an approved approval of the ticket by a holder of the sign-off roles (CM-16); "
        "its time is the approval's last update.",
        f"Incidents: PagerDuty incidents on the change's service created within {incident_window_hours} h of "
        "the deployment (the CM-17 matching rule)."
        + ("" if incident_rows is not None else " No PagerDuty data in this warehouse."),
    ]
    generated = fmt_dt(generated_at or datetime.now(timezone.utc))
    stem = file_stem(p.key)
    document = DocumentMeta(title="Emergency changes", subtitle="SOC2-CHG-001 §5 · report to the CISO",
                            organization=organization, period_label=p.label, generated_at=generated,
                            run_id=rid, footer_note=f"{organization} · {p.short_label} · evaluation run {rid}")
    return EmergencyContext(document=document, period=p, organization=organization, run_id=rid,
                            evaluated_at=fmt_dt(evaluated), figures=figures, statements=statements,
                            changes=changes, open_changes=open_changes, quarters=quarters,
                            quarters_note=quarters_note, limits=limits,
                            csv_name=f"{stem}.csv", xlsx_name=f"{stem}.xlsx")


def _change(r, gate_rows, business_days, signoff_rows, incidents, directory, doc_hours,
            review_days) -> EmergencyChange:
    deployed, documented = r["deployed_at"], r["documented_at"]
    hours = None if deployed is None or documented is None else (documented - deployed).total_seconds() / 3600
    if r["review_date"] is not None:
        days = "—" if business_days is None else f"{business_days} of {review_days} business days"
        review_label = f"{days} (due {r['deadline'] or '—'})"
    else:
        review_label = f"not reviewed (due {r['deadline'] or '—'})"
    wanted = set(r["signoff_people"])
    signed = [s for s in signoff_rows if s["person_id"] in wanted]
    signoff = "; ".join(f"{_person(directory, s['person_id'])} {fmt_dt(s['approved_at'])}" for s in signed) \
        or ("none" if not wanted else ", ".join(_person(directory, x) for x in sorted(wanted)))
    excepted = r["outcome"] == "exception"
    checks = [Check(cid, status_label(r[f"s{cid[-2:]}"]), status_css(r[f"s{cid[-2:]}"]),
                    r[f"reason{cid[-2:]}"] or "") for cid in sql.CLOSE_OUT]
    return EmergencyChange(
        change_id=r["change_id"], service=r["service"], team=r["team"], deployed_at=fmt_dt(deployed),
        deployed=deployed, ticket=r["ticket_number"] or "—", ticket_url=r["ticket_url"] or "",
        deployment_url=r["deployment_url"] or "",
        verbal_approver=_person(directory, r["verbal_approver"]),
        verbal_approved_at=fmt_dt(r["verbal_approved_at"]), documented_at=fmt_dt(documented),
        hours_to_documentation=None if hours is None else round(hours, 1),
        hours_label="—" if hours is None else f"{hours:.1f} h of {doc_hours} h",
        documentation_late=hours is not None and hours > doc_hours,
        review_date=fmt_dt(r["review_date"]), review_deadline=str(r["deadline"] or "—"),
        business_days_to_review=business_days, review_label=review_label,
        review_late=r["s15"] == "fail", signoff=signoff, checks=checks,
        gates=[Gate(g["control_id"], g["title"], g["reason"], excepted) for g in gate_rows],
        incidents=incidents, outcome=outcome_label(r["outcome"]), outcome_css=outcome_css(r["outcome"]))


def _open(found, evaluated: datetime | None) -> list[OpenEmergency]:
    """CM-15 not yet applicable: no review recorded and the deadline not passed at evaluation."""
    out = []
    for r in found:
        if r["s15"] != "not_applicable" or r["review_date"] is not None or r["deadline"] is None:
            continue
        ends = datetime.combine(r["deadline"] + timedelta(days=1), time())
        at = _naive(r["evaluated_at"]) or evaluated     # when the warehouse judged the deadline
        left = (ends - at).total_seconds() / 3600 if at else 0.0
        missing = ["post-hoc review"] + (["retroactive sign-off"] if r["s16"] == "fail" else [])
        out.append(OpenEmergency(r["change_id"], r["service"], fmt_dt(r["deployed_at"]), r["deadline"],
                                 f"{r['deadline']} (end of day UTC)", round(left, 1), _duration(left),
                                 ", ".join(missing)))
    return sorted(out, key=lambda o: (o.deadline, o.change_id))


def _quarters(con, p, rid) -> tuple[list[QuarterCount], str]:
    out = []
    for key in sql.evaluated_periods(con):
        if key > p.key:
            continue
        other = parse_period(key)
        run = q.evaluation_run(con, other, rid if key == p.key else None)
        n = sql.quarter_counts(con, run["run_id"], key)
        out.append(QuarterCount(other.short_label, run["run_id"], int(n["changes"]), int(n["emergencies"]),
                                int(n["closed"]), int(n["violations"]),
                                fmt_rate(int(n["emergencies"]), int(n["changes"])), key == p.key))
    note = "" if len(out) > 1 else (f"No earlier data: the warehouse holds no evaluation of a quarter "
                                    f"before {p.short_label}, so there is nothing to compare with.")
    return out[-5:], note
