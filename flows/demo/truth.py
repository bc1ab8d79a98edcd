"""Reference evaluation of the control semantics in ``warehouse/README.md``.

It reads only what the sample APIs serve (the :class:`~flows.demo.model.Org` records, i.e. the
staging columns), never the generation intent, and re-derives every status: the changes of the
period, change sets from compares, linked PRs, tickets, categories, identities, and each control.
The demo's ground truth is its output, so the SQL controls must agree with it row for row.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from flows.demo.clock import DAY, Period
from flows.demo.model import ChangeRequest, Deployment, Org, Person, PullRequest
from flows.demo.truth_content import ContentRules
from flows.demo.truth_controls import ControlRules
from flows.demo.truth_pipeline import PipelineRules

KEY = re.compile(r"CHG[0-9]{7}")
NOREPLY = re.compile(r"^[0-9]+\+(.+)@users\.noreply\.github\.com$", re.IGNORECASE)
CHANGE_CONTROLS = ("CM-01", "CM-02", "CM-03", "CM-04", "CM-05", "CM-08", "CM-09", "CM-10", "CM-11", "CM-12",
                   "CM-14", "CM-15", "CM-16", "CM-17", "CM-20", "CM-21")
CHANGE_CONTROLS += ("CM-06", "CM-22")    # §6 prohibited practices (truth_pipeline.py)
CHANGE_CONTROLS += ("CM-13", "CM-18", "CM-19")   # §2 schedule and security review, §1 category (truth_content.py)
EMERGENCY_BYPASSABLE = {"CM-03", "CM-04", "CM-05", "CM-08", "CM-09", "CM-10"}
EMERGENCY_BYPASSABLE |= {"CM-13", "CM-18"}      # §2 steps an emergency skips under §5


@dataclass(frozen=True)
class Policy:
    ticket_key_pattern: str = KEY.pattern
    production_environments: tuple[str, ...] = ("production",)
    staging_environments: tuple[str, ...] = ("staging",)
    required_checks: tuple[str, ...] = ("build", "test")
    min_reviewers: int = 2
    senior_roles: tuple[str, ...] = ("senior_engineer", "eng_lead")
    blocking_severities: tuple[str, ...] = ("critical", "high")
    emergency_documentation_hours: int = 24
    emergency_labels: tuple[str, ...] = ("hotfix", "emergency")      # case-insensitive, PR or ticket
    emergency_review_business_days: int = 5
    holidays: frozenset = frozenset()
    rollback_incident_priorities: tuple[str, ...] = ("P1", "P2", "P3")
    rollback_incident_window_hours: int = 24
    post_incident_review_marker: str = "post-incident review"
    rollback_tasks: tuple[str, ...] = ("deploy:rollback",)
    rollback_plan_parts: tuple[tuple[str, str], ...] = (
        ("trigger", "(?i)trigger|roll ?back when"), ("steps", "(?i)steps?|procedure"), ("owner", "(?i)owner"),
        ("verification", "(?i)verif"), ("time_estimate", "(?i)(time|estimate|minutes|hours)"))
    closing_deadline_days: int = 5
    # CM-13: the demo's schedule (flows/demo/content.py); spans as (weekdays Mon = 0, start, end minute)
    schedule_time_zone: str = "America/New_York"
    maintenance_windows: tuple = ()
    peak_hours: tuple = (((0, 1, 2, 3, 4), 18 * 60, 22 * 60),)
    notice_hours: int = 24
    # CM-18, CM-19: the SOC2-CHG-001 defaults of flows/config.py, as (area, globs) / (rule, min category, globs)
    sensitive_paths: tuple = (
        ("auth", ("**/auth/**", "**/*auth*", "**/login/**", "**/session*/**", "**/permission*/**", "**/rbac/**")),
        ("data_access", ("**/migrations/**", "**/*.sql", "**/schema*/**", "**/repositories/**", "**/dao/**")),
        ("encryption", ("**/crypto/**", "**/*crypt*", "**/kms/**", "**/tls/**", "**/secrets/**", "**/certs/**")))
    security_approver_roles: tuple[str, ...] = ("ciso", "security")
    category_rules: tuple = (
        ("schema_migration", "Normal", ("**/migrations/**", "**/migrate/**", "**/alembic/**", "**/flyway/**", "**/*.sql")),
        ("infrastructure", "Normal", ("**/terraform/**", "**/*.tf", "**/helm/**", "**/k8s/**")),
        ("authentication", "Major", ("**/auth/**", "**/*auth*", "**/login/**", "**/session*/**", "**/rbac/**")),
        ("pricing", "Major", ("**/pricing/**",)))


@dataclass
class Result:
    control_id: str
    subject_id: str
    status: str             # pass / fail / not_applicable
    reason: str = ""


@dataclass
class Change:
    change_id: str
    repo: str
    deployment_id: int
    sha: str
    deployed_at: int
    deployer_login: str
    is_rollback: bool
    is_baseline: bool
    ticket: ChangeRequest | None
    category: str
    deployment: Deployment = field(repr=False)
    prs: list[PullRequest] = field(default_factory=list, repr=False)      # linked, merged
    direct: list[str] = field(default_factory=list, repr=False)           # change-set shas in no merged PR
    found: set[tuple[int, str]] = field(default_factory=set, repr=False)  # (place rank, key) found anywhere
    files: list[str] = field(default_factory=list, repr=False)            # the compare's changed files
    results: dict[str, Result] = field(default_factory=dict)

    @property
    def is_emergency(self) -> bool:
        return self.category == "Emergency"

    @property
    def failed(self) -> list[str]:
        return [c for c, r in self.results.items() if r.status == "fail"]

    @property
    def outcome(self) -> str:
        failed = set(self.failed)
        if not failed:
            return "compliant"
        closed_out = all(self.results[c].status == "pass" for c in ("CM-14", "CM-15", "CM-16"))
        if self.is_emergency and closed_out and failed <= EMERGENCY_BYPASSABLE:
            return "exception"
        return "violation"


class Identities:
    """Resolution of GitHub logins, e-mails and ServiceNow sys_ids through the people directory."""

    def __init__(self, people: list[Person]):
        self.by_login = {p.github_login.lower(): p for p in people if p.github_login}
        self.by_email = {p.email.lower(): p for p in people if p.email}
        self.by_sys_id = {p.sn_sys_id: p for p in people if p.sn_sys_id}

    def login(self, login) -> Person | None:
        return self.by_login.get(login.lower()) if isinstance(login, str) and login else None

    def email(self, email: str | None) -> Person | None:
        if not email:
            return None
        match = NOREPLY.match(email)
        if match:
            return self.login(match[1])
        return self.by_email.get(email.lower())

    def key_login(self, login: str | None) -> str | None:
        if not login:
            return None
        person = self.login(login)
        return person.person_id if person else f"login:{login.lower()}"

    def key_email(self, email: str | None) -> str | None:
        if not email:
            return None
        person = self.email(email)
        return person.person_id if person else f"email:{email.lower()}"


class Evaluator(ControlRules, PipelineRules, ContentRules):
    """The population of the period and each change's set, PRs and ticket; the control rules
    themselves are in :class:`~flows.demo.truth_controls.ControlRules`."""

    def __init__(self, org: Org, period: Period, policy: Policy = Policy(), evaluated_at: int | None = None):
        self.org, self.period, self.policy = org, period, policy
        self.evaluated_at = evaluated_at if evaluated_at is not None else period.end + 30 * DAY
        self.ids = Identities(org.people)
        self.people = {p.person_id: p for p in org.people}
        self.pr_by_merge_sha: dict[tuple[str, str], list[PullRequest]] = defaultdict(list)
        self.pr_by_commit: dict[tuple[str, str], list[PullRequest]] = defaultdict(list)
        for pr in org.pulls:
            if pr.merged_at is None:
                continue
            if pr.merge_commit_sha:
                self.pr_by_merge_sha[(pr.repo, pr.merge_commit_sha)].append(pr)
            for commit in pr.commits:
                self.pr_by_commit[(pr.repo, commit.sha)].append(pr)
        self.compares = {(c.repo, c.base, c.head): c for c in org.compares}
        self.tickets = {cr.number: cr for cr in org.change_requests}
        self.approvals = defaultdict(list)
        for row in org.approvals:
            self.approvals[row.change_sys_id].append(row)
        self.scans = defaultdict(list)
        for sarif in org.sarif_files:
            if not sarif.corrupt:
                for run in sarif.runs:
                    self.scans[(run.repo, run.commit_sha)].append(run)
        self.staging = defaultdict(list)
        for d in org.deployments:
            if d.environment in policy.staging_environments:
                self.staging[(d.repo, d.sha)].append(d)
        self.incidents = defaultdict(list)
        for incident in org.incidents:
            self.incidents[incident.service_name].append(incident)

    # ---- population -------------------------------------------------------------------------
    def changes(self) -> list[Change]:
        prod = defaultdict(list)
        for d in self.org.deployments:
            first = d.first_success()
            if d.environment in self.policy.production_environments and first is not None:
                prod[d.repo].append((first, d.id, d))
        out = []
        for repo in sorted(prod):
            history = sorted(prod[repo], key=lambda t: (t[0], t[1]))
            for i, (deployed_at, _, d) in enumerate(history):
                if self.period.start <= deployed_at < self.period.end:
                    previous = history[i - 1][2] if i else None
                    out.append(self._change(d, deployed_at, previous))
        return out

    def _change(self, d, deployed_at: int, previous) -> Change:
        is_baseline = previous is None
        commits = []            # a baseline has no compare, so no commit message to search
        files: list[str] = []
        is_rollback = d.task in self.policy.rollback_tasks
        if is_baseline:
            shas = [d.sha]
        else:
            compare = self.compares[(d.repo, previous.sha, d.sha)]
            is_rollback = is_rollback or compare.status == "behind"
            commits = compare.commits
            files = compare.files
            shas = [c.sha for c in commits]
        if is_rollback:
            shas, commits, files = [], [], []
        prs, direct = self._linked_prs(d.repo, shas)
        found = self._ticket_keys(d, prs, commits)
        linked = sorted((rank, key) for rank, key in found if key in self.tickets)
        ticket = self.tickets[linked[0][1]] if linked else None
        if ticket is None:      # §5: documented afterwards by an Emergency ticket naming the deployment
            ticket = self._documented_later(f"{d.repo}@{d.id}", d.sha, deployed_at)
        category = self._category(ticket)
        labels = {label.lower() for pr in prs for label in pr.labels} | {
            label.lower() for label in getattr(ticket, "labels", ())}
        if ticket is not None and labels & {label.lower() for label in self.policy.emergency_labels}:
            category = "Emergency"      # §5: a ticketed change labelled hotfix/emergency is an emergency
        return Change(
            change_id=f"{d.repo}@{d.id}", repo=d.repo, deployment_id=d.id, sha=d.sha,
            deployed_at=deployed_at, deployer_login=d.creator_login, is_rollback=is_rollback,
            is_baseline=is_baseline, ticket=ticket, category=category, deployment=d,
            prs=prs, direct=direct, found=found, files=files,
        )

    def _linked_prs(self, repo: str, shas: list[str]) -> tuple[list[PullRequest], list[str]]:
        prs: dict[int, PullRequest] = {}
        direct = []
        for sha in shas:
            hits = [p for p in self.org.commit_pulls.get((repo, sha), []) if p.merged_at is not None]
            hits += self.pr_by_merge_sha.get((repo, sha), []) + self.pr_by_commit.get((repo, sha), [])
            if not hits:
                direct.append(sha)
            for pr in hits:
                prs[pr.number] = pr
        return [prs[n] for n in sorted(prs)], direct

    def _ticket_keys(self, d, prs, commits) -> set[tuple[int, str]]:
        places = [(0, d.description or ""), (0, json.dumps(d.payload))]
        places += [(1, pr.title or "") for pr in prs] + [(2, pr.body or "") for pr in prs]
        places += [(3, pr.head_ref or "") for pr in prs] + [(4, c.message) for c in commits]
        return {(rank, key) for rank, text in places for key in re.findall(self.policy.ticket_key_pattern, text)}

    def _documented_later(self, change_id: str, sha: str, deployed_at: int) -> ChangeRequest | None:
        """The earliest Emergency ticket created after the deployment whose texts name it: the
        change id, or a 7-40 hex word the deployed sha starts with."""
        hits = []
        for cr in self.org.change_requests:
            if self._category(cr) != "Emergency" or cr.created_at <= deployed_at:
                continue
            text = " ".join(t for t in (cr.short_description, cr.description, cr.justification,
                                        cr.implementation_plan) if t)
            if change_id in text or any(sha.startswith(w) for w in re.findall(r"\b[0-9a-f]{7,40}\b", text)):
                hits.append((cr.created_at, cr.number, cr))
        return min(hits, key=lambda h: h[:2])[2] if hits else None

    @staticmethod
    def _category(ticket: ChangeRequest | None) -> str:
        if ticket is None:
            return "unknown"
        if ticket.type == "emergency":
            return "Emergency"
        if ticket.type == "standard":
            return "Standard"
        if ticket.type == "normal":
            return "Major" if ticket.risk in ("1", "2") else "Normal"
        return "unknown"

    # ---- controls ---------------------------------------------------------------------------
    def evaluate(self) -> list[Change]:
        changes = self.changes()
        for change in changes:
            for control in CHANGE_CONTROLS:
                method = getattr(self, "cm" + control[3:])
                outcome = method(change)
                status, reason = outcome if outcome else ("pass", "")
                change.results[control] = Result(control, change.change_id, status, reason)
        return changes

    def quarantine_results(self, streams: list[str] = ()) -> list[Result]:
        """EV-03 over ``streams`` ('system/stream', the extractor registry): the malformed
        records the sample holds must be quarantined by the extractors, nothing else."""
        counts = {
            "github/reviews": len(self.org.bad_reviews),
            "sarif/runs": sum(f.corrupt for f in self.org.sarif_files),
            "people/people": len(self.org.bad_people_rows),
        }
        subjects = sorted(set(streams) | {s for s, n in counts.items() if n})
        return [Result("EV-03", s, "fail", f"{counts[s]} quarantined record(s)") if counts.get(s)
                else Result("EV-03", s, "pass", "no quarantined records") for s in subjects]
