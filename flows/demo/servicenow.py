"""ServiceNow Table API records (sysparm_display_value=false): every value a string, references
as {"link", "value"} (or "" when empty), dates "YYYY-MM-DD HH:MM:SS" in UTC."""
from __future__ import annotations

from flows.demo.clock import sn_time
from flows.demo.github_payloads import dumps
from flows.demo.model import Approval, ChangeRequest, Person

INSTANCE = "https://acme.service-now.com"


def ref(table: str, sys_id: str):
    return {"link": f"{INSTANCE}/api/now/table/{table}/{sys_id}", "value": sys_id} if sys_id else ""


class ServiceNowPayloads:
    def __init__(self, people: list[Person]):
        self.user_names = {p.sn_sys_id: p.user_name for p in people if p.sn_sys_id}

    def change_request(self, cr: ChangeRequest) -> dict:
        by = self.user_names.get(cr.opened_by, "admin")
        closed = cr.state == "3"
        return {
            "sys_id": cr.sys_id, "number": cr.number, "type": cr.type, "category": cr.category,
            "risk": cr.risk, "impact": cr.impact, "urgency": cr.impact, "priority": str(min(4, int(cr.impact) + 1)),
            "state": cr.state, "phase": "closed" if closed else "requested", "phase_state": "closed" if closed else "open",
            "short_description": cr.short_description, "description": cr.description,
            "justification": cr.justification, "implementation_plan": cr.implementation_plan,
            "backout_plan": cr.backout_plan, "test_plan": cr.test_plan, "risk_impact_analysis": cr.risk_impact_analysis,
            "change_plan": "", "reason": "", "requested_by": ref("sys_user", cr.requested_by),
            "opened_by": ref("sys_user", cr.opened_by), "assigned_to": ref("sys_user", cr.assigned_to),
            "assignment_group": "", "approval": cr.approval, "approval_set": sn_time(cr.updated_at) if cr.approval == "approved" else "",
            "start_date": sn_time(cr.start_date), "end_date": sn_time(cr.end_date), "work_start": sn_time(cr.start_date),
            "work_end": sn_time(cr.end_date) if closed else "", "close_code": cr.close_code, "close_notes": cr.close_notes,
            "closed_at": sn_time(cr.closed_at), "closed_by": ref("sys_user", cr.assigned_to) if closed else "",
            "review_date": sn_time(cr.review_date), "review_status": cr.review_status, "review_comments": "",
            "u_verbal_approver": ref("sys_user", cr.verbal_approver), "u_verbal_approved_at": sn_time(cr.verbal_approved_at),
            "opened_at": sn_time(cr.created_at), "active": "false" if closed or cr.state == "4" else "true",
            "cab_required": "false", "cab_date": "", "on_hold": "false", "production_system": "true",
            "outside_maintenance_schedule": "false", "unauthorized": "false", "conflict_status": "No Conflict",
            "business_service": "", "cmdb_ci": "", "chg_model": "", "std_change_producer_version": "",
            "upon_approval": "proceed", "upon_reject": "cancel", "escalation": "0", "made_sla": "true",
            "scope": "3", "sys_class_name": "change_request", "sys_domain": {"link": f"{INSTANCE}/api/now/table/sys_user_group/global", "value": "global"},
            "sys_created_on": sn_time(cr.created_at), "sys_created_by": by,
            "sys_updated_on": sn_time(cr.updated_at), "sys_updated_by": by, "sys_mod_count": "7" if closed else "2",
            "sys_tags": "",
        }

    def approval(self, a: Approval) -> dict:
        return {
            "sys_id": a.sys_id, "approver": ref("sys_user", a.approver_sys_id),
            "sysapproval": ref("task", a.change_sys_id), "document_id": ref("change_request", a.change_sys_id),
            "source_table": "change_request", "state": a.state, "comments": a.comments, "approval_source": "",
            "group": "", "iteration": "1", "order": "", "due_date": "", "expected_start": "", "wf_activity": "",
            "sys_created_on": sn_time(a.created_at), "sys_created_by": "system",
            "sys_updated_on": sn_time(a.updated_at), "sys_updated_by": self.user_names.get(a.approver_sys_id, "system"),
            "sys_mod_count": "0" if a.state == "requested" else "1",
        }

    @staticmethod
    def user(p: Person, created: int) -> dict:
        first, _, last = p.name.partition(" ")
        return {
            "sys_id": p.sn_sys_id, "user_name": p.user_name, "first_name": first, "last_name": last,
            "name": p.name, "email": p.email, "active": "true", "locked_out": "false",
            "title": {"eng_lead": "Engineering Lead", "senior_engineer": "Senior Software Engineer",
                      "engineer": "Software Engineer", "qa": "QA Engineer", "ciso": "Chief Information Security Officer",
                      "security": "Security Engineer"}.get(p.roles[0] if p.roles else "", ""),
            "department": "", "employee_number": p.person_id.replace("P", "E"), "time_zone": "UTC",
            "sys_created_on": sn_time(created), "sys_created_by": "admin",
            "sys_updated_on": sn_time(created), "sys_updated_by": "admin", "sys_class_name": "sys_user",
        }

    def table(self, records: list[dict]) -> str:
        return dumps({"result": records})
