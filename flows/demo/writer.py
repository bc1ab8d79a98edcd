"""Writes the sample organization as the folder the FolderTransport serves
(layout: extractors/README.md), plus the SARIF folder and the people directory."""
from __future__ import annotations

import csv
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from collections import defaultdict
from pathlib import Path

from flows.demo.github_payloads import GitHubPayloads
from flows.demo.model import Org
from flows.demo.pagerduty import PagerDutyPayloads
from flows.demo.people import people_rows
from flows.demo.sarif import sarif_text
from flows.demo.servicenow import ServiceNowPayloads

PEOPLE_HEADER = ["person_id", "name", "email", "github_login", "servicenow_user_sys_id",
                 "pagerduty_user_id", "roles", "team", "kind"]


class Files:
    """Writes files under one root. Creating files and directories is dominated by metadata
    latency on many disks, so batches go to a small thread pool (``workers=0``: synchronous);
    the payload building stays on the caller. ``close()`` waits and re-raises a write error."""

    BATCH = 48

    def __init__(self, root: Path, workers: int = 6):
        self.root = str(root)
        self._dirs: set[str] = set()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="demo-writer") if workers else None
        self._slots = threading.BoundedSemaphore(2 * workers or 1)
        self._batch: list[tuple[str, bytes, int | None]] = []
        self._errors: list[BaseException] = []
        self.count = 0
        self.bytes = 0

    def put(self, rel: str, text: str, mtime: int | None = None) -> None:
        """Queue one file; `mtime` (epoch seconds) dates it, as a scan file is dated when written."""
        data = text.encode("utf-8")
        self.count += 1
        self.bytes += len(data)
        self._batch.append((f"{self.root}/{rel}", data, mtime))
        if len(self._batch) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if self._pool is None:
            self._write(batch)
            return
        self._slots.acquire()
        self._pool.submit(self._write, batch).add_done_callback(self._done)

    def _write(self, batch: list[tuple[str, bytes, int | None]]) -> None:
        for path, data, mtime in batch:
            folder = path.rpartition("/")[0]
            if folder not in self._dirs:
                os.makedirs(folder, exist_ok=True)
                self._dirs.add(folder)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            if mtime is not None:
                os.utime(path, (mtime, mtime))

    def _done(self, future) -> None:
        self._slots.release()
        if future.exception() is not None:
            self._errors.append(future.exception())

    def close(self) -> None:
        self._flush()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._errors:
            raise self._errors[0]

    def __enter__(self) -> "Files":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_github(files: Files, org: Org) -> None:
    gh = GitHubPayloads(org.org, {p.github_login: (p.github_id, p.gh_type) for p in org.people}, org.repos)
    files.put(f"github/orgs/{org.org}/repos.json", gh.repos_json())
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
        base = f"github/repos/{full}"
        # the order GET /pulls?state=all&sort=updated&direction=desc returns
        prs = sorted(pulls[full], key=lambda p: (-(p.closed_at or p.created_at), -p.number))
        files.put(f"{base}/pulls.json", gh.pulls_json(prs))
        for pr in prs:
            files.put(f"{base}/pulls/{pr.number}/reviews.json", gh.reviews_json(pr, org.bad_reviews.get((full, pr.number))))
            files.put(f"{base}/pulls/{pr.number}/commits.json", gh.commits_json(full, pr.commits))
        files.put(f"{base}/deployments.json", gh.deployments_json(deployments[full]))
        deployed = set()
        for d in deployments[full]:
            files.put(f"{base}/deployments/{d.id}/statuses.json", gh.statuses_json(d))
            deployed.add(d.sha)
        for sha in sorted(deployed):
            files.put(f"{base}/commits/{sha}/check-runs.json", gh.check_runs_json(full, org.check_runs.get((full, sha), [])))
        for sha in sorted(deployed | commit_shas[full]):
            prs_of = org.commit_pulls.get((full, sha), [])
            files.put(f"{base}/commits/{sha}/pulls.json", gh.pulls_json(prs_of))
    for cmp in org.compares:
        base_commit, head_commit = org.commits[(cmp.repo, cmp.base)], org.commits[(cmp.repo, cmp.head)]
        files.put(f"github/repos/{cmp.repo}/compare/{cmp.base}...{cmp.head}.json",
                  gh.compare_json(cmp, base_commit, head_commit))


def write_servicenow(files: Files, org: Org, user_created: int) -> None:
    sn = ServiceNowPayloads(org.people)
    table = "servicenow/api/now/table"
    crs = sorted(org.change_requests, key=lambda c: c.number)
    files.put(f"{table}/change_request.json", sn.table([sn.change_request(c) for c in crs]))
    rows = sorted(org.approvals, key=lambda a: (a.created_at, a.sys_id))
    files.put(f"{table}/sysapproval_approver.json", sn.table([sn.approval(a) for a in rows]))
    users = [p for p in org.people if p.kind == "human" and p.sn_sys_id]
    files.put(f"{table}/sys_user.json", sn.table([sn.user(p, user_created) for p in users]))


def write_pagerduty(files: Files, org: Org) -> None:
    pd = PagerDutyPayloads({p.pd_id: p.name for p in org.people if p.pd_id})
    files.put("pagerduty/incidents.json", pd.incidents_json(org.incidents))
    for incident in org.incidents:
        files.put(f"pagerduty/incidents/{incident.id}/log_entries.json", pd.log_entries_json(incident))


def write_sarif(files: Files, org: Org) -> None:
    for f in org.sarif_files:
        # dated by its scan, as CI writes it: incremental extraction reads the files modified since
        files.put(f"sarif/{f.repo_name}/{f.file_name}", sarif_text(f),
                  mtime=max((run.end_time for run in f.runs), default=None))


def write_people(files: Files, org: Org) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PEOPLE_HEADER)
    writer.writerows(people_rows(org.people) + org.bad_people_rows)
    files.put("people.csv", buffer.getvalue())


def write_sample(files: Files, org: Org, user_created: int, tickets: str = "servicenow",
                 code_host: str = "github") -> None:
    if code_host == "gitlab":
        from flows.demo.gitlab import write_gitlab
        write_gitlab(files, org)
    else:
        write_github(files, org)
    if tickets == "jira":
        from flows.demo.jira import write_jira
        write_jira(files, org)
    else:
        write_servicenow(files, org, user_created)
    write_pagerduty(files, org)
    write_sarif(files, org)
    if code_host == "gitlab":
        from flows.demo.gitlab import write_people_gitlab
        write_people_gitlab(files, org, PEOPLE_HEADER)
    else:
        write_people(files, org)
