"""PagerDuty REST v2 bodies: incidents (priority as a reference object, service summary = the
repository name) and each incident's log entries (annotate entries carry the note text)."""
from __future__ import annotations

from flows.demo.clock import gh_time
from flows.demo.github_payloads import dumps
from flows.demo.model import Incident, LogEntry

API, WEB = "https://api.pagerduty.com", "https://acme.pagerduty.com"
PRIORITIES = {"P1": "PQ1Y9QZ", "P2": "PQ2J8X5", "P3": "PQ3M7V2", "P4": "PQ4K6T8", "P5": "PQ5H5R1"}


def _ref(kind: str, ident: str, summary: str, path: str) -> dict:
    return {"id": ident, "type": f"{kind}_reference", "summary": summary, "self": f"{API}/{path}/{ident}",
            "html_url": f"{WEB}/{path}/{ident}"}


class PagerDutyPayloads:
    def __init__(self, names: dict[str, str]):
        self.names = names          # PagerDuty user id -> name

    def incident(self, i: Incident) -> dict:
        summary = f"[#{i.number}] {i.title}"
        last = i.resolved_at or i.created_at
        responder = next((e.agent_pd_id for e in i.log_entries if e.agent_pd_id), "")
        return {
            "incident_number": i.number, "title": i.title, "description": i.title,
            "created_at": gh_time(i.created_at), "updated_at": gh_time(last), "status": i.status,
            "incident_key": f"{i.id.lower()}{i.number:x}", "service": _ref("service", i.service_id, i.service_name, "services"),
            "assignments": [], "assigned_via": "escalation_policy",
            "last_status_change_at": gh_time(last),
            "resolved_at": gh_time(i.resolved_at) if i.resolved_at else None,
            "first_trigger_log_entry": _ref("trigger_log_entry", i.log_entries[0].id, "Triggered through the API.",
                                            f"incidents/{i.id}/log_entries"),
            "alert_counts": {"all": 1, "triggered": 0, "resolved": 1}, "is_mergeable": True,
            "escalation_policy": _ref("escalation_policy", "PESC" + i.service_id[1:4], f"{i.service_name} on-call",
                                      "escalation_policies"),
            "teams": [], "pending_actions": [], "acknowledgements": [], "basic_alert_grouping": None,
            "alert_grouping": None,
            "last_status_change_by": _ref("user", responder, self.names.get(responder, ""), "users") if responder else None,
            "priority": ({"id": PRIORITIES[i.priority], "type": "priority", "summary": i.priority,
                          "self": f"{API}/priorities/{PRIORITIES[i.priority]}", "html_url": None,
                          "account_id": "PACME01", "color": "a8171c", "created_at": "2024-01-10T09:00:00Z",
                          "description": "", "name": i.priority, "order": 64, "schema_version": 0,
                          "updated_at": "2024-01-10T09:00:00Z"} if i.priority else None),
            "urgency": i.urgency, "id": i.id, "type": "incident", "summary": summary,
            "self": f"{API}/incidents/{i.id}", "html_url": f"{WEB}/incidents/{i.id}",
        }

    def log_entry(self, i: Incident, e: LogEntry) -> dict:
        agent = (_ref("user", e.agent_pd_id, self.names.get(e.agent_pd_id, ""), "users") if e.agent_pd_id
                 else {"id": "PINTEG1", "type": "generic_events_api_inbound_integration_reference",
                       "summary": "Datadog", "self": f"{API}/services/{i.service_id}/integrations/PINTEG1",
                       "html_url": f"{WEB}/services/{i.service_id}/integrations/PINTEG1"})
        summary = {"trigger_log_entry": "Triggered through the API.",
                   "acknowledge_log_entry": f"Acknowledged by {agent['summary']}.",
                   "annotate_log_entry": f"Note added by {agent['summary']}.",
                   "resolve_log_entry": f"Resolved by {agent['summary']}."}[e.type]
        channel = {"type": "note", "summary": e.note, "content": e.note} if e.type == "annotate_log_entry" else \
            {"type": "api" if e.type == "trigger_log_entry" else "website"}
        return {"id": e.id, "type": e.type, "summary": summary, "self": f"{API}/log_entries/{e.id}",
                "html_url": None, "created_at": gh_time(e.created_at), "agent": agent, "channel": channel,
                "service": _ref("service", i.service_id, i.service_name, "services"),
                "incident": _ref("incident", i.id, f"[#{i.number}] {i.title}", "incidents"),
                "teams": [], "contexts": [], "event_details": {}}

    def incidents_json(self, incidents: list[Incident]) -> str:
        items = sorted(incidents, key=lambda i: i.created_at)
        return dumps({"incidents": [self.incident(i) for i in items], "limit": len(items), "offset": 0,
                      "total": len(items), "more": False})

    def log_entries_json(self, i: Incident) -> str:
        entries = sorted(i.log_entries, key=lambda e: e.created_at, reverse=True)
        return dumps({"log_entries": [self.log_entry(i, e) for e in entries], "limit": 100, "offset": 0,
                      "more": False, "total": None})
