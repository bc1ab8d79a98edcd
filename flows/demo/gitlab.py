"""The sample organization as GitLab REST v4 responses (``generate(..., code_host="gitlab")``).

The same model the GitHub writer serializes, written under ``sample/gitlab/`` in the layout
``extractors.gitlab.transport.GitLabFolderTransport`` serves, so the ground truth holds
unchanged. How GitHub-only concepts are carried (each read back by a ``stg_gitlab__*`` view):

* accounts: GitLab usernames are the GitHub logins, ``[bot]`` suffixes becoming ``-bot``
  (``gitlab_username``); people.csv gets the optional ``gitlab_username`` column.
* deployment statuses: a GitLab deployment has one status; a deployment that ever succeeded is
  ``success`` with ``updated_at`` = its first success, else its last state in GitLab's words.
* deployment task/description/payload: the deploy job's name is the task (``deploy:rollback``);
  the pipeline name carries the description (plus a ``change_request`` key the payload held);
  the human behind a bot deployer (``payload.triggered_by``) is the pipeline's ``user``.
* reviews: approval decisions as system notes (approved / unapproved / requested changes) at the
  review time; ``COMMENTED`` reviews are ordinary comments; the malformed review is a comment
  without an id (EV-03 counts it under ``gitlab/mr_notes``). ``approved_by`` lists the reviewers
  whose last decision is an approval.
* commits: GitLab commits carry no account, so a commit e-mail that identifies its author only
  through the GitHub account (a GitHub no-reply or an address outside the directory) becomes
  the account's GitLab no-reply address; ``web-flow`` commits are GitLab's. Messages (and their
  ``Co-authored-by`` trailers) are unchanged.
* check runs: one pipeline per deployed commit holding the runs as jobs (status in GitLab's
  words; a non-success conclusion other than cancelled/skipped is ``failed``).
"""
from __future__ import annotations

import csv
import io
import json
import re
import zlib
from collections import defaultdict

from flows.demo.clock import gh_time
from flows.demo.model import CheckRun, Commit, Deployment, Org, PullRequest, Review
from flows.demo.people import people_rows
from flows.demo.truth import Result

WEB = "https://gitlab.example.com"
_GH_NOREPLY = re.compile(r"^[0-9]+\+(.+)@users\.noreply\.github\.com$", re.IGNORECASE)
_NOTE = {"APPROVED": "approved this merge request", "DISMISSED": "unapproved this merge request",
         "CHANGES_REQUESTED": "requested changes"}
_JOB_STATUS = {"success": "success", "cancelled": "canceled", "skipped": "skipped"}
_DEPLOY_STATUS = {"failure": "failed", "error": "canceled", "in_progress": "running", "queued": "created",
                  "pending": "blocked", "inactive": "canceled"}


def gitlab_username(login: str) -> str:
    return login[:-len("[bot]")] + "-bot" if login.endswith("[bot]") else login


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class GitLabPayloads:
    def __init__(self, org: Org):
        self.org = org
        self.people = {p.github_login: p for p in org.people if p.github_login}
        self.emails = {p.email.lower() for p in org.people if p.email}
        self.project_ids = {r.full_name: r.id for r in org.repos}
        self._pipeline_id = 5_000_000_000

    # ---- fragments ------------------------------------------------------------------------------
    def user(self, login: str) -> dict:
        person = self.people.get(login)
        uid = person.github_id if person else 10_000_000 + zlib.crc32(login.encode()) % 90_000_000
        name = gitlab_username(login)
        return {"id": uid, "username": name, "name": person.name if person else name, "state": "active",
                "locked": False, "avatar_url": f"{WEB}/uploads/-/system/user/avatar/{uid}/avatar.png",
                "web_url": f"{WEB}/{name}", "bot": login.endswith("[bot]") or bool(person and person.gh_type == "Bot")}

    def noreply(self, login: str) -> str:
        return f"{self.user(login)['id']}-{gitlab_username(login)}@users.noreply.gitlab.com"

    def email(self, email: str, login: str | None) -> tuple[str, str | None]:
        if login == "web-flow":
            return "noreply@gitlab.com", "GitLab"
        if login and (_GH_NOREPLY.match(email) or email.lower() not in self.emails):
            return self.noreply(login), None
        return email, None

    def commit(self, full: str, c: Commit) -> dict:
        author_email, _ = self.email(c.author_email, c.author_login)
        committer_email, committer_name = self.email(c.committer_email, c.committer_login)
        title = c.message.split("\n", 1)[0]
        return {"id": c.sha, "short_id": c.sha[:8], "created_at": gh_time(c.committed_at), "parent_ids": list(c.parents),
                "title": title, "message": c.message, "author_name": c.author_name, "author_email": author_email,
                "authored_date": gh_time(c.authored_at), "committer_name": committer_name or c.committer_name,
                "committer_email": committer_email, "committed_date": gh_time(c.committed_at), "trailers": {},
                "extended_trailers": {}, "web_url": f"{WEB}/{full}/-/commit/{c.sha}"}

    def project(self, full: str) -> dict:
        r = next(r for r in self.org.repos if r.full_name == full)
        namespace = full.split("/")[0]
        return {"id": r.id, "description": r.description, "name": r.name, "name_with_namespace": f"{namespace} / {r.name}",
                "path": r.name, "path_with_namespace": full, "created_at": gh_time(r.created_at),
                "default_branch": "main", "tag_list": [r.team], "topics": [r.team],
                "ssh_url_to_repo": f"git@gitlab.example.com:{full}.git", "http_url_to_repo": f"{WEB}/{full}.git",
                "web_url": f"{WEB}/{full}", "visibility": "private", "archived": False,
                "namespace": {"name": namespace, "path": namespace, "kind": "group", "full_path": namespace},
                "last_activity_at": "2026-09-30T18:00:00Z"}

    # ---- merge requests -------------------------------------------------------------------------
    def merge_request(self, pr: PullRequest) -> dict:
        state = "opened" if pr.closed_at is None else ("merged" if pr.merged_at else "closed")
        merged_by = self.user(pr.merged_by) if pr.merged_at and pr.merged_by else None
        return {"id": pr.id, "iid": pr.number, "project_id": self.project_ids[pr.repo], "title": pr.title,
                "description": pr.body, "state": state, "created_at": gh_time(pr.created_at),
                "updated_at": gh_time(pr.closed_at or pr.created_at), "merged_by": merged_by, "merge_user": merged_by,
                "merged_at": gh_time(pr.merged_at) if pr.merged_at else None,
                "closed_by": self.user(pr.author_login) if state == "closed" else None,
                "closed_at": gh_time(pr.closed_at) if state == "closed" else None,
                "target_branch": pr.base_ref, "source_branch": pr.head_ref, "author": self.user(pr.author_login),
                "assignees": [], "reviewers": [self.user(r.login) for r in pr.reviews], "labels": list(pr.labels),
                "draft": pr.draft, "work_in_progress": pr.draft, "merge_when_pipeline_succeeds": False,
                "merge_status": "can_be_merged", "detailed_merge_status": "mergeable", "sha": pr.head_sha,
                "merge_commit_sha": pr.merge_commit_sha if pr.merged_at else None, "squash_commit_sha": None,
                "squash": False, "references": {"short": f"!{pr.number}", "full": f"{pr.repo}!{pr.number}"},
                "web_url": f"{WEB}/{pr.repo}/-/merge_requests/{pr.number}"}

    def note(self, pr: PullRequest, r: Review, with_id: bool = True) -> dict:
        system = r.state in _NOTE
        obj = {"id": r.id, "type": None, "body": _NOTE[r.state] if system else (r.body or "Looks fine to me."),
               "author": self.user(r.login), "created_at": gh_time(r.submitted_at),
               "updated_at": gh_time(r.submitted_at), "system": system, "noteable_id": pr.id,
               "noteable_type": "MergeRequest", "noteable_iid": pr.number, "resolvable": False, "confidential": False,
               "internal": False}
        if not with_id:
            del obj["id"]
        return obj

    def notes(self, pr: PullRequest, extra: Review | None) -> list[dict]:
        items = [self.note(pr, r) for r in sorted(pr.reviews, key=lambda r: (r.submitted_at, r.id))]
        if extra is not None:
            items.append(self.note(pr, extra, with_id=False))
        return items

    def approvals(self, pr: PullRequest) -> dict:
        last: dict[str, str] = {}
        for r in sorted(pr.reviews, key=lambda r: (r.submitted_at, r.id)):
            if r.state in _NOTE:
                last[r.login] = r.state
        approvers = [self.user(login) for login, state in last.items() if state == "APPROVED"]
        return {"id": pr.id, "iid": pr.number, "project_id": self.project_ids[pr.repo], "title": pr.title,
                "state": "merged" if pr.merged_at else "closed", "approved": len(approvers) >= 2,
                "approvals_required": 2, "approvals_left": max(0, 2 - len(approvers)),
                "approved_by": [{"user": u} for u in approvers]}

    # ---- CI and deployments ---------------------------------------------------------------------
    def pipeline(self, full: str, sha: str, runs: list[CheckRun]) -> tuple[dict, list[dict]]:
        self._pipeline_id += 1
        pid = self._pipeline_id
        base = {"id": pid, "iid": pid % 100_000, "project_id": self.project_ids[full], "sha": sha, "ref": "main",
                "source": "push", "web_url": f"{WEB}/{full}/-/pipelines/{pid}"}
        jobs = []
        for r in sorted(runs, key=lambda r: -r.id):
            status = (_JOB_STATUS.get(r.conclusion or "", "failed") if r.status == "completed"
                      else "running" if r.status == "in_progress" else "pending")
            jobs.append({"id": r.id, "status": status, "stage": "test", "name": r.name, "ref": "main", "tag": False,
                         "allow_failure": False, "created_at": gh_time(r.started_at), "started_at": gh_time(r.started_at),
                         "finished_at": gh_time(r.completed_at) if r.completed_at else None,
                         "duration": (r.completed_at - r.started_at) if r.completed_at else None,
                         "commit": {"id": sha, "short_id": sha[:8]},
                         "pipeline": {**base, "status": "running"}, "web_url": f"{WEB}/{full}/-/jobs/{r.id}"})
        statuses = [j["status"] for j in jobs]
        status = ("running" if {"running", "pending"} & set(statuses)
                  else "failed" if "failed" in statuses else "success")
        finished = [r.completed_at for r in runs if r.completed_at]
        pipeline = {**base, "status": status, "created_at": gh_time(min(r.started_at for r in runs)),
                    "updated_at": gh_time(max(finished)) if finished and status != "running" else None}
        for job in jobs:
            job["pipeline"]["status"] = status
        return pipeline, jobs

    def deployment(self, d: Deployment) -> dict:
        first = d.first_success()
        if first is not None:
            status, updated = "success", first
        elif d.statuses:
            last = d.statuses[-1]
            status, updated = _DEPLOY_STATUS.get(last.state, last.state), last.created_at
        else:
            status, updated = "created", d.created_at
        name = d.description
        key = d.payload.get("change_request")
        if key and key not in name:
            name += f" [{key}]"
        pipeline = {"id": 7_000_000_000 + d.id, "iid": d.id % 100_000, "project_id": self.project_ids[d.repo],
                    "sha": d.sha, "ref": d.ref, "status": "success" if status == "success" else "failed",
                    "source": "push", "name": name, "created_at": gh_time(d.created_at), "updated_at": gh_time(updated),
                    "web_url": f"{WEB}/{d.repo}/-/pipelines/{7_000_000_000 + d.id}"}
        if d.payload.get("triggered_by"):
            pipeline["user"] = self.user(d.payload["triggered_by"])
        job_id = 8_000_000_000 + d.id
        env_id = 1 if d.environment == "production" else 2
        obj = {"id": d.id, "iid": d.id % 1_000_000, "ref": d.ref, "sha": d.sha, "status": status,
                "created_at": gh_time(d.created_at), "updated_at": gh_time(updated), "user": self.user(d.creator_login),
                "environment": {"id": env_id, "name": d.environment, "slug": d.environment, "state": "available",
                                "external_url": f"https://{d.environment}.{d.repo.split('/')[1]}.acme.example"},
                "deployable": {"id": job_id, "status": status if status in ("success", "failed", "running") else "canceled",
                               "stage": "deploy", "name": d.task, "ref": d.ref, "tag": False,
                               "created_at": gh_time(d.created_at), "started_at": gh_time(d.created_at),
                               "finished_at": gh_time(updated), "user": self.user(d.creator_login),
                               "commit": {"id": d.sha, "short_id": d.sha[:8]}, "pipeline": pipeline,
                               "web_url": f"{WEB}/{d.repo}/-/jobs/{job_id}"}}
        if d.manual:        # created through the API by hand: no job, no pipeline (CM-06)
            obj["deployable"] = None
        return obj


def write_gitlab(files, org: Org) -> None:
    """Write ``gitlab/...`` (the GitLabFolderTransport layout) for every repository."""
    gl = GitLabPayloads(org)
    files.put(f"gitlab/groups/{org.org}/projects.json", dumps([gl.project(r.full_name) for r in org.repos]))
    pulls, deployments = defaultdict(list), defaultdict(list)
    for pr in org.pulls:
        pulls[pr.repo].append(pr)
    for d in org.deployments:
        deployments[d.repo].append(d)
    commit_shas = defaultdict(set)
    for cmp in org.compares:
        commit_shas[cmp.repo].update(c.sha for c in cmp.commits)
    for repo in org.repos:
        full = repo.full_name
        base = f"gitlab/projects/{full}"
        files.put(f"{base}.json", dumps(gl.project(full)))
        prs = sorted(pulls[full], key=lambda p: (-(p.closed_at or p.created_at), -p.number))
        files.put(f"{base}/merge_requests.json", dumps([gl.merge_request(p) for p in prs]))
        for pr in prs:
            mr = f"{base}/merge_requests/{pr.number}"
            files.put(f"{mr}/notes.json", dumps(gl.notes(pr, org.bad_reviews.get((full, pr.number)))))
            files.put(f"{mr}/approvals.json", dumps(gl.approvals(pr)))
            files.put(f"{mr}/commits.json", dumps([gl.commit(full, c) for c in reversed(pr.commits)]))
        files.put(f"{base}/deployments.json", dumps([gl.deployment(d) for d in sorted(deployments[full], key=lambda d: -d.id)]))
        deployed = sorted({d.sha for d in deployments[full]})
        pipelines = []
        for sha in deployed:
            runs = org.check_runs.get((full, sha), [])
            if runs:
                pipeline, jobs = gl.pipeline(full, sha, runs)
                pipelines.append(pipeline)
                files.put(f"{base}/pipelines/{pipeline['id']}/jobs.json", dumps(jobs))
        files.put(f"{base}/pipelines.json", dumps(sorted(pipelines, key=lambda p: -p["id"])))
        for sha in sorted(set(deployed) | commit_shas[full]):
            mrs = [gl.merge_request(p) for p in org.commit_pulls.get((full, sha), [])]
            files.put(f"{base}/repository/commits/{sha}/merge_requests.json", dumps(mrs))
    for cmp in org.compares:
        head = org.commits[(cmp.repo, cmp.head)]
        files.put(f"gitlab/projects/{cmp.repo}/repository/compare/{cmp.base}...{cmp.head}.json", dumps({
            "commit": gl.commit(cmp.repo, head) if cmp.commits else None,
            "commits": [gl.commit(cmp.repo, c) for c in cmp.commits],
            "diffs": [{"old_path": name, "new_path": name, "a_mode": "100644",
                       "b_mode": "100644", "new_file": False, "renamed_file": False, "deleted_file": False,
                       "diff": "@@ -12,7 +12,9 @@ func handle(ctx context.Context) error {"} for name in cmp.files],
            "compare_timeout": False, "compare_same_ref": cmp.base == cmp.head,
            "web_url": f"{WEB}/{cmp.repo}/-/compare/{cmp.base}...{cmp.head}"}))


def write_people_gitlab(files, org: Org, header: list[str]) -> None:
    """people.csv with the optional ``gitlab_username`` column after the standard ones."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*header, "gitlab_username"])
    rows = [[*row, gitlab_username(p.github_login) if p.github_login else ""]
            for row, p in zip(people_rows(org.people), org.people)]
    writer.writerows(rows + [[*row, ""] for row in org.bad_people_rows])
    files.put("people.csv", buffer.getvalue())


def gitlab_config_toml(text: str, org: Org) -> str:
    """The demo config with GitLab (the group's projects) as the code host instead of GitHub."""
    old = f'[sources.github]\nbase_url = "file://sample/github"\norg = "{org.org}"\n'
    if old not in text:
        raise ValueError("demo config layout changed: cannot switch it to GitLab")
    return text.replace(old, f'[sources.gitlab]\nbase_url = "file://sample/gitlab"\ngroup = "{org.org}"\n')


def gitlab_quarantine(results: list[Result]) -> list[Result]:
    """EV-03 truth for the GitLab sample: the malformed review is a malformed MR note."""
    moved = {r.subject_id: r for r in results}
    bad = moved.get("github/reviews")
    if bad is not None and bad.status == "fail":
        moved["github/reviews"] = Result("EV-03", "github/reviews", "pass", "no quarantined records")
        moved["gitlab/mr_notes"] = Result("EV-03", "gitlab/mr_notes", "fail", bad.reason)
    return [moved[s] for s in sorted(moved)]
