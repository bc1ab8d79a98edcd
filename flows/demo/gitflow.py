"""Git history of each repository: pull requests with their commits and reviews, merged by
squash, merge commit or rebase onto ``main``, plus the odd direct push."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from flows.demo import text
from flows.demo.clock import DAY, HOUR, MINUTE, Ids
from flows.demo.model import Commit, Org, Person, PullRequest, Repo, Review

WEB_FLOW = ("GitHub", "noreply@github.com", "web-flow")


@dataclass
class MainEntry:
    commit: Commit
    side: list[Commit] = field(default_factory=list)    # merged branch commits listed before it
    pr: PullRequest | None = None


@dataclass
class RepoState:
    repo: Repo
    main: list[MainEntry] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    next_pr: int = 1
    prod: list[tuple[int, str]] = field(default_factory=list)     # (deployed_at, sha), in order

    @property
    def tip(self) -> str:
        return self.main[-1].commit.sha

    def push(self, entry: MainEntry) -> None:
        self.index[entry.commit.sha] = len(self.main)
        self.main.append(entry)


class GitFlow:
    def __init__(self, rng: random.Random, ids: Ids, org: Org, people: dict[str, Person]):
        self.rng, self.ids, self.org, self.people = rng, ids, org, people
        self._identity: dict[str, tuple[str, str, str | None]] = {}

    # ---- identities -------------------------------------------------------------------------
    def identity(self, person: Person) -> tuple[str, str, str | None]:
        """(name, email, login) a person commits with; fixed per person."""
        if person.person_id not in self._identity:
            roll = self.rng.random()
            if person.kind != "human":
                ident = (person.github_login, person.noreply_email, person.github_login)
            elif roll < 0.55:
                ident = (person.name, person.email, person.github_login)
            elif roll < 0.88:
                ident = (person.name, person.noreply_email, person.github_login)
            elif roll < 0.96:     # personal address: resolvable only through the GitHub account
                ident = (person.name, f"{person.github_login}@mail.example", person.github_login)
            else:                 # address not linked to the GitHub account: resolvable by e-mail
                ident = (person.name, person.email, None)
            self._identity[person.person_id] = ident
        return self._identity[person.person_id]

    def commit(self, message: str, author: tuple, committer: tuple, authored: int, committed: int,
               parents: list[str]) -> Commit:
        return Commit(sha=self.ids.sha(), message=message, author_name=author[0], author_email=author[1],
                      author_login=author[2], committer_name=committer[0], committer_email=committer[1],
                      committer_login=committer[2], authored_at=authored, committed_at=committed,
                      parents=parents, tree=self.ids.sha())

    def coauthor_line(self, person: Person) -> str:
        email = person.email if self.rng.random() < 0.5 else person.noreply_email
        return f"Co-authored-by: {person.name} <{email}>"

    # ---- pull requests ----------------------------------------------------------------------
    def pull_request(self, st: RepoState, *, merge_at: int, author: Person, title: str, body: str,
                     head_ref: str, strategy: str, reviewers: list[Person], flags: set[str],
                     commit_key: str = "", coauthor: Person | None = None,
                     merger: Person | None = None, commenter: Person | None = None) -> PullRequest:
        rng = self.rng
        n_commits = rng.choices([1, 2, 3, 4], [40, 30, 20, 10])[0]
        if flags & {"stale_approval", "trap_changes_requested_then_approved", "trap_reapproved_after_push",
                    "reviewer_authored_commit"}:
            n_commits = max(2, n_commits)
        last_at = merge_at - rng.randint(40 * MINUTE, 3 * HOUR)
        created = last_at - rng.randint(2 * HOUR, 3 * DAY)
        times = sorted(rng.sample(range(created - 6 * HOUR, last_at - 20 * MINUTE, 60), n_commits - 1)) + [last_at]
        ident = self.identity(author)
        parent = st.tip
        commits = []
        for i, at in enumerate(times):
            message = title if i == 0 else rng.choice(text.COMMIT_FOLLOWUPS)
            if i == 0 and commit_key:
                message += f"\n\nRefs {commit_key}"
            who = committer = ident
            if i == 0 and "reviewer_authored_commit" in flags:
                who = committer = self.identity(reviewers[1])
            if i == 0 and "reviewer_committed" in flags:
                committer = self.identity(reviewers[1])
            if coauthor is not None and i == n_commits - 1:
                message += "\n\n" + self.coauthor_line(coauthor)
            authored = at - (rng.randint(60, 3600) if committer != who else 0)
            commits.append(self.commit(message, who, committer, authored, at, [parent]))
            parent = commits[-1].sha
        number = st.next_pr
        st.next_pr += 1
        pr = PullRequest(repo=st.repo.full_name, number=number, title=title, body=body,
                         author_login=author.github_login, head_ref=head_ref, base_ref="main",
                         created_at=created, merged_at=merge_at, closed_at=merge_at,
                         merge_commit_sha=None, commits=commits,
                         labels=tuple(rng.sample(["enhancement", "bug", "dependencies", "backend", "infra"],
                                                 rng.randint(0, 2))),
                         merged_by=(merger or author).github_login)
        pr.reviews = self.reviews(pr, reviewers, flags, last_at, merge_at, commenter)
        self.merge(st, pr, strategy, merger or author, flags)
        self.org.pulls.append(pr)
        return pr

    def reviews(self, pr: PullRequest, reviewers: list[Person], flags: set[str], last_at: int,
                merge_at: int, commenter: Person | None) -> list[Review]:
        rng = self.rng
        head, out = pr.head_sha, []
        prev_sha = pr.commits[-2].sha if len(pr.commits) > 1 else head
        prev_at = pr.commits[-2].committed_at if len(pr.commits) > 1 else last_at

        def at(lo: int, hi: int) -> int:
            return rng.randint(lo, max(lo, hi))

        def add(person: Person, state: str, commit_id: str, when: int, body: str = "") -> None:
            out.append(Review(person.github_login, state, commit_id, when, body))

        after = lambda: at(last_at + 5 * MINUTE, merge_at - 3 * MINUTE)            # noqa: E731
        before_push = lambda: at(prev_at + 2 * MINUTE, last_at - 5 * MINUTE)       # noqa: E731
        post_merge = lambda: merge_at + rng.randint(10 * MINUTE, 5 * HOUR)         # noqa: E731
        for i, person in enumerate(reviewers):
            second = i == 1
            if "no_approval" in flags:
                add(person, "COMMENTED", head, after(), "A few questions inline.")
            elif "approved_after_merge_only" in flags or "emergency_approved_after_merge" in flags:
                add(person, "APPROVED", head, post_merge(), "LGTM (post-merge)")
            elif second and "one_approver" in flags:
                add(person, "COMMENTED", head, after(), "Looks reasonable, one nit.")
            elif second and "stale_approval" in flags:
                add(person, "APPROVED", prev_sha, before_push())
            elif second and "approval_after_merge" in flags:
                add(person, "APPROVED", head, post_merge())
            elif second and "dismissed_approval" in flags:
                add(person, "DISMISSED", head, after())
            elif second and "approval_then_changes_requested" in flags:
                first = after()
                add(person, "APPROVED", head, first)
                add(person, "CHANGES_REQUESTED", head, at(first + MINUTE, merge_at - MINUTE),
                    "On second look the migration is not reversible.")
            elif second and "trap_changes_requested_then_approved" in flags:
                add(person, "CHANGES_REQUESTED", prev_sha, before_push(), "Please add a test for the error path.")
                add(person, "APPROVED", head, after())
            elif not second and "trap_reapproved_after_push" in flags:
                add(person, "APPROVED", prev_sha, before_push())
                add(person, "APPROVED", head, after())
            else:
                when = after()
                add(person, "APPROVED", head, when, rng.choice(["", "", "LGTM", "Looks good to me."]))
                if not second and "trap_comment_after_approval" in flags:
                    add(person, "COMMENTED", head, at(when + MINUTE, merge_at - MINUTE), "Nit for a follow-up.")
        if commenter is not None:
            add(commenter, "COMMENTED", head, at(pr.created_at + 10 * MINUTE, merge_at - 2 * MINUTE), "Drive-by: nice.")
        out.sort(key=lambda r: r.submitted_at)
        return out

    def merge(self, st: RepoState, pr: PullRequest, strategy: str, merger: Person, flags: set[str]) -> None:
        at = pr.merged_at
        author = self.identity(self.people[pr.author_login])
        if strategy == "squash":
            if len(pr.commits) > 1:
                body = "\n\n".join(f"* {c.message}" for c in pr.commits)
            else:   # GitHub keeps the body of a single commit
                body = pr.commits[0].message.partition("\n")[2].strip()
            message = f"{pr.title} (#{pr.number})" + (f"\n\n{body}" if body else "")
            squash = self.commit(message, author, WEB_FLOW, at, at, [st.tip])
            st.push(MainEntry(squash, pr=pr))
            pr.merge_commit_sha = squash.sha
        elif strategy == "merge":
            message = f"Merge pull request #{pr.number} from {st.repo.full_name.split('/')[0]}/{pr.head_ref}\n\n{pr.title}"
            merge = self.commit(message, self.identity(merger), WEB_FLOW, at, at, [st.tip, pr.head_sha])
            st.push(MainEntry(merge, side=list(pr.commits), pr=pr))
            pr.merge_commit_sha = merge.sha
        else:   # rebase: copies of every commit, committed by GitHub at merge time
            for c in pr.commits:
                copy = self.commit(c.message, (c.author_name, c.author_email, c.author_login), WEB_FLOW,
                                   c.authored_at, at, [st.tip])
                st.push(MainEntry(copy, pr=pr))
            pr.merge_commit_sha = st.tip
        self.associate(st, pr, strategy, "trap_commit_pulls_missing" in flags)

    def associate(self, st: RepoState, pr: PullRequest, strategy: str, drop_alternatives: bool) -> None:
        """commits/<sha>/pulls: GitHub lists the PR for every commit that landed through it. With
        drop_alternatives, commits also linked by merge_commit_sha or the PR's commit list are
        left out of the association (the other paths must still link them)."""
        repo = st.repo.full_name
        first = len(st.main) - (len(pr.commits) if strategy == "rebase" else 1)
        for entry in st.main[first:]:
            listed = [(c, True) for c in entry.side] + [(entry.commit, entry.commit.sha == pr.merge_commit_sha)]
            for c, alternative in listed:
                if not (drop_alternatives and alternative):
                    self.org.commit_pulls.setdefault((repo, c.sha), []).append(pr)

    def direct_push(self, st: RepoState, person: Person, when: int, message: str) -> Commit:
        """A commit pushed straight to main: the association lists no pull request."""
        ident = self.identity(person)
        commit = self.commit(message, ident, ident, when - self.rng.randint(60, 1800), when,
                             [st.tip] if st.main else [])
        st.push(MainEntry(commit))
        self.org.commit_pulls[(st.repo.full_name, commit.sha)] = []
        return commit

    def side_pr(self, st: RepoState, *, created: int, author: Person, reviewer: Person,
                closed: int | None, commit: Commit | None = None) -> PullRequest:
        """An open or closed-unmerged PR (not part of any change); merge_commit_sha is GitHub's
        test merge, which never lands on main."""
        rng = self.rng
        title = text.pr_title(rng, False)
        head = commit or self.commit(title, self.identity(author), self.identity(author), created, created,
                                     [st.tip])
        number = st.next_pr
        st.next_pr += 1
        pr = PullRequest(repo=st.repo.full_name, number=number, title=title,
                         body=text.pr_body(rng, title), author_login=author.github_login,
                         head_ref=f"feature/{text.slug(title)}", base_ref="main", created_at=created,
                         merged_at=None, closed_at=closed, merge_commit_sha=self.ids.sha(), commits=[head],
                         draft=closed is None and rng.random() < 0.3)
        pr.reviews = [Review(reviewer.github_login, "COMMENTED", head.sha, created + rng.randint(HOUR, 20 * HOUR),
                             "Not sure we need this.")]
        self.org.pulls.append(pr)
        return pr
