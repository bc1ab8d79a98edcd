"""The control rules of ``warehouse/README.md`` for the reference evaluation, one method per
control returning ``None`` (pass) or ``(status, reason)``. Mixed into
:class:`flows.demo.truth.Evaluator`, which provides the indexes they read."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flows.demo.clock import DAY, HOUR, add_business_days, day_of
from flows.demo.model import ChangeRequest, Person, PullRequest

if TYPE_CHECKING:
    from flows.demo.truth import Change

COAUTHOR = re.compile(r"^Co-authored-by:\s*(.*?)\s*<([^>]+)>\s*$", re.IGNORECASE | re.MULTILINE)


def _text(value: str | None) -> bool:
    """Non-blank, as the SQL's regexp_matches(value, '\\S') (RE2 \\s is ASCII whitespace)."""
    return bool(value) and re.search(r"[^\t\n\f\r ]", value) is not None


def _prefixed(keys: list[str], prefix: str) -> str:
    return f"{prefix}{', '.join(keys)}" if keys else ""


class ControlRules:
    def cm01(self, c: Change):
        if c.ticket is None:
            if self.evaluated_at < c.deployed_at + self.policy.emergency_documentation_hours * HOUR:
                return "not_applicable", "documentation deadline not reached"     # §5: may still be documented
            missing = sorted({k for _, k in c.found if k not in self.tickets})
            return "fail", "no change ticket linked" + _prefixed(missing, "; keys not in ServiceNow: ")

    def _deployer(self, c: Change) -> tuple[Person | None, str]:
        """The accountable human behind the deployment, and a failure reason when there is none."""
        person = self.ids.login(c.deployer_login)
        if person is None:
            return None, f"deployer {c.deployer_login} not in the people directory"
        if person.kind == "human":
            return person, ""
        if person.kind == "shared":
            return None, f"shared account {c.deployer_login}"
        trigger = self.ids.login(c.deployment.payload.get("triggered_by"))
        if trigger is not None and trigger.kind == "human":
            return trigger, ""
        return None, f"service account {c.deployer_login} with no human trigger"

    def cm02(self, c: Change):
        person, reason = self._deployer(c)
        if person is None:
            return "fail", reason

    def _authors(self, pr: PullRequest, with_committers: bool) -> set[str]:
        keys = {self.ids.key_login(pr.author_login)}
        for commit in pr.commits:
            keys |= {self.ids.key_login(commit.author_login), self.ids.key_email(commit.author_email)}
            if with_committers:
                keys |= {self.ids.key_login(commit.committer_login),
                         self.ids.key_email(commit.committer_email)}
            keys |= {self.ids.key_email(email) for _, email in COAUTHOR.findall(commit.message)}
        keys.discard(None)
        return keys

    def cm03(self, c: Change):
        if c.is_rollback:
            return "not_applicable", "rollback"
        reasons = [f"direct push {sha[:12]}" for sha in c.direct]
        for pr in c.prs:
            excluded = self._authors(pr, with_committers=False)
            if not any(r.state == "APPROVED" and r.submitted_at < pr.merged_at
                       and self.ids.key_login(r.login) not in excluded for r in pr.reviews):
                reasons.append(f"PR #{pr.number} has no independent approval")
        if reasons:
            return "fail", "; ".join(reasons)

    def valid_approvers(self, pr: PullRequest) -> set[str]:
        excluded = self._authors(pr, with_committers=True)
        latest = {}
        for review in sorted(pr.reviews, key=lambda r: (r.submitted_at, r.id)):
            if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[review.login] = review
        valid = set()
        for login, review in latest.items():
            key = self.ids.key_login(login)
            if (review.state == "APPROVED" and review.commit_id == pr.head_sha
                    and review.submitted_at <= pr.merged_at and key not in excluded):
                valid.add(key)
        return valid

    def cm04(self, c: Change):
        if c.is_rollback:
            return "not_applicable", "rollback"
        if not c.prs:
            return "not_applicable", "no linked pull request"
        reasons = []
        for pr in c.prs:
            valid = self.valid_approvers(pr)
            if len(valid) < self.policy.min_reviewers:
                reasons.append(f"PR #{pr.number}: {len(valid)} valid approver(s)")
            elif not any(set(self.people[k].roles) & set(self.policy.senior_roles)
                         for k in valid if k in self.people):
                reasons.append(f"PR #{pr.number}: no senior approver")
        if reasons:
            return "fail", "; ".join(reasons)

    def cm05(self, c: Change):
        if c.is_rollback:
            return "not_applicable", "rollback"
        runs = self.org.check_runs.get((c.repo, c.sha), [])
        reasons = []
        for name in self.policy.required_checks:
            named = [r for r in runs if r.name == name]
            done = [r for r in named if r.completed_at is not None and r.completed_at <= c.deployed_at]
            if not named:
                reasons.append(f"{name}: missing")
            elif not done:
                reasons.append(f"{name}: pending")
            elif max(done, key=lambda r: (r.completed_at, r.id)).conclusion != "success":
                reasons.append(f"{name}: failing")
        if reasons:
            return "fail", "; ".join(reasons)

    @staticmethod
    def severity(rule, result) -> str:
        value = rule.security_severity if rule else None
        if value not in (None, ""):
            try:
                score = float(value)
            except ValueError:
                return value.strip().lower()
            if score >= 9.0:
                return "critical"
            if score >= 7.0:
                return "high"
            if score >= 4.0:
                return "medium"
            if score > 0:
                return "low"
        level = result.level or (rule.level if rule else None) or "warning"
        return {"error": "high", "warning": "medium", "note": "low"}.get(level, "none")

    @staticmethod
    def suppressed(result) -> bool:
        return bool(result.suppressions) and not any(
            s.get("status") in ("rejected", "underReview") for s in result.suppressions)

    def cm08(self, c: Change):
        if c.is_rollback:
            return "not_applicable", "rollback"
        runs = [r for r in self.scans.get((c.repo, c.sha), []) if r.end_time <= c.deployed_at]
        if not runs:
            return "fail", "no scan"
        blocking = []
        for run in runs:
            rules = {rule.id: rule for rule in run.rules}
            for result in run.results:
                sev = self.severity(rules.get(result.rule_id), result)
                if sev in self.policy.blocking_severities and not self.suppressed(result):
                    blocking.append(f"{sev} {result.rule_id}")
        if blocking:
            return "fail", "unsuppressed findings: " + ", ".join(sorted(blocking))

    def cm09(self, c: Change):
        if c.is_rollback or c.category in ("Standard", "Emergency"):
            return "not_applicable", "rollback" if c.is_rollback else c.category
        for d in self.staging.get((c.repo, c.sha), []):
            if any(s.state == "success" and s.created_at < c.deployed_at for s in d.statuses):
                return None
        return "fail", "no successful staging deployment of the same sha before production"

    def _approvers(self, ticket: ChangeRequest, before: int | None) -> list[Person]:
        rows = [a for a in self.approvals[ticket.sys_id] if a.state == "approved"
                and (before is None or a.updated_at <= before)]
        return [p for p in (self.ids.by_sys_id.get(a.approver_sys_id) for a in rows) if p]

    def cm10(self, c: Change):
        if c.is_rollback or c.ticket is None or c.is_emergency:
            return "not_applicable", "rollback" if c.is_rollback else ("no ticket" if c.ticket is None else "Emergency")
        if c.category == "Standard":
            return None if c.ticket.approval == "approved" else ("fail", f"standard change approval is '{c.ticket.approval}'")
        if c.category == "unknown":
            return "fail", f"change type '{c.ticket.type}' is not a policy category"
        second = "qa" if c.category == "Normal" else "ciso"
        approvers = self._approvers(c.ticket, c.deployed_at)
        leads = {p.person_id for p in approvers if "eng_lead" in p.roles}
        others = {p.person_id for p in approvers if second in p.roles}
        if not any(a != b for a in leads for b in others):
            return "fail", f"{c.category} change lacks eng_lead + {second} approval before deployment"

    def cm11(self, c: Change):
        if c.is_rollback or c.ticket is None:
            return "not_applicable", "rollback" if c.is_rollback else "no ticket"
        t = c.ticket
        fields = [("description", t.description), ("scope (implementation_plan)", t.implementation_plan),
                  ("risk assessment (risk_impact_analysis)", t.risk_impact_analysis),
                  ("testing plan (test_plan)", t.test_plan), ("rollback plan (backout_plan)", t.backout_plan)]
        missing = [name for name, value in fields if not _text(value)]
        if missing:
            return "fail", f"{t.number} lacks {', '.join(missing)}"

    def cm12(self, c: Change):
        if c.is_rollback or c.ticket is None or not _text(c.ticket.backout_plan):
            return "not_applicable", "rollback" if c.is_rollback else "no ticket" if c.ticket is None else "no plan"
        missing = [part for part, pattern in self.policy.rollback_plan_parts
                   if not re.search(pattern, c.ticket.backout_plan)]
        if missing:
            return "fail", f"rollback plan of {c.ticket.number} lacks {', '.join(missing)}"

    def cm21(self, c: Change):
        if c.is_rollback or c.ticket is None:
            return "not_applicable", "rollback" if c.is_rollback else "no ticket"
        t, deadline = c.ticket, c.deployed_at + self.policy.closing_deadline_days * DAY
        if _text(t.close_code) and t.closed_at is not None:
            if t.closed_at > deadline:
                return "fail", f"{t.number} closed after the deadline"
            return None
        if self.evaluated_at <= deadline:
            return "not_applicable", "closing deadline not reached"
        return "fail", f"{t.number} not closed with an outcome"

    def cm14(self, c: Change):
        if not c.is_emergency:
            return "not_applicable", "not an emergency change"
        if c.ticket.created_at > c.deployed_at + self.policy.emergency_documentation_hours * HOUR:
            return "fail", "emergency change documented more than 24 h after deployment"

    def cm15(self, c: Change):
        if not c.is_emergency:
            return "not_applicable", "not an emergency change"
        deadline = add_business_days(day_of(c.deployed_at), self.policy.emergency_review_business_days,
                                     self.policy.holidays)
        if c.ticket.review_date is None:
            if day_of(self.evaluated_at) <= deadline:
                return "not_applicable", "review deadline not reached"
            return "fail", "no post-hoc review date"
        if day_of(c.ticket.review_date) > deadline:
            return "fail", f"post-hoc review after {deadline.isoformat()}"

    def cm16(self, c: Change):
        if not c.is_emergency:
            return "not_applicable", "not an emergency change"
        t, reasons = c.ticket, []
        verbal = self.ids.by_sys_id.get(t.verbal_approver) if t.verbal_approver else None
        if not t.verbal_approver:
            reasons.append("no verbal approver")
        elif verbal is None or not {"ciso", "eng_lead"} & set(verbal.roles):
            reasons.append("verbal approver is neither CISO nor engineering lead")
        if t.verbal_approver and (t.verbal_approved_at is None or t.verbal_approved_at > c.deployed_at):
            reasons.append("verbal approval after deployment")
        if not any("ciso" in p.roles for p in self._approvers(t, None)):
            reasons.append("no CISO sign-off")
        if reasons:
            return "fail", "; ".join(reasons)

    def cm17(self, c: Change):
        if not c.is_rollback:
            return "not_applicable", "not a rollback"
        window = self.policy.rollback_incident_window_hours * HOUR
        near = [i for i in self.incidents.get(c.repo.split("/", 1)[1], [])
                if i.priority in self.policy.rollback_incident_priorities
                and abs(i.created_at - c.deployed_at) <= window]
        if not near:
            return "fail", "no P1-P3 incident within 24 h of the rollback"
        marker = self.policy.post_incident_review_marker.lower()
        if not any(e.type == "annotate_log_entry" and marker in e.note.lower()
                   for i in near for e in i.log_entries):
            return "fail", "incident without post-incident review"

    def cm20(self, c: Change):
        if c.ticket is None or c.category == "Standard":
            return "not_applicable", "no ticket" if c.ticket is None else "Standard"
        approvers = {p.person_id for p in self._approvers(c.ticket, None)}
        requester = self.ids.by_sys_id.get(c.ticket.requested_by)
        if requester and approvers == {requester.person_id}:
            return "fail", "requester is the only approver"
        deployer, _ = self._deployer(c)
        authors = {self.ids.key_login(pr.author_login) for pr in c.prs}
        if deployer and deployer.person_id in approvers and deployer.person_id in authors:
            return "fail", f"{deployer.name} authored, approved and deployed the change"
