"""Rollbacks, background noise (unrelated PRs, incidents and tickets) and the malformed records
the extractors must quarantine (EV-03)."""
from __future__ import annotations

from collections import Counter

from flows.demo import text
from flows.demo.clock import DAY, HOUR, MINUTE
from flows.demo.model import ChangePlan, Review, SarifFile, SarifResult, SarifRule, SarifRun
from flows.demo.people import bad_people_row


def build_rollback(sc, plan: ChangePlan) -> None:
    """Redeploy the production sha before the last one; the incident depends on the kind."""
    rng, st = sc.rng, sc.states[plan.repo]
    repo = st.repo
    bad, target = st.prod[-1][1], st.prod[-2][1]
    oncall = rng.choice(sc.dir.team(repo.team, "senior_engineer"))
    if rng.random() < 0.5:
        creator, payload = oncall.github_login, {}
    else:
        creator, payload = "github-actions[bot]", {"triggered_by": oncall.github_login, "workflow": "rollback.yml"}
    payload.update(rollback_from=bad, rollback_to=target)
    if sc.last_key.get(repo.name):
        payload["change_request"] = sc.last_key[repo.name]
    task = "deploy" if "trap_rollback_by_compare" in plan.injected else "deploy:rollback"
    plan.deployment = sc.pipe.deployment(
        repo.full_name, target, "production", plan.deploy_at - rng.randint(2, 6) * MINUTE, plan.deploy_at,
        creator, f"Rollback {repo.name} to {target[:12]}", payload, task=task, ref=target)
    plan.sha = target
    st.prod.append((plan.deploy_at, target))

    kind = plan.injected[0]
    if kind == "rollback_no_incident":
        return
    priority = "P4" if kind == "rollback_low_priority_incident" else rng.choice(["P1", "P2", "P2", "P3"])
    if kind == "rollback_incident_outside_window":
        created = plan.deploy_at + rng.randint(26 * HOUR, 40 * HOUR)
    else:
        created = plan.deploy_at - rng.randint(15 * MINUTE, 90 * MINUTE)
    notes = sc.tix.review_notes(created, with_review=kind != "rollback_incident_without_review")
    sc.tix.incident(repo.name, sc.org.services[repo.name], created, priority, oncall, notes,
                    title="Error rate spike after deploy")


def build_noise(sc) -> None:
    rng, org, period = sc.rng, sc.org, sc.period
    merged = Counter(p.repo for p in org.pulls)
    per_repo = Counter(p.repo for p in sc.plans)
    for st in sc.states.values():
        team = sc.dir.team(st.repo.team)
        for _ in range(max(1, round(0.06 * merged[st.repo.full_name]))):
            author, reviewer = rng.sample(team, 2)
            created = rng.randint(period.start, period.end - DAY)
            closed = created + rng.randint(2 * HOUR, 5 * DAY) if rng.random() < 0.6 else None
            sc.git.side_pr(st, created=created, author=author, reviewer=reviewer, closed=closed)
        for _ in range(max(1, round(0.06 * per_repo[st.repo.name])) + rng.randint(0, 2)):
            created = rng.randint(period.start - 20 * DAY, period.end - DAY)
            priority = rng.choices(["P1", "P2", "P3", "P4", "P5", None], [3, 10, 30, 35, 12, 10])[0]
            if priority in ("P1", "P2", "P3") and sc.near_rollback(st.repo.name, created):
                priority = "P4"
            responder = rng.choice(team)
            sc.tix.incident(st.repo.name, org.services[st.repo.name], created, priority, responder,
                            sc.tix.review_notes(created, rng.random() < 0.4))
    humans = [p for p in sc.dir.people if p.kind == "human" and "engineer" in p.roles]
    for _ in range(max(2, round(0.04 * len(sc.plans)))):
        requester = rng.choice(humans)
        created = rng.randint(period.start, period.end - 3 * DAY)
        cr = sc.tix.change_request(sc.tix.number(), "normal", "3", text.pr_title(rng), requester.team,
                                   requester, created, created + 2 * DAY, approval="not requested", state="4")
        cr.close_notes = "Cancelled: superseded by another change."


def build_bad_records(sc) -> None:
    rng, org = sc.rng, sc.org
    # github/reviews: an extra comment without "id" on a clean change's PR.
    host = next(p for p in sc.plans if not p.injected and not p.is_rollback and sc.plan_prs.get(id(p))
                and sc.period.start <= p.deploy_at < sc.period.end)
    pr = sc.plan_prs[id(host)][0]
    busy = {pr.author_login} | {r.login for r in pr.reviews}
    outsider = next(p for p in sc.dir.team(sc.states[host.repo].repo.team) if p.github_login not in busy)
    org.bad_reviews[(pr.repo, pr.number)] = Review(outsider.github_login, "COMMENTED", pr.head_sha,
                                                   pr.merged_at - 4 * MINUTE, "Reminder: update the runbook.")
    host.injected.append("ev03_extra_review_without_id")
    # sarif/runs: a truncated file for a commit that was never deployed.
    repo = sc.states[host.repo].repo
    sha = sc.ids.sha()
    run = SarifRun("Semgrep OSS", "1.97.0", repo.full_name, sha, "refs/heads/feature/spike", host.deploy_at - DAY,
                   [SarifRule("generic.ci.security.use-frozen-lockfile", "use-frozen-lockfile",
                              "Install without lockfile", "note", None)],
                   [SarifResult("generic.ci.security.use-frozen-lockfile", None, "Install without lockfile",
                                "Dockerfile", 12, sc.ids.hex(16))])
    org.sarif_files.append(SarifFile(repo.name, f"{sha}.sarif", [run], corrupt=True))
    # people/people: a row whose role is outside the vocabulary; nobody references it.
    org.bad_people_rows.append(bad_people_row(rng, sc.ids))
