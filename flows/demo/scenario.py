"""Turns the plan of the quarter into the records every sample API serves: for each production
change its pull requests, commits, reviews, checks, scan, staging run, ticket with approvals,
deployment and incidents, injections applied where the plan put them."""
from __future__ import annotations

import datetime as dt
import random

from flows.demo import text
from flows.demo.approvals import build_ticket
from flows.demo.extras import build_bad_records, build_noise, build_rollback
from flows.demo.clock import DAY, HOUR, MINUTE, UTC, Ids, Period
from flows.demo.content import changed_files
from flows.demo.gitflow import GitFlow, RepoState
from flows.demo.model import ChangePlan, Org, PullRequest
from flows.demo.people import Directory, build_people
from flows.demo.pipeline import Pipeline
from flows.demo.plan import build_plans
from flows.demo.repos import build_repos
from flows.demo.tickets import Tickets

ORG = "acme"
TRIGGERS = {"shared_account": ("ops-shared", False), "shared_account_with_trigger": ("ops-shared", True),
            "emergency_shared_account": ("ops-shared", False), "bot_without_trigger": ("github-actions[bot]", False),
            "unknown_login": ("jenkins-legacy", False)}


class Scenario:
    def __init__(self, seed: int, period: Period, scale: float):
        self.rng = rng = random.Random(seed)
        self.ids = Ids(random.Random(seed * 7919 + 17))
        self.period = period
        self.dir: Directory = build_people(rng, self.ids)
        repos = build_repos(rng, ORG, period, scale)
        self.org = Org(ORG, self.dir.people, repos)
        self.org.services = {r.name: self.ids.upper("P", 6) for r in repos}
        self.plans = build_plans(rng, repos, period, scale)
        self.states = {r.name: RepoState(r) for r in repos}
        self.git = GitFlow(rng, self.ids, self.org, self.dir.by_login)
        self.pipe = Pipeline(rng, self.ids, self.org)
        self.tix = Tickets(rng, self.ids, self.org)
        self.last_key: dict[str, str | None] = {}
        self.plan_prs: dict[int, list[PullRequest]] = {}
        self.rollbacks: dict[str, list[int]] = {}
        for p in self.plans:
            if p.is_rollback:
                self.rollbacks.setdefault(p.repo, []).append(p.deploy_at)

    def run(self) -> tuple[Org, list[ChangePlan]]:
        self.history()
        for plan in self.plans:
            if plan.is_rollback:
                build_rollback(self, plan)
            else:
                self.change(plan)
        build_noise(self)
        for st in self.states.values():
            self.pipe.compares(st)
            for entry in st.main:
                for c in entry.side + [entry.commit]:
                    self.org.commits[(st.repo.full_name, c.sha)] = c
        build_bad_records(self)
        assign_ids(self.org, self.rng)
        return self.org, self.plans

    # ---- before the period --------------------------------------------------------------------
    def history(self) -> None:
        rng = self.rng
        for st in self.states.values():
            repo = st.repo
            self.git.direct_push(st, self.dir.lead(repo.team), repo.created_at, "Initial commit")
            if not repo.is_new:
                st.next_pr = rng.randint(80, 2400)
                june = self.period.baseline_start + rng.randint(3 * DAY, 25 * DAY)
                self.change(ChangePlan(repo=repo.name, deploy_at=june, category="Normal"))

    # ---- one forward change -------------------------------------------------------------------
    def change(self, plan: ChangePlan) -> None:
        rng, st = self.rng, self.states[plan.repo]
        repo, team, flags = st.repo, st.repo.team, set(plan.injected)
        emergency = plan.category == "Emergency"
        prev_at = st.prod[-1][0] if st.prod else st.main[-1].commit.committed_at
        start = st.index[st.prod[-1][1]] if st.prod else len(st.main) - 1
        pipeline = rng.randint(25, 35) * MINUTE if emergency else rng.randint(60, 150) * MINUTE
        lo, hi = max(prev_at + 10 * MINUTE, plan.deploy_at - 10 * DAY), plan.deploy_at - pipeline

        key = decoy = typo = None
        if plan.category != "none":
            key = self.tix.number()
        elif "ticket_key_not_found" in flags:
            key = self.tix.missing_number()
        if flags & {"trap_decoy_ticket_in_body", "trap_two_keys_same_place"}:
            decoy = self.tix.number()
        if "trap_typo_key_plus_real" in flags:
            typo = self.tix.missing_number()
        place = self.placement(plan, flags)

        pushes = [f for f in ("direct_push_extra", "direct_push_closed_pr", "direct_push_only") if f in flags]
        n_prs = 0 if "direct_push_only" in flags else 1 if (plan.is_baseline or emergency) else \
            rng.choices([1, 2, 3], [62, 26, 12])[0]
        events = ["pr"] * n_prs + pushes
        rng.shuffle(events)
        if events[0] != "pr" and n_prs:        # a direct push never comes first: it lands between merges
            events.remove("pr")
            events.insert(0, "pr")
        step = 60 if len(range(lo, hi, 60)) >= len(events) else 1   # large scales (benchmark L/XL): busy repos, short gaps
        times = sorted(rng.sample(range(lo, hi, step), len(events)))
        prs: list[PullRequest] = []
        for event, at in zip(events, times):
            if event == "pr":
                prs.append(self.pull_request(st, plan, flags if not prs else set(), at, key, decoy, typo, place, len(prs)))
            else:
                self.push(st, event, at)
        self.plan_prs[id(plan)] = prs
        if "emergency_hotfix_label" in flags:        # §5 detection by label (policy.emergency_labels)
            prs[0].labels = (*prs[0].labels, "hotfix")
        sha = st.tip
        linked_authors = {e.pr.author_login for e in st.main[start + 1:] if e.pr is not None}

        requester = next((self.dir.login(p.author_login) for p in prs if self.dir.login(p.author_login).kind == "human"),
                         self.dir.lead(team))
        approvers = build_ticket(self, plan, flags, key, decoy, prs, requester) if plan.category != "none" else set()

        t0 = times[-1] + rng.randint(1, 3) * MINUTE
        checked = self.pipe.checks(repo.full_name, sha, t0, plan.deploy_at, flags)
        self.pipe.scan(repo.name, repo.full_name, sha, t0 + rng.randint(2, 8) * MINUTE, plan.deploy_at, flags)
        creator, payload = self.deployer(plan, flags, team, prs, linked_authors, approvers)
        self.staging(plan, flags, st, sha, max(checked, t0 + 12 * MINUTE) + rng.randint(1, 4) * MINUTE, creator, payload)

        version = dt.datetime.fromtimestamp(plan.deploy_at, UTC).strftime("v%Y.%m.%d.") + str(rng.randint(1, 9))
        description = f"Deploy {repo.name} {version} to production"
        payload = {"version": version, "image": f"ghcr.io/{ORG}/{repo.name}:{sha[:12]}", **payload}
        if key and place == "deployment":
            if rng.random() < 0.5:
                description += f" ({key})"
            else:
                payload["change_request"] = key
        created = plan.deploy_at - rng.randint(2, 9) * MINUTE
        if "trap_created_before_period" in flags:
            created = self.period.start - rng.randint(60, 300)
        if "trap_failed_deploy_then_retry" in flags:
            failed_at = created - rng.randint(15, 30) * MINUTE
            self.pipe.deployment(repo.full_name, sha, "production", failed_at, failed_at + rng.randint(3, 6) * MINUTE,
                                 creator, description, payload, state=rng.choice(["failure", "error"]))
        ref = rng.choice(["main", "main", version])
        if st.main[-1].pr is None:      # a pushed tip is shown on main by the deployment's ref alone (CM-06)
            ref = "main"
        if "deployed_off_release_branch" in flags:      # CM-06: develop deployed to production
            ref = "develop"
            for pr in prs:
                pr.base_ref = "develop"
        plan.deployment = self.pipe.deployment(repo.full_name, sha, "production", created, plan.deploy_at, creator,
                                               description, payload, ref=ref)
        plan.deployment.manual = "deployed_from_laptop" in flags
        plan.sha = sha
        self.org.touched_files[(repo.full_name, sha)] = changed_files(flags, sha)   # CM-18, CM-19
        st.prod.append((plan.deploy_at, sha))
        self.last_key[repo.name] = key if plan.category not in ("none", "Emergency") else None
        if emergency and not self.near_rollback(repo.name, plan.deploy_at):
            at = plan.deploy_at - rng.randint(30, 120) * MINUTE
            self.tix.incident(repo.name, self.org.services[repo.name], at, "P1", requester,
                              self.tix.review_notes(at, rng.random() < 0.6))

    def placement(self, plan: ChangePlan, flags: set[str]) -> str:
        if "emergency_documented_later" in flags:   # §5: only the later ticket names the deployment
            return "none"
        if flags & {"trap_key_only_in_branch", "trap_typo_key_plus_real"}:
            return "branch"
        if flags & {"trap_decoy_ticket_in_body", "trap_two_keys_same_place"}:
            return "title"
        if "deployed_from_laptop" in flags:     # a manual GitLab deployment has no pipeline name to carry it
            return self.rng.choice(["title", "body"])
        if plan.after_rollback:
            return "deployment"
        if plan.category == "Emergency":
            return self.rng.choice(["title", "body"])
        if plan.is_baseline:
            return self.rng.choice(["deployment", "title"])
        return self.rng.choices(["deployment", "title", "body", "branch", "commit"], [35, 28, 20, 10, 7])[0]

    def pull_request(self, st: RepoState, plan: ChangePlan, flags: set[str], merge_at: int, key, decoy, typo,
                     place: str, index: int) -> PullRequest:
        rng, team = self.rng, st.repo.team
        members = self.dir.team(team)
        lead = self.dir.lead(team)
        if flags & {"author_approver_deployer", "author_approver_bot_trigger"}:
            author = lead
        elif plan.category == "Standard" and rng.random() < 0.4:
            author = self.dir.login("renovate[bot]")
        else:
            pool = rng.choices(["engineer", "senior_engineer", "eng_lead"], [65, 30, 5])[0]
            author = rng.choice(self.dir.team(team, pool))
        others = [p for p in members if p is not author]
        juniors = [p for p in others if "engineer" in p.roles]
        if "no_senior_approver" in flags:
            r1, r2 = rng.sample(juniors, 2)
        else:
            r1 = rng.choice([p for p in others if {"senior_engineer", "eng_lead"} & set(p.roles)])
            r2 = rng.choice([p for p in others if p is not r1])
        reviewers = [r1] if plan.category == "Emergency" and "emergency_all_gates" not in flags else [r1, r2]
        spare = [p for p in others if p not in (r1, r2)]
        coauthor = r2 if "coauthor_approval" in flags else rng.choice(spare) if "trap_coauthor_not_reviewer" in flags else None
        commenter = rng.choice(spare) if rng.random() < 0.2 else None

        deps = author.github_login == "renovate[bot]"
        plain = title = text.pr_title(rng, deps, plan.category == "Emergency")
        tagged = index == 0 or rng.random() < 0.5
        if key and place == "title" and tagged:
            title = rng.choice([f"[{key}] {plain}", f"{plain} ({key})", f"{key}: {plain}"])
        if decoy and "trap_two_keys_same_place" in flags:
            title = f"[{key}, {decoy}] {plain}"
        if typo:
            title = f"{title} ({typo})"
        line = f"Change request: {key}" if key and place == "body" and tagged else ""
        if decoy and "trap_decoy_ticket_in_body" in flags:
            line = f"Related change: {decoy}"
        body = text.pr_body(rng, title, line)
        prefix = "hotfix" if plan.category == "Emergency" else "renovate" if deps else rng.choice(["feature", "fix"])
        slug = text.slug(plain)
        head_ref = f"feature/{key}-{slug}" if key and place == "branch" and tagged else f"{prefix}/{slug}"
        squash_only = plan.is_baseline or flags & {"trap_key_only_in_branch", "trap_typo_key_plus_real"}
        strategy = "squash" if squash_only else rng.choices(["squash", "merge", "rebase"], [60, 22, 18])[0]
        merger = r1 if deps or rng.random() < 0.3 else author
        return self.git.pull_request(
            st, merge_at=merge_at, author=author, title=title, body=body, head_ref=head_ref, strategy=strategy,
            reviewers=reviewers, flags=flags | ({"trap_commit_pulls_missing"} & set(plan.injected)),
            commit_key=key if key and place == "commit" and tagged else "", coauthor=coauthor,
            merger=merger, commenter=commenter)

    def push(self, st: RepoState, kind: str, at: int) -> None:
        rng = self.rng
        person = rng.choice(self.dir.team(st.repo.team, "engineer", "senior_engineer"))
        message = rng.choice(text.DIRECT_PUSH)
        if kind == "direct_push_closed_pr":
            # the commit of a PR closed without merging, then pushed straight to main
            commit = self.git.direct_push(st, person, at, message)
            closed = self.git.side_pr(st, created=at - rng.randint(2, 5) * DAY, author=person,
                                      reviewer=self.dir.lead(st.repo.team), closed=at - rng.randint(HOUR, DAY),
                                      commit=commit)
            self.org.commit_pulls[(st.repo.full_name, commit.sha)] = [closed]
        else:
            self.git.direct_push(st, person, at, message)

    # ---- deployer, staging --------------------------------------------------------------------
    def deployer(self, plan, flags, team, prs, authors: set[str], approvers: set[str]) -> tuple[str, dict]:
        rng, lead = self.rng, self.dir.lead(team)
        if flags & set(TRIGGERS):
            login, with_trigger = TRIGGERS[next(f for f in TRIGGERS if f in flags)]
            return login, ({"triggered_by": prs[0].author_login} if with_trigger and prs else {})
        if "bot_trigger_unknown" in flags:
            return "deploy-bot", {"triggered_by": "mkowalski-old"}
        if "author_approver_deployer" in flags:
            return lead.github_login, {}
        if "author_approver_bot_trigger" in flags:
            return "github-actions[bot]", {"triggered_by": lead.github_login, "workflow": "deploy.yml"}
        humans = [self.dir.login(p.author_login) for p in prs if self.dir.login(p.author_login).kind == "human"]
        candidates = humans + self.dir.team(team, "engineer", "senior_engineer")
        person = next(p for p in candidates if not (p.person_id in approvers and p.github_login in authors))
        if "deployed_from_laptop" in flags:     # CM-06: a person deploys by hand, no CI run
            return person.github_login, {}
        roll = rng.random()
        if roll < 0.45:
            return person.github_login, {}
        bot = "github-actions[bot]" if roll < 0.85 else "deploy-bot"
        return bot, {"triggered_by": person.github_login, "workflow": "deploy.yml", "run_id": rng.randint(10**9, 10**10)}

    def staging(self, plan, flags, st: RepoState, sha: str, at: int, creator: str, payload: dict) -> None:
        rng, repo = self.rng, st.repo
        if plan.category == "Emergency" or "no_staging" in flags:
            return
        if plan.category == "Standard" and rng.random() < 0.3:      # CM-09 is n/a for Standard
            plan.injected.append("trap_standard_without_staging")
            return
        if "staging_other_sha" in flags:
            sha = st.main[-2].commit.sha
        if "staging_after_production" in flags:
            at = plan.deploy_at + rng.randint(10, 60) * MINUTE
        desc = f"Deploy {repo.name} to staging"
        if "trap_staging_failed_then_retried" in flags:
            self.pipe.deployment(repo.full_name, sha, "staging", at - 12 * MINUTE, at - 9 * MINUTE, creator, desc,
                                 payload, state="failure")
        state = "failure" if "staging_failed" in flags else "success"
        self.pipe.deployment(repo.full_name, sha, "staging", at, at + rng.randint(2, 6) * MINUTE, creator, desc,
                             payload, state=state)

    def near_rollback(self, repo: str, at: int) -> bool:
        """Within 30 h of a rollback of the service: no unrelated P1-P3 incident goes there."""
        return any(abs(at - t) <= 30 * HOUR for t in self.rollbacks.get(repo, []))


def assign_ids(org: Org, rng: random.Random) -> None:
    """GitHub ids grow with creation time across the whole organization."""
    def number(items, key, start: int, step: int) -> None:
        value = start
        for item in sorted(items, key=key):
            value += rng.randint(1, step)
            item.id = value

    number(org.pulls, lambda p: (p.created_at, p.repo, p.number), 1_850_000_000, 900)
    number([r for p in org.pulls for r in p.reviews], lambda r: (r.submitted_at, r.login, r.state, r.commit_id),
           2_100_000_000, 700)
    number(org.deployments, lambda d: (d.created_at, d.repo, d.environment), 4_100_000, 37)
    number([s for d in org.deployments for s in d.statuses], lambda s: (s.created_at, s.state, s.creator_login),
           9_200_000_000, 900)
    number([r for runs in org.check_runs.values() for r in runs], lambda r: (r.started_at, r.repo, r.head_sha, r.name),
           28_000_000_000, 5000)
    for i, incident in enumerate(sorted(org.incidents, key=lambda x: (x.created_at, x.id))):
        incident.number = 1200 + i
