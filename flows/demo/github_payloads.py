"""GitHub REST v3 response bodies for the model records, shaped like the real API (see the
recordings in ``shared/realdata/pygithub`` and ``devlake/github``). Large repeated fragments
(users, repositories, the GitHub Actions app) are serialized once and spliced in."""
from __future__ import annotations

import base64
import json
import zlib
from functools import lru_cache

from flows.demo.clock import gh_time
from flows.demo.model import CheckRun, Commit, Compare, Deployment, PullRequest, Repo, Review

API, WEB = "https://api.github.com", "https://github.com"


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def node_id(kind: str, number: int | str) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


class GitHubPayloads:
    def __init__(self, org: str, people: dict[str, tuple[int, str]], repos: list[Repo]):
        self.org = org
        self.people = people                 # login -> (id, type)
        self.repos = {r.full_name: r for r in repos}
        self._pr: dict[int, str] = {}
        self._commit: dict[str, str] = {}
        self.org_user = self.user(org, 81_000_000 + zlib.crc32(org.encode()) % 1_000_000, "Organization")
        self.app = dumps(_APP)

    # ---- shared fragments ---------------------------------------------------------------------
    @lru_cache(maxsize=None)
    def user_json(self, login: str) -> str:
        known = self.people.get(login)
        uid, kind = known if known else (10_000_000 + zlib.crc32(login.encode()) % 90_000_000, "User")
        return self.user(login, uid, kind)

    @staticmethod
    def user(login: str, uid: int, kind: str) -> str:
        u = f"{API}/users/{login}"
        return dumps({
            "login": login, "id": uid, "node_id": node_id(kind, uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
            "url": u, "html_url": f"{WEB}/{login}", "followers_url": f"{u}/followers",
            "following_url": f"{u}/following{{/other_user}}", "gists_url": f"{u}/gists{{/gist_id}}",
            "starred_url": f"{u}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{u}/subscriptions",
            "organizations_url": f"{u}/orgs", "repos_url": f"{u}/repos", "events_url": f"{u}/events{{/privacy}}",
            "received_events_url": f"{u}/received_events", "type": kind, "user_view_type": "public",
            "site_admin": False})

    @lru_cache(maxsize=None)
    def repo_json(self, full_name: str) -> str:
        r = self.repos[full_name]
        a = f"{API}/repos/{full_name}"
        urls = {k: f"{a}/{v}" for k, v in _REPO_URLS}
        obj = {"id": r.id, "node_id": node_id("Repository", r.id), "name": r.name, "full_name": full_name,
               "private": True, "owner": "\ue000OWNER\ue000", "html_url": f"{WEB}/{full_name}",
               "description": r.description, "fork": False, "url": a, **urls,
               "created_at": gh_time(r.created_at), "updated_at": "2026-09-30T18:00:00Z",
               "pushed_at": "2026-09-30T18:00:00Z", "git_url": f"git://github.com/{full_name}.git",
               "ssh_url": f"git@github.com:{full_name}.git", "clone_url": f"{WEB}/{full_name}.git",
               "svn_url": f"{WEB}/{full_name}", "homepage": None, "size": 1000 + r.id % 90000,
               "stargazers_count": 0, "watchers_count": 0, "language": r.language, "has_issues": True,
               "has_projects": False, "has_downloads": True, "has_wiki": False, "has_pages": False,
               "has_discussions": False, "forks_count": 0, "mirror_url": None, "archived": False,
               "disabled": False, "open_issues_count": r.id % 17, "license": None, "allow_forking": False,
               "is_template": False, "web_commit_signoff_required": False, "topics": [r.team],
               "visibility": "private", "forks": 0, "open_issues": r.id % 17, "watchers": 0,
               "default_branch": "main"}
        return dumps(obj).replace('"\ue000OWNER\ue000"', self.org_user)

    # ---- pull requests ------------------------------------------------------------------------
    def pr_json(self, pr: PullRequest) -> str:
        cached = self._pr.get(id(pr))
        if cached is not None:
            return cached
        full = pr.repo
        a, n = f"{API}/repos/{full}", pr.number
        head = {"label": f"{self.org}:{pr.head_ref}", "ref": pr.head_ref, "sha": pr.head_sha,
                "user": "\ue000ORG\ue000", "repo": "\ue000REPO\ue000"}
        base_sha = pr.commits[0].parents[0] if pr.commits[0].parents else pr.head_sha
        base = {"label": f"{self.org}:{pr.base_ref}", "ref": pr.base_ref, "sha": base_sha,
                "user": "\ue000ORG\ue000", "repo": "\ue000REPO\ue000"}
        obj = {
            "url": f"{a}/pulls/{n}", "id": pr.id, "node_id": node_id("PullRequest", pr.id),
            "html_url": f"{WEB}/{full}/pull/{n}", "diff_url": f"{WEB}/{full}/pull/{n}.diff",
            "patch_url": f"{WEB}/{full}/pull/{n}.patch", "issue_url": f"{a}/issues/{n}", "number": n,
            "state": pr.state, "locked": False, "title": pr.title, "user": "\ue000AUTHOR\ue000", "body": pr.body,
            "created_at": gh_time(pr.created_at), "updated_at": gh_time(pr.closed_at or pr.created_at),
            "closed_at": gh_time(pr.closed_at) if pr.closed_at else None,
            "merged_at": gh_time(pr.merged_at) if pr.merged_at else None,
            "merge_commit_sha": pr.merge_commit_sha, "assignee": None, "assignees": [],
            "requested_reviewers": [], "requested_teams": [],
            "labels": [{"id": 5_000_000_000 + zlib.crc32(f"{full}:{l}".encode()) % 10**8,
                        "node_id": node_id("Label", l), "url": f"{a}/labels/{l}", "name": l,
                        "color": "%06x" % (zlib.crc32(l.encode()) % 0xFFFFFF), "default": l in ("bug", "enhancement"),
                        "description": None} for l in pr.labels],
            "milestone": None, "draft": pr.draft, "commits_url": f"{a}/pulls/{n}/commits",
            "review_comments_url": f"{a}/pulls/{n}/comments", "review_comment_url": f"{a}/pulls/comments{{/number}}",
            "comments_url": f"{a}/issues/{n}/comments", "statuses_url": f"{a}/statuses/{pr.head_sha}",
            "head": head, "base": base,
            "_links": {"self": {"href": f"{a}/pulls/{n}"}, "html": {"href": f"{WEB}/{full}/pull/{n}"},
                       "issue": {"href": f"{a}/issues/{n}"}, "comments": {"href": f"{a}/issues/{n}/comments"},
                       "review_comments": {"href": f"{a}/pulls/{n}/comments"},
                       "review_comment": {"href": f"{a}/pulls/comments{{/number}}"},
                       "commits": {"href": f"{a}/pulls/{n}/commits"},
                       "statuses": {"href": f"{a}/statuses/{pr.head_sha}"}},
            "author_association": "MEMBER" if "[bot]" not in pr.author_login else "CONTRIBUTOR",
            "auto_merge": None, "active_lock_reason": None,
        }
        text = (dumps(obj).replace('"\ue000AUTHOR\ue000"', self.user_json(pr.author_login))
                .replace('"\ue000ORG\ue000"', self.org_user).replace('"\ue000REPO\ue000"', self.repo_json(full)))
        self._pr[id(pr)] = text
        return text

    def pulls_json(self, prs: list[PullRequest]) -> str:
        return "[" + ",".join(self.pr_json(p) for p in prs) + "]"

    def review_obj(self, pr: PullRequest, r: Review, with_id: bool = True) -> str:
        html = f"{WEB}/{pr.repo}/pull/{pr.number}#pullrequestreview-{r.id}"
        obj = {"id": r.id, "node_id": node_id("PullRequestReview", r.id), "user": "\ue000U\ue000", "body": r.body,
               "state": r.state, "html_url": html, "pull_request_url": f"{API}/repos/{pr.repo}/pulls/{pr.number}",
               "author_association": "MEMBER",
               "_links": {"html": {"href": html}, "pull_request": {"href": f"{API}/repos/{pr.repo}/pulls/{pr.number}"}},
               "submitted_at": gh_time(r.submitted_at), "commit_id": r.commit_id}
        if not with_id:
            del obj["id"]
        return dumps(obj).replace('"\ue000U\ue000"', self.user_json(r.login))

    def reviews_json(self, pr: PullRequest, extra: Review | None = None) -> str:
        items = [self.review_obj(pr, r) for r in pr.reviews]
        if extra is not None:
            items.append(self.review_obj(pr, extra, with_id=False))
        return "[" + ",".join(items) + "]"

    # ---- commits and compares -----------------------------------------------------------------
    def commit_json(self, full: str, c: Commit) -> str:
        cached = self._commit.get(c.sha)
        if cached is not None:
            return cached
        a = f"{API}/repos/{full}"
        obj = {"sha": c.sha, "node_id": node_id("Commit", c.sha[:20]),
               "commit": {"author": {"name": c.author_name, "email": c.author_email, "date": gh_time(c.authored_at)},
                          "committer": {"name": c.committer_name, "email": c.committer_email,
                                        "date": gh_time(c.committed_at)},
                          "message": c.message, "tree": {"sha": c.tree, "url": f"{a}/git/trees/{c.tree}"},
                          "url": f"{a}/git/commits/{c.sha}", "comment_count": 0,
                          "verification": {"verified": c.committer_login == "web-flow",
                                           "reason": "valid" if c.committer_login == "web-flow" else "unsigned",
                                           "signature": None, "payload": None, "verified_at": None}},
               "url": f"{a}/commits/{c.sha}", "html_url": f"{WEB}/{full}/commit/{c.sha}",
               "comments_url": f"{a}/commits/{c.sha}/comments",
               "author": "\ue000A\ue000" if c.author_login else None,
               "committer": "\ue000C\ue000" if c.committer_login else None,
               "parents": [{"sha": p, "url": f"{a}/commits/{p}", "html_url": f"{WEB}/{full}/commit/{p}"}
                           for p in c.parents]}
        text = dumps(obj)
        if c.author_login:
            text = text.replace('"\ue000A\ue000"', self.user_json(c.author_login))
        if c.committer_login:
            text = text.replace('"\ue000C\ue000"', self.user_json(c.committer_login))
        self._commit[c.sha] = text
        return text

    def commits_json(self, full: str, commits: list[Commit]) -> str:
        return "[" + ",".join(self.commit_json(full, c) for c in commits) + "]"

    def compare_json(self, cmp: Compare, base: Commit, head: Commit) -> str:
        a, w = f"{API}/repos/{cmp.repo}", f"{WEB}/{cmp.repo}"
        spec = f"{cmp.base}...{cmp.head}"
        seed = int(cmp.head[:6], 16)
        files = [{"sha": cmp.head[i:i + 20] + cmp.base[i:i + 20], "filename": name, "status": "modified",
                  "additions": seed % (17 + i), "deletions": seed % (7 + i), "changes": seed % (17 + i) + seed % (7 + i),
                  "blob_url": f"{w}/blob/{cmp.head}/{name}", "raw_url": f"{w}/raw/{cmp.head}/{name}",
                  "contents_url": f"{a}/contents/{name}?ref={cmp.head}",
                  "patch": "@@ -12,7 +12,9 @@ func handle(ctx context.Context) error {"}
                 for i, name in enumerate(cmp.files)]
        obj = {"url": f"{a}/compare/{spec}", "html_url": f"{w}/compare/{spec}",
               "permalink_url": f"{w}/compare/{self.org}:{cmp.base[:7]}...{self.org}:{cmp.head[:7]}",
               "diff_url": f"{w}/compare/{spec}.diff", "patch_url": f"{w}/compare/{spec}.patch",
               "base_commit": "\ue000BASE\ue000", "merge_base_commit": "\ue000MB\ue000", "status": cmp.status,
               "ahead_by": cmp.ahead_by, "behind_by": cmp.behind_by, "total_commits": len(cmp.commits),
               "commits": "\ue000COMMITS\ue000", "files": files if cmp.commits else []}
        merge_base = base if cmp.status != "behind" else head
        return (dumps(obj).replace('"\ue000BASE\ue000"', self.commit_json(cmp.repo, base))
                .replace('"\ue000MB\ue000"', self.commit_json(cmp.repo, merge_base))
                .replace('"\ue000COMMITS\ue000"', self.commits_json(cmp.repo, cmp.commits)))

    # ---- checks and deployments ---------------------------------------------------------------
    def check_runs_json(self, full: str, runs: list[CheckRun]) -> str:
        a, w = f"{API}/repos/{full}", f"{WEB}/{full}"
        items = []
        for r in sorted(runs, key=lambda r: -r.id):
            obj = {"id": r.id, "name": r.name, "node_id": node_id("CheckRun", r.id), "head_sha": r.head_sha,
                   "external_id": f"{r.id:x}", "url": f"{a}/check-runs/{r.id}",
                   "html_url": f"{w}/actions/runs/{r.id // 3}/job/{r.id}", "details_url": f"{w}/actions/runs/{r.id // 3}/job/{r.id}",
                   "status": r.status, "conclusion": r.conclusion, "started_at": gh_time(r.started_at),
                   "completed_at": gh_time(r.completed_at) if r.completed_at else None,
                   "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                              "annotations_url": f"{a}/check-runs/{r.id}/annotations"},
                   "check_suite": {"id": r.id // 2}, "app": "\ue000APP\ue000", "pull_requests": []}
            app = self.app if r.app_slug == "github-actions" else self.app.replace(
                '"slug":"github-actions"', f'"slug":"{r.app_slug}"')
            items.append(dumps(obj).replace('"\ue000APP\ue000"', app))
        return f'{{"total_count":{len(items)},"check_runs":[' + ",".join(items) + "]}"

    def deployments_json(self, deployments: list[Deployment]) -> str:
        items = []
        for d in sorted(deployments, key=lambda d: -d.id):
            a = f"{API}/repos/{d.repo}"
            bot = self.people.get(d.creator_login, (0, "User"))[1] == "Bot"
            obj = {"url": f"{a}/deployments/{d.id}", "id": d.id, "node_id": node_id("Deployment", d.id),
                   "sha": d.sha, "ref": d.ref, "task": d.task, "payload": d.payload,
                   "original_environment": d.environment, "environment": d.environment,
                   "description": d.description, "creator": "\ue000U\ue000", "created_at": gh_time(d.created_at),
                   "updated_at": gh_time(d.statuses[-1].created_at if d.statuses else d.created_at),
                   "statuses_url": f"{a}/deployments/{d.id}/statuses", "repository_url": a,
                   "transient_environment": False, "production_environment": d.environment == "production",
                   "performed_via_github_app": "\ue000APP\ue000" if bot else None}
            items.append(dumps(obj).replace('"\ue000U\ue000"', self.user_json(d.creator_login))
                         .replace('"\ue000APP\ue000"', self.app))
        return "[" + ",".join(items) + "]"

    def statuses_json(self, d: Deployment) -> str:
        a = f"{API}/repos/{d.repo}"
        items = []
        for s in sorted(d.statuses, key=lambda s: -s.id):
            log = None if d.manual else f"{WEB}/{d.repo}/actions/runs/{d.id * 7 + 11}"
            obj = {"url": f"{a}/deployments/{d.id}/statuses/{s.id}", "id": s.id,
                   "node_id": node_id("DeploymentStatus", s.id), "state": s.state, "creator": "\ue000U\ue000",
                   "description": s.description, "environment": d.environment, "target_url": log,
                   "created_at": gh_time(s.created_at), "updated_at": gh_time(s.created_at),
                   "deployment_url": f"{a}/deployments/{d.id}", "repository_url": a,
                   "environment_url": f"https://{d.environment}.{d.repo.split('/')[1]}.acme.example",
                   "log_url": log, "performed_via_github_app": None}
            items.append(dumps(obj).replace('"\ue000U\ue000"', self.user_json(s.creator_login)))
        return "[" + ",".join(items) + "]"

    def repos_json(self) -> str:
        return "[" + ",".join(self.repo_json(f) for f in self.repos) + "]"


_REPO_URLS = [(k, v) for k, v in (
    ("forks_url", "forks"), ("keys_url", "keys{/key_id}"), ("collaborators_url", "collaborators{/collaborator}"),
    ("teams_url", "teams"), ("hooks_url", "hooks"), ("issue_events_url", "issues/events{/number}"),
    ("events_url", "events"), ("assignees_url", "assignees{/user}"), ("branches_url", "branches{/branch}"),
    ("tags_url", "tags"), ("blobs_url", "git/blobs{/sha}"), ("git_tags_url", "git/tags{/sha}"),
    ("git_refs_url", "git/refs{/sha}"), ("trees_url", "git/trees{/sha}"), ("statuses_url", "statuses/{sha}"),
    ("languages_url", "languages"), ("stargazers_url", "stargazers"), ("contributors_url", "contributors"),
    ("subscribers_url", "subscribers"), ("subscription_url", "subscription"), ("commits_url", "commits{/sha}"),
    ("git_commits_url", "git/commits{/sha}"), ("comments_url", "comments{/number}"),
    ("issue_comment_url", "issues/comments{/number}"), ("contents_url", "contents/{+path}"),
    ("compare_url", "compare/{base}...{head}"), ("merges_url", "merges"),
    ("archive_url", "{archive_format}{/ref}"), ("downloads_url", "downloads"), ("issues_url", "issues{/number}"),
    ("pulls_url", "pulls{/number}"), ("milestones_url", "milestones{/number}"),
    ("notifications_url", "notifications{?since,all,participating}"), ("labels_url", "labels{/name}"),
    ("releases_url", "releases{/id}"), ("deployments_url", "deployments"))]

_APP = {
    "id": 15368, "client_id": "Iv1.05c79e9ad1f6bdfa", "slug": "github-actions", "node_id": "MDM6QXBwMTUzNjg=",
    "owner": {"login": "github", "id": 9919, "node_id": "MDEyOk9yZ2FuaXphdGlvbjk5MTk=",
              "avatar_url": "https://avatars.githubusercontent.com/u/9919?v=4", "gravatar_id": "",
              "url": "https://api.github.com/users/github", "html_url": "https://github.com/github",
              "type": "Organization", "user_view_type": "public", "site_admin": False},
    "name": "GitHub Actions", "description": "Automate your workflow from idea to production",
    "external_url": "https://help.github.com/en/actions", "html_url": "https://github.com/apps/github-actions",
    "created_at": "2018-07-30T09:30:17Z", "updated_at": "2024-04-10T20:33:16Z",
    "permissions": {"actions": "write", "checks": "write", "contents": "write", "deployments": "write",
                    "issues": "write", "metadata": "read", "packages": "write", "pages": "write",
                    "pull_requests": "write", "repository_hooks": "write", "repository_projects": "write",
                    "security_events": "write", "statuses": "write", "vulnerability_alerts": "read"},
    "events": ["branch_protection_rule", "check_run", "check_suite", "create", "delete", "deployment",
               "deployment_status", "discussion", "discussion_comment", "fork", "gollum", "issues",
               "issue_comment", "label", "merge_group", "milestone", "page_build", "project", "project_card",
               "project_column", "public", "pull_request", "pull_request_review", "pull_request_review_comment",
               "push", "registry_package", "release", "repository", "repository_dispatch", "status", "watch",
               "workflow_dispatch", "workflow_run"],
}
