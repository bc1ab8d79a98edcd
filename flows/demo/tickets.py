"""ServiceNow change requests with their approvals, and PagerDuty incidents with log entries."""
from __future__ import annotations

import random

from flows.demo import text
from flows.demo.clock import DAY, HOUR, MINUTE, Ids
from flows.demo.model import Approval, ChangeRequest, Incident, LogEntry, Org, Person

PIR_NOTES = [
    "Post-incident review held {day}: root cause was {cause}. Action items filed.",
    "POST-INCIDENT REVIEW completed; {cause}. Follow-ups tracked in the team backlog.",
    "Post-Incident Review: {cause}; rollback verified, alerts tuned.",
]
CAUSES = ["a connection pool regression", "an unguarded null in the serializer", "a bad feature flag default",
          "a missing index after the migration", "a retry storm against the upstream"]
OTHER_NOTES = ["Rolled back, monitoring.", "Error rate back to baseline.", "Customer impact limited to EU tenants.",
               "Paged the owning team.", "Status page updated."]


class Tickets:
    def __init__(self, rng: random.Random, ids: Ids, org: Org):
        self.rng, self.ids, self.org = rng, ids, org
        self._next = 31000 + rng.randint(0, 900)
        self._missing = 98000 + rng.randint(0, 900)
        self.key_style = "servicenow"       # "jira": project keys CHG-<n> instead of CHG<7 digits>

    def _key(self, n: int) -> str:
        return f"CHG-{n}" if self.key_style == "jira" else f"CHG{n:07d}"

    def number(self) -> str:
        self._next += 1
        return self._key(self._next)

    def missing_number(self) -> str:
        """A well-formed key no change request will ever carry."""
        self._missing += 1
        return self._key(self._missing)

    def change_request(self, number: str, type_: str, risk: str, title: str, service: str,
                       requester: Person, created: int, deploy_at: int, approval: str = "approved",
                       state: str = "3") -> ChangeRequest:
        rng = self.rng
        closed = deploy_at + rng.randint(HOUR, 20 * HOUR) if state == "3" else None
        cr = ChangeRequest(
            sys_id=self.ids.sys_id(), number=number, type=type_, risk=risk,
            impact=rng.choice(["2", "3", "3"]), state=state, **text.change_texts(rng, title, service),
            requested_by=requester.sn_sys_id, opened_by=requester.sn_sys_id, assigned_to=requester.sn_sys_id,
            approval=approval, start_date=deploy_at - HOUR, end_date=deploy_at + 2 * HOUR,
            close_code="successful" if state == "3" else "", close_notes="Deployed and verified." if state == "3" else "",
            closed_at=closed, review_date=None, review_status="", verbal_approver="", verbal_approved_at=None,
            created_at=created, updated_at=max(created, closed or created),
        )
        self.org.change_requests.append(cr)
        return cr

    def apply_content_injections(self, cr: ChangeRequest, flags: set[str], service: str, deploy_at: int) -> None:
        """CM-11 (empty fields), CM-12 (rollback plan missing a part), CM-21 (never closed, closed
        after the deadline) on an otherwise complete ticket."""
        for flag, column in (("ticket_missing_test_plan", "test_plan"),
                             ("ticket_missing_risk_assessment", "risk_impact_analysis"),
                             ("ticket_empty_description", "description"),
                             ("ticket_missing_rollback_plan", "backout_plan")):
            if flag in flags:
                setattr(cr, column, "")
        if "rollback_plan_missing_owner" in flags:
            cr.backout_plan = text.backout_plan(service, omit="owner")
        if "rollback_plan_missing_estimate" in flags:
            cr.backout_plan = text.backout_plan(service, omit="time_estimate")
        if "ticket_never_closed" in flags:      # implemented, never closed: state Implement (-1)
            cr.state, cr.close_code, cr.close_notes, cr.closed_at = "-1", "", "", None
            cr.updated_at = max(cr.created_at, deploy_at + self.rng.randint(HOUR, 3 * HOUR))
        if "ticket_closed_late" in flags:       # after the 5-day closing deadline (policy default)
            cr.closed_at = deploy_at + self.rng.randint(6 * DAY, 12 * DAY)
            cr.updated_at = max(cr.updated_at, cr.closed_at)

    def approve(self, cr: ChangeRequest, person: Person, at: int, state: str = "approved") -> Approval:
        comments = {"approved": "Approved.", "rejected": "Rejected: rollback plan incomplete.",
                    "requested": "", "not_required": "Not required for this change."}[state]
        row = Approval(self.ids.sys_id(), cr.sys_id, person.sn_sys_id, state, comments,
                       min(at, cr.created_at + 5 * MINUTE), at)
        self.org.approvals.append(row)
        cr.updated_at = max(cr.updated_at, at)
        return row

    def incident(self, service: str, service_id: str, created: int, priority: str | None,
                 responder: Person, notes: list[tuple[int, str]], title: str | None = None) -> Incident:
        rng = self.rng
        resolved = created + rng.randint(20 * MINUTE, 6 * HOUR)
        incident = Incident(
            id=self.ids.upper("Q", 13), number=0, title=f"{service}: {title or rng.choice(text.INCIDENT_TITLES)}",
            status="resolved", urgency="high" if priority in ("P1", "P2") else "low", priority=priority,
            service_id=service_id, service_name=service, created_at=created, resolved_at=resolved,
        )
        ack = created + rng.randint(MINUTE, 10 * MINUTE)
        entries = [LogEntry(self.ids.upper("R", 25), "trigger_log_entry", created, ""),
                   LogEntry(self.ids.upper("R", 25), "acknowledge_log_entry", ack, responder.pd_id)]
        entries += [LogEntry(self.ids.upper("R", 25), "annotate_log_entry", at, responder.pd_id, note)
                    for at, note in notes]
        entries.append(LogEntry(self.ids.upper("R", 25), "resolve_log_entry", resolved, responder.pd_id))
        incident.log_entries = sorted(entries, key=lambda e: e.created_at)
        self.org.incidents.append(incident)
        return incident

    def review_notes(self, created: int, with_review: bool) -> list[tuple[int, str]]:
        rng = self.rng
        notes = [(created + rng.randint(5 * MINUTE, 30 * MINUTE), rng.choice(OTHER_NOTES))]
        if with_review:
            at = created + rng.randint(DAY, 5 * DAY)
            note = rng.choice(PIR_NOTES).format(day="on the next business day", cause=rng.choice(CAUSES))
            notes.append((at, note))
        return notes
