"""The demo's change tickets as Jira Cloud issues (`generate(..., tickets="jira")`).

The same model the ServiceNow writer serves, as `GET /rest/api/3/search/jql?expand=changelog`
would return it: project CHG with keys `CHG-<n>`, issue types by id for the category, a risk
select field, text and date custom fields, and each `approved` approval row as a changelog
transition into an approved status (by the approver, at its time). Users are embedded
objects whose e-mail matches the people directory (Jira identities resolve by e-mail).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from flows.demo.github_payloads import dumps
from flows.demo.model import Approval, ChangeRequest, Org, Person

SITE = "https://acme.atlassian.net"
KEY_PATTERN = "CHG-[0-9]+"
ISSUE_TYPES = {"standard": ("10010", "Standard Change"), "normal": ("10011", "Normal Change"),
               "emergency": ("10012", "Emergency Change")}
OTHER_TYPE = ("10013", "Change")
RISKS = {"1": "Critical", "2": "High", "3": "Moderate", "4": "Low"}
STATUS = {"approved": ("10100", "Approved"), "rejected": ("10101", "Rejected"), "open": ("10001", "Open"),
          "done": ("10002", "Done"), "in_progress": ("3", "In Progress")}
FIELDS = {"risk": "customfield_10050", "justification": "customfield_10051", "implementation_plan": "customfield_10052",
          "backout_plan": "customfield_10053", "test_plan": "customfield_10054",
          "risk_impact_analysis": "customfield_10055", "requested_by": "customfield_10056",
          "approval": "customfield_10057", "start_date": "customfield_10058", "end_date": "customfield_10059",
          "close_code": "customfield_10060", "close_notes": "customfield_10061", "review_date": "customfield_10062",
          "review_status": "customfield_10063", "verbal_approver": "customfield_10064",
          "verbal_approved_at": "customfield_10065"}


def jira_time(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def account_id(sys_id: str) -> str:
    return "712020:" + hashlib.sha1(sys_id.encode(), usedforsecurity=False).hexdigest()[:24] if sys_id else ""


class JiraPayloads:
    def __init__(self, people: list[Person]):
        self.people = {p.sn_sys_id: p for p in people if p.sn_sys_id}
        self._history = 0

    def user(self, sys_id: str) -> dict | None:
        if not sys_id:
            return None
        person = self.people.get(sys_id)
        user = {"self": f"{SITE}/rest/api/3/user?accountId={account_id(sys_id)}", "accountId": account_id(sys_id),
                "accountType": "atlassian", "active": True, "timeZone": "Etc/UTC",
                "displayName": person.name if person else "Former employee"}
        if person and person.email:
            user["emailAddress"] = person.email
        return user

    def issue(self, issue_id: int, cr: ChangeRequest, approvals: list[Approval]) -> dict:
        type_id, type_name = ISSUE_TYPES.get(cr.type, OTHER_TYPE)
        closed = cr.state == "3"
        status = STATUS["done"] if closed else STATUS["approved"] if cr.approval == "approved" else STATUS["open"]
        fields = {
            "summary": cr.short_description, "issuetype": {"id": type_id, "name": type_name, "subtask": False},
            "project": {"id": "10000", "key": "CHG", "name": "Change Management"},
            "status": {"id": status[0], "name": status[1]},
            "priority": {"id": "3", "name": "Medium"},
            "created": jira_time(cr.created_at), "updated": jira_time(cr.updated_at),
            "resolutiondate": jira_time(cr.closed_at) if closed else None,
            "resolution": {"id": "10000", "name": "Done"} if closed else None,
            "reporter": self.user(cr.opened_by), "creator": self.user(cr.opened_by),
            "assignee": self.user(cr.assigned_to),
            "description": _adf(cr.description),
            FIELDS["risk"]: {"value": RISKS.get(cr.risk, cr.risk), "id": str(10200 + int(cr.risk or 0))} if cr.risk else None,
            FIELDS["justification"]: cr.justification or None,
            FIELDS["implementation_plan"]: cr.implementation_plan or None,
            FIELDS["backout_plan"]: cr.backout_plan or None, FIELDS["test_plan"]: cr.test_plan or None,
            FIELDS["risk_impact_analysis"]: cr.risk_impact_analysis or None,
            FIELDS["requested_by"]: self.user(cr.requested_by),
            FIELDS["approval"]: {"value": cr.approval} if cr.approval else None,
            FIELDS["start_date"]: jira_time(cr.start_date), FIELDS["end_date"]: jira_time(cr.end_date),
            FIELDS["close_code"]: {"value": cr.close_code} if cr.close_code else None,
            FIELDS["close_notes"]: cr.close_notes or None, FIELDS["review_date"]: jira_time(cr.review_date),
            FIELDS["review_status"]: {"value": cr.review_status} if cr.review_status else None,
            FIELDS["verbal_approver"]: self.user(cr.verbal_approver),
            FIELDS["verbal_approved_at"]: jira_time(cr.verbal_approved_at),
        }
        histories = [self._history_of(a) for a in approvals if a.state in ("approved", "rejected")]
        histories.sort(key=lambda h: (h["created"], h["id"]), reverse=True)        # Jira: newest first
        return {"id": str(issue_id), "key": cr.number, "self": f"{SITE}/rest/api/3/issue/{issue_id}",
                "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                "fields": fields,
                "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}}

    def _history_of(self, a: Approval) -> dict:
        self._history += 1
        to = STATUS[a.state]
        return {"id": str(500000 + self._history), "author": self.user(a.approver_sys_id), "created": jira_time(a.updated_at),
                "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": STATUS["in_progress"][0],
                           "fromString": STATUS["in_progress"][1], "to": to[0], "toString": to[1]}]}


def search_json(org: Org) -> str:
    payloads = JiraPayloads(org.people)
    by_ticket: dict[str, list[Approval]] = {}
    for a in sorted(org.approvals, key=lambda a: (a.updated_at, a.sys_id)):
        by_ticket.setdefault(a.change_sys_id, []).append(a)
    crs = sorted(org.change_requests, key=lambda c: c.number)
    issues = [payloads.issue(20000 + i, cr, by_ticket.get(cr.sys_id, [])) for i, cr in enumerate(crs)]
    return dumps({"issues": issues})


def write_jira(files, org: Org) -> None:
    files.put("jira/rest/api/3/search/jql.json", search_json(org))


def source_toml() -> str:
    fields = "\n".join(f'{name} = "{field}"' for name, field in FIELDS.items())
    categories = ", ".join(f'"{type_id}" = "{cat}"' for cat, (type_id, _) in ISSUE_TYPES.items())
    return f"""[sources.jira]
base_url = "file://sample/jira"
deployment = "cloud"
jql = "project = CHG"
approved_status_ids = ["{STATUS['approved'][0]}"]
categories = {{ {categories} }}
risks = {{ "Critical" = "1", "High" = "2", "Moderate" = "3", "Low" = "4" }}

[sources.jira.fields]
{fields}
"""


def jira_config_toml(text: str) -> str:
    """The ServiceNow demo config with Jira as the ticketing source and Jira-style keys."""
    old_source = '[sources.servicenow]\nbase_url = "file://sample/servicenow"\n'
    old_pattern = 'ticket_key_pattern = "CHG[0-9]{7}"'
    if old_source not in text or old_pattern not in text:
        raise ValueError("demo config layout changed: cannot switch it to Jira")
    # the [sources.jira.fields] table must come last among the sources: put the block before [policy]
    text = text.replace(old_source, "").replace(old_pattern, f'ticket_key_pattern = "{KEY_PATTERN}"')
    marker = "# SOC2-CHG-001 defaults"
    return text.replace(marker, source_toml() + "\n" + marker, 1)


def _adf(text: str) -> dict | None:
    """Atlassian Document Format, as Cloud v3 returns rich-text fields."""
    if not text:
        return None
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in text.split("\n") if line]
    return {"type": "doc", "version": 1, "content": paragraphs}
