"""The ServiceNow change request behind a change, its approval rows, and the emergency
close-out fields (verbal approval, post-hoc review date, retroactive CISO sign-off)."""
from __future__ import annotations

import re

from flows.demo.clock import DAY, HOUR, MINUTE, add_business_days, day_of, midnight
from flows.demo.model import ChangePlan, ChangeRequest, Person, PullRequest


def build_ticket(sc, plan: ChangePlan, flags: set[str], key: str, decoy: str | None,
                 prs: list[PullRequest], requester: Person) -> set[str]:
    """Create the change request ``key`` (and a decoy, for the traps); return the person ids of
    its ``approved`` approval rows."""
    rng, tix, people = sc.rng, sc.tix, sc.dir
    repo = sc.states[plan.repo].repo
    lead, deploy = people.lead(repo.team), plan.deploy_at
    title = re.sub(r"[\[(]?CHG[0-9]{7}[\]),:]*\s*", "", prs[0].title).strip() if prs else "Configuration update"
    if "requester_only_approver" in flags:
        requester = lead

    if plan.category == "Emergency":
        cr, approvers = _emergency(sc, plan, flags, key, title, requester, lead)
        return _independent_requester(sc, cr, approvers, requester, repo.team)
    if plan.category == "Standard":
        created = deploy - rng.randint(15 * MINUTE, 2 * DAY)
        approval = "requested" if "standard_not_approved" in flags else "approved"
        cr = tix.change_request(key, "standard", "4", title, repo.name, requester, created, deploy, approval=approval)
        tix.apply_content_injections(cr, flags, repo.name, deploy)
        return set()

    major = plan.category == "Major"
    created = deploy - rng.randint(DAY, 6 * DAY)
    if "short_notice" in flags:     # CM-13: on the change calendar less than 24 h before deploying
        created = deploy - rng.randint(3 * HOUR, 20 * HOUR)
    type_ = "expedited" if plan.category == "Expedited" else "normal"
    cr = tix.change_request(key, type_, rng.choice(["1", "2"] if major else ["3", "3", "4"]), title, repo.name,
                            requester, created, deploy)
    tix.apply_content_injections(cr, flags, repo.name, deploy)
    qa = people.with_role("qa")
    head_of_qa = next(p for p in qa if "eng_lead" in p.roles)
    deputy = next(p for p in people.with_role("security") if "ciso" not in p.roles)
    window = lambda: rng.randint(created + 30 * MINUTE, deploy - 30 * MINUTE)          # noqa: E731
    second = people.ciso if major else rng.choice(qa)
    rows = [(lead, "approved", window()), (second, "approved", window())]
    if "only_eng_lead" in flags:
        rows = rows[:1] + ([(second, "requested", window())] if rng.random() < 0.5 else [])
        cr.approval = "requested"
    if "approval_after_deploy" in flags:
        rows[1] = (second, "approved", deploy + rng.randint(HOUR, 2 * DAY))
    if "major_without_ciso" in flags:
        rows[1] = (deputy, "approved", window())
    if "major_lead_and_qa" in flags:
        rows[1] = (rng.choice(qa), "approved", window())
    if "approval_rejected" in flags:
        rows[1] = (second, "rejected", window())
        cr.approval = "rejected"
    if flags & {"dual_role_single_approver"}:
        rows = [(head_of_qa, "approved", window())]
    if "requester_only_approver" in flags:
        rows = [(lead, "approved", window())]
    if rng.random() < 0.1:
        rows.append((deputy, "not_required", window()))
    for person, state, at in rows:
        tix.approve(cr, person, at, state)
    approvers = {p.person_id for p, state, _ in rows if state == "approved"}
    if "requester_only_approver" not in flags:
        _independent_requester(sc, cr, approvers, requester, repo.team)
    if decoy:   # a real ticket that must not become primary: it lacks its QA approval
        bait = tix.change_request(decoy, "normal", "3", f"Follow-up: {title}", repo.name, requester,
                                  created + HOUR, deploy + DAY)
        tix.approve(bait, lead, created + 2 * HOUR)
    return approvers


def _independent_requester(sc, cr: ChangeRequest, approvers: set[str], requester: Person, team: str) -> set[str]:
    """Unless injected (CM-20), the requester is never the only approver: hand the request to a
    teammate when the sole approver happens to be the requester."""
    if approvers == {requester.person_id}:
        other = next(p for p in sc.dir.team(team, "engineer") if p.person_id not in approvers)
        cr.requested_by = cr.opened_by = other.sn_sys_id
    return approvers


def _emergency(sc, plan: ChangePlan, flags: set[str], key: str, title: str, requester: Person,
               lead: Person) -> tuple[ChangeRequest, set[str]]:
    rng, tix, people = sc.rng, sc.tix, sc.dir
    repo = sc.states[plan.repo].repo
    deploy = plan.deploy_at
    late = "emergency_late_documentation" in flags
    created = deploy + (rng.randint(26 * HOUR, 60 * HOUR) if late else rng.randint(2 * HOUR, 20 * HOUR))
    labelled = "emergency_hotfix_label" in flags      # a Normal-looking ticket; the PR's label makes it §5
    cr = tix.change_request(key, "normal" if labelled else "emergency", "3" if labelled else "2", title, repo.name,
                            requester, created, deploy)
    cr.justification = "P1 incident: customer-facing outage; minimum fix deployed under SOC2-CHG-001 §5."
    if "emergency_documented_later" in flags:    # nothing at deploy time named this ticket: it names the commit
        cr.justification += f" Documents the deployment of {sc.states[plan.repo].tip[:12]} made before this record."

    if "emergency_no_verbal_approval" in flags:
        verbal = None
    elif "trap_emergency_verbal_eng_lead" in flags:
        verbal = lead            # CISO unavailable: the policy allows the engineering lead
    elif "emergency_verbal_not_authorized" in flags:
        verbal = rng.choice(people.team(repo.team, "senior_engineer"))
    else:
        verbal = people.ciso
    if verbal is not None:
        cr.verbal_approver = verbal.sn_sys_id
        cr.verbal_approved_at = (deploy + rng.randint(30 * MINUTE, 5 * HOUR) if "emergency_verbal_after_deploy" in flags
                                 else deploy - rng.randint(5 * MINUTE, 40 * MINUTE))

    # Business days after the deployment day; never the deadline day itself (see the report).
    if "emergency_no_review" in flags:
        days = None
    elif "emergency_late_review" in flags:
        days = rng.randint(7, 10)
    elif "trap_emergency_review_over_weekend" in flags:
        days = 4
    else:
        days = rng.randint(1, 4)
    if days is not None:
        review_day = add_business_days(day_of(deploy), days)
        cr.review_date = max(midnight(review_day) + rng.randint(9 * HOUR, 17 * HOUR), created + HOUR)
        cr.review_status = "complete"
    signoff = lead if "emergency_no_ciso_signoff" in flags else people.ciso
    tix.approve(cr, signoff, created + rng.randint(HOUR, 30 * HOUR))
    # closed with its outcome once documented (within CM-21's 5 days); the §5 post-hoc review,
    # up to 5 business days later, is recorded in review_date
    cr.closed_at = created + rng.randint(HOUR, 6 * HOUR)
    cr.updated_at = max(cr.updated_at, cr.closed_at, cr.review_date or 0)
    return cr, {signoff.person_id}
