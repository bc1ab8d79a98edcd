"""An in-memory warehouse for report tests: the result tables per the contract, filled with a
hand-written quarter (`make_small`) or a generated organisation at demo scale (`make_demo`).

Eyeball a report without writing code:
    .venv/bin/python tests/reports/quarterly_fixture.py /tmp/report-check          # small
    .venv/bin/python tests/reports/quarterly_fixture.py /tmp/report-check --demo   # ~3,000 changes
"""
from __future__ import annotations

import hashlib
import json
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd

from warehouse.models import entity_unions
from warehouse.results_store import RUN_RESULTS_MACRO

UTC = timezone.utc
GENERATED_AT = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
MALICIOUS = ('PR "<img src=\'http://evil.example/x.png\'><script>alert(1)</script>'
             '<link rel=stylesheet href=\'https://evil.example/s.css\'>" has no approval')

DDL = [  # the subset of warehouse/schema.py the report reads, plus the staging views as tables
    "create schema if not exists raw",
    """create table raw._manifests (manifest_path VARCHAR, manifest_sha256 VARCHAR, system VARCHAR,
        unit VARCHAR, run_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, base_url VARCHAR,
        files JSON, count_records BIGINT, count_quarantined BIGINT, cursors JSON, loaded_at TIMESTAMPTZ)""",
    """create table raw.quarantine (_run_id VARCHAR, system VARCHAR, stream VARCHAR, source VARCHAR,
        locator VARCHAR, reason VARCHAR, raw VARCHAR, _loaded_at TIMESTAMPTZ)""",
    """create table control_catalog (control_id VARCHAR PRIMARY KEY, slug VARCHAR, title VARCHAR,
        clause VARCHAR, severity VARCHAR, subject_type VARCHAR, description VARCHAR)""",
    """create table evaluation_runs (run_id VARCHAR PRIMARY KEY, period VARCHAR, started_at TIMESTAMPTZ,
        finished_at TIMESTAMPTZ, config_hash VARCHAR, count_changes BIGINT, count_results BIGINT,
        evaluated_at TIMESTAMPTZ, results_base VARCHAR)""",
    """create table control_results (run_id VARCHAR, period VARCHAR, control_id VARCHAR,
        subject_type VARCHAR, subject_id VARCHAR, status VARCHAR, reason VARCHAR, evidence JSON,
        evaluated_at TIMESTAMPTZ)""",
    """create table control_result_removals (run_id VARCHAR, control_id VARCHAR, subject_type VARCHAR,
        subject_id VARCHAR)""",
    RUN_RESULTS_MACRO,
    """create table change_outcomes (run_id VARCHAR, period VARCHAR, change_id VARCHAR, repo VARCHAR,
        service VARCHAR, team VARCHAR, deployment_id VARCHAR, deployment_url VARCHAR, sha VARCHAR,
        deployed_at TIMESTAMPTZ, deployer_login VARCHAR, deployer_person_id VARCHAR, category VARCHAR,
        ticket_number VARCHAR, ticket_url VARCHAR, is_emergency BOOLEAN, is_rollback BOOLEAN,
        is_baseline BOOLEAN, outcome VARCHAR, failed_controls VARCHAR[], reasons VARCHAR[],
        exception_ids VARCHAR[])""",
    """create table result_exceptions (run_id VARCHAR, control_id VARCHAR, subject_id VARCHAR,
        exception_id VARCHAR, justification VARCHAR, approver VARCHAR, expires_at TIMESTAMPTZ, file_sha256 VARCHAR)""",
    """create table stg_github__deployments (deployment_id BIGINT, repo VARCHAR, sha VARCHAR,
        environment VARCHAR, created_at TIMESTAMPTZ)""",
    """create table stg_github__deployment_statuses (status_id BIGINT, deployment_id BIGINT,
        repo VARCHAR, state VARCHAR, created_at TIMESTAMPTZ)""",
    """create table stg_pagerduty__incidents (incident_id VARCHAR, incident_number BIGINT, title VARCHAR,
        status VARCHAR, urgency VARCHAR, priority VARCHAR, service_id VARCHAR, service_name VARCHAR,
        created_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ, html_url VARCHAR)""",
]

_TITLES = """CM-01|Undocumented change|§2 Submit, §6, §7
CM-02|Unattributable change|§6 shared accounts
CM-03|No code review|§3 code review, §6
CM-04|Insufficient review|§3 code review
CM-05|CI not passed|§3 automated tests
CM-06|Pipeline bypass|§6
CM-07|Out-of-band change|§6 undocumented infra changes
CM-08|Security scan gate|§3 security scan
CM-09|No staging validation|§3 staging, §2 Test
CM-10|Missing approval|§1
CM-11|Incomplete change request|§2 Submit
CM-12|Incomplete rollback plan|§4
CM-13|Scheduling|§2 Schedule
CM-14|Emergency late documentation|§5
CM-15|Emergency late review|§5
CM-16|Emergency missing sign-off|§5
CM-17|Rollback without incident|§4
CM-18|Missing security review|§2 Review
CM-19|Category mismatch|§1
CM-20|Segregation of duties|§2, §6
CM-21|Change not closed|§2 Close, §7
CM-22|Prod credentials outside prod|§6
EV-01|Stale source|Evidence quality
EV-02|Coverage gap|Evidence quality
EV-03|Quarantined records|Evidence quality"""
SUBJECT_TYPES = {"CM-07": "audit_event", "CM-22": "secret_finding", "EV-01": "source",
                 "EV-02": "repository", "EV-03": "stream"}
CATALOG = [(cid, title, clause, SUBJECT_TYPES.get(cid, "change"))
           for cid, title, clause in (line.split("|") for line in _TITLES.splitlines())]
CHANGE_CONTROLS = [c[0] for c in CATALOG if c[3] == "change"]
BYPASSABLE = {"CM-03", "CM-04", "CM-05", "CM-08", "CM-09", "CM-10"}
STREAMS = {"github": ["deployments", "deployment_statuses", "pull_requests", "reviews",
                      "pr_commits", "check_runs", "compares"],
           "servicenow": ["change_requests", "approvals", "users"],
           "pagerduty": ["incidents", "log_entries"], "sarif": ["results"], "people": ["people"]}


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Change:
    repo: str
    deployment_id: int
    deployed_at: datetime
    team: str
    category: str = "Normal"
    fails: dict[str, str] = field(default_factory=dict)      # control -> reason
    errors: dict[str, str] = field(default_factory=dict)
    is_rollback: bool = False

    @property
    def change_id(self) -> str:
        return f"{self.repo}@{self.deployment_id}"

    def status(self, cid: str) -> tuple[str, str | None]:
        if cid in self.fails:
            return "fail", self.fails[cid]
        if cid in self.errors:
            return "error", self.errors[cid]
        emergency = self.category == "Emergency"
        if (self.is_rollback and cid in {"CM-03", "CM-04", "CM-05", "CM-08", "CM-09"}) or \
           (not emergency and cid in {"CM-14", "CM-15", "CM-16"}) or \
           (not self.is_rollback and cid == "CM-17") or \
           (cid in {"CM-09", "CM-13"} and self.category in ("Standard", "Emergency")) or \
           (cid == "CM-10" and (self.is_rollback or self.category in ("unknown", "Emergency"))) or \
           (cid == "CM-20" and self.category in ("unknown", "Standard")):
            return "not_applicable", "not applicable to this change"
        return "pass", None

    def outcome(self) -> str:
        bad = set(self.fails) | set(self.errors)
        if not bad:
            return "compliant"
        if self.category == "Emergency" and bad <= BYPASSABLE:
            return "exception"
        return "violation"


class Warehouse:
    """Collects rows, then writes them into a DuckDB connection with the contract's tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection, create: bool = True):
        self.con = con
        self.deploy_seq = 90_000_000
        if not create:          # add runs to a warehouse built by make_small / make_demo
            return
        for statement in DDL:
            con.execute(statement)
        # the entity views the warehouse builds over every source's staging view
        staging = ["stg_github__deployments", "stg_github__deployment_statuses", "stg_pagerduty__incidents"]
        for name, sql in entity_unions(staging).items():
            con.execute(f"create view {name} as {sql}")
        con.executemany("insert into control_catalog values (?, ?, ?, ?, 'high', ?, '')",
                        [(c, t.lower().replace(" ", "-"), t, cl, st) for c, t, cl, st in CATALOG])

    def run(self, run_id: str, period: str, changes: list[Change], started: str,
            finished: str | None, extra_results: list[tuple] = ()) -> None:
        results, outcomes = [], []
        for c in changes:
            for cid in CHANGE_CONTROLS:
                status, reason = c.status(cid)
                results.append((run_id, period, cid, "change", c.change_id, status, reason))
            failed = sorted(set(c.fails) | set(c.errors))
            reasons = [f"{cid}: {(c.fails | c.errors)[cid]}" for cid in failed]
            service = c.repo.split("/")[1]
            ticket = None if c.category == "unknown" else f"CHG{c.deployment_id % 10_000_000:07d}"
            outcomes.append(dict(
                run_id=run_id, period=period, change_id=c.change_id, repo=c.repo, service=service,
                team=c.team, deployment_id=c.deployment_id,
                deployment_url=f"https://github.example/{c.repo}/deployments/{c.deployment_id}",
                sha=hashlib.sha1(c.change_id.encode()).hexdigest(), deployed_at=c.deployed_at,
                deployer_login="deploy-bot", deployer_person_id="p-1", category=c.category,
                ticket_number=ticket, ticket_url=ticket and f"https://sn.example/{ticket}",
                is_emergency=c.category == "Emergency", is_rollback=c.is_rollback,
                is_baseline=False, outcome=c.outcome(), failed_controls=failed, reasons=reasons))
        results += [(run_id, period, *r) for r in extra_results]
        frame = pd.DataFrame(results, columns=["run_id", "period", "control_id", "subject_type",
                                               "subject_id", "status", "reason"])
        self.con.register("_results", frame)
        self.con.execute("""insert into control_results select run_id, period, control_id,
            subject_type, subject_id, status, reason, '{"source": "fixture"}'::json, ?
            from _results""", [dt(started)])
        self.con.unregister("_results")
        if outcomes:
            self._insert("change_outcomes", pd.DataFrame(outcomes))
        self.con.execute("insert into evaluation_runs (run_id, period, started_at, finished_at, config_hash,"
                         " count_changes, count_results) values (?, ?, ?, ?, 'cfg-' || ?, ?, ?)",
                         [run_id, period, dt(started), finished and dt(finished), run_id,
                          len(changes), len(results)])

    def deployments(self, changes: list[Change], noise: bool = True) -> None:
        rows, statuses = [], []
        for c in changes:
            rows.append((c.deployment_id, c.repo, "sha", "production", c.deployed_at))
            statuses.append((c.deployment_id, c.repo, "success", c.deployed_at))
            statuses.append((c.deployment_id, c.repo, "success", c.deployed_at + timedelta(days=3)))
            if noise:  # the same sha on staging, and a failed production attempt
                self.deploy_seq += 2
                rows.append((self.deploy_seq, c.repo, "sha", "staging", c.deployed_at))
                statuses.append((self.deploy_seq, c.repo, "success", c.deployed_at - timedelta(hours=2)))
                rows.append((self.deploy_seq + 1, c.repo, "sha", "production", c.deployed_at))
                statuses.append((self.deploy_seq + 1, c.repo, "failure", c.deployed_at))
        self._insert("stg_github__deployments", pd.DataFrame(
            rows, columns=["deployment_id", "repo", "sha", "environment", "created_at"]))
        self._insert("stg_github__deployment_statuses", pd.DataFrame(
            [(n, *x) for n, x in enumerate(statuses)],
            columns=["status_id", "deployment_id", "repo", "state", "created_at"]))

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        self.con.register("_frame", frame)
        self.con.execute(f"insert into {table} by name select * from _frame")
        self.con.unregister("_frame")

    def manifests(self, units: dict[str, list[str]], run_id: str, at: datetime,
                  records: int = 25, quarantined: dict[str, list[str]] | None = None) -> None:
        quarantined = quarantined or {}
        for system, unit_names in units.items():
            for unit in unit_names:
                files = [{"stream": s, "path": f"{system}/{s}/{run_id}/{unit.replace('/', '__')}.jsonl.gz",
                          "sha256": hashlib.sha256(f"{run_id}{system}{s}{unit}".encode()).hexdigest(),
                          "records": records, "requests": 1} for s in STREAMS[system]]
                self.con.execute("insert into raw._manifests values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '{}', ?)",
                                 [f"{system}/_manifests/{run_id}__{unit}.json",
                                  hashlib.sha256(f"{run_id}{unit}".encode()).hexdigest(), system,
                                  unit, run_id, at - timedelta(minutes=4), at, f"https://{system}.example",
                                  json.dumps(files), records * len(files), at + timedelta(minutes=1)])
        for key, reasons in quarantined.items():
            system, stream = key.split("/")
            self.con.executemany("insert into raw.quarantine values (?, ?, ?, 'src', 'page 1', ?, '{', ?)",
                                 [(run_id, system, stream, r, at) for r in reasons])

    def incidents(self, rows: list[tuple[str | None, str, bool]]) -> None:
        self.con.executemany(
            "insert into stg_pagerduty__incidents values (?, ?, 'incident', ?, 'high', ?, 'S', 'svc', ?, ?, '')",
            [(f"I{i}", i, "resolved" if resolved else "triggered", prio, dt(at),
              dt(at) + timedelta(hours=2) if resolved else None)
             for i, (prio, at, resolved) in enumerate(rows)])


def _ev_results(quarantined_streams: dict[str, int], repos: list[str]) -> list[tuple]:
    out = [("EV-01", "source", s, "pass", None) for s in STREAMS]
    out += [("EV-02", "repository", r, "pass", None) for r in repos]
    for system, streams in STREAMS.items():
        for s in streams:
            n = quarantined_streams.get(f"{system}/{s}", 0)
            out.append(("EV-03", "stream", f"{system}/{s}", "fail" if n else "pass",
                        f"{n} record(s) quarantined" if n else None))
    return out


def make_small(con: duckdb.DuckDBPyConnection) -> list[Change]:
    """Twelve hand-written Q3 changes (see tests for the numbers), an older and an unfinished
    run, a quiet Q2 run, manifests (one loaded after the evaluation), incidents, quarantine."""
    pay, web, auth = "acme/payments-api", "acme/web", "acme/auth"
    C = Change
    q3 = [
        C(pay, 1001, dt("2026-07-02 09:00"), "payments"),
        C(pay, 1002, dt("2026-07-03 10:00"), "payments",
          fails={"CM-04": "1 valid approver (2 required)", "CM-09": "no staging deployment"}),
        C(web, 2001, dt("2026-07-04 11:00"), "web", "Standard"),
        C(web, 2002, dt("2026-07-05 12:00"), "web", "Major", fails={"CM-10": MALICIOUS}),
        C(web, 2003, dt("2026-08-01 03:00"), "web", "Emergency",
          fails={"CM-03": "direct push of 1 commit", "CM-05": "check 'test' failing"}),
        C(auth, 3001, dt("2026-08-02 04:00"), "identity", "Emergency",
          fails={"CM-04": "no valid approval", "CM-14": "documented 30 h after deployment"}),
        C(auth, 3002, dt("2026-08-03 05:00"), "identity", is_rollback=True,
          fails={"CM-17": "no P1–P3 incident within 24 h of the rollback"}),
        C(auth, 3003, dt("2026-08-04 06:00"), "identity", "unknown",
          fails={"CM-01": "no change ticket linked (keys not in ServiceNow: CHG0009999)"},
          errors={"CM-05": "check runs stale: last extracted 9 days ago"}),
        C(pay, 1003, dt("2026-08-05 07:00"), "payments", is_rollback=True),
        C(pay, 1004, dt("2026-09-06 08:00"), "payments", "Standard"),
        C(web, 2004, dt("2026-09-07 09:00"), "web"),
        C(auth, 3004, dt("2026-09-30 23:30"), "identity", "Emergency"),
    ]
    w = Warehouse(con)
    q2 = [C(pay, 901, dt("2026-05-02 09:00"), "payments"), C(web, 902, dt("2026-06-30 23:59"), "web")]
    w.run("run-q2", "2026Q2", q2, "2026-07-01 06:00", "2026-07-01 06:05")
    w.run("run-q3-old", "2026Q3", q3[:3], "2026-10-01 06:00", "2026-10-01 06:05")
    extra = [("CM-07", "audit_event", "k8s-audit:evt-1", "pass", None)]
    extra += _ev_results({"github/reviews": 2}, [pay, web, auth])
    w.run("run-q3", "2026Q3", q3, "2026-10-02 06:00", "2026-10-02 06:07", extra)
    con.execute("insert into result_exceptions values ('run-q3', 'CM-05', 'acme/web@2003', 'EXC-2026-004',"
                " 'flaky browser test quarantined; fix tracked in WEB-88', 'cyrus', ?, 'f00d')",
                [dt("2026-09-30 23:59")])   # a register exception beside the §5 bypass
    w.run("run-q3-unfinished", "2026Q3", q3[:1], "2026-10-03 06:00", None)
    w.deployments(q2 + q3)
    units = {"github": [pay, web, auth], "servicenow": ["change_request"],
             "pagerduty": ["account"], "sarif": ["scans"], "people": ["people.csv"]}
    w.manifests(units, "ext-1", dt("2026-09-30 22:00"), 20,
                {"github/reviews": ["missing required key 'id'"] * 2})
    w.manifests({"github": [pay, web, auth]}, "ext-2", dt("2026-10-02 05:00"), 5)
    w.manifests({"github": ["acme/late"]}, "ext-3", dt("2026-10-05 05:00"), 99,
                {"github/pull_requests": ["after the evaluation"]})   # loaded after run-q3 started
    w.incidents([("P1", "2026-07-10 10:00", True), ("P3", "2026-08-03 05:30", True),
                 ("P3", "2026-09-01 00:00", False), (None, "2026-09-15 12:00", True),
                 ("P2", "2026-10-05 10:00", True)])
    return q3


def make_four_quarters(con: duckdb.DuckDBPyConnection) -> list[Change]:
    """make_small plus 2026Q1 (a sealed run and a later, unsealed one) and 2025Q4 (unfinished
    only, so not evaluated): trends see 2026 Q1 (sealed run), Q2 and Q3; 2025 Q4 is missing."""
    q3 = make_small(con)
    w = Warehouse(con, create=False)
    pay, web = "acme/payments-api", "acme/web"
    q1 = [Change(pay, 801, dt("2026-01-05 09:00"), "payments", fails={"CM-01": "no ticket"}),
          Change(web, 802, dt("2026-02-05 09:00"), "web", "Emergency"),
          Change(web, 803, dt("2026-03-05 09:00"), "web")]
    w.run("run-q1-sealed", "2026Q1", q1, "2026-04-01 06:00", "2026-04-01 06:05")
    w.run("run-q1-later", "2026Q1", q1[2:], "2026-04-09 06:00", "2026-04-09 06:05")
    w.run("run-q4-unfinished", "2025Q4", q1[:1], "2026-01-02 06:00", None)
    con.execute("""create table sealed_periods (period VARCHAR, run_id VARCHAR, sealed_at TIMESTAMPTZ,
                   sealed_by VARCHAR)""")
    con.execute("insert into sealed_periods values ('2026Q1', 'run-q1-sealed', ?, 'auditor')",
                [dt("2026-04-02 06:00")])
    return q3


def make_demo(con: duckdb.DuckDBPyConnection, n_changes: int = 3000, n_services: int = 40,
              n_teams: int = 8, n_violations: int = 150, seed: int = 7) -> list[Change]:
    """A generated quarter at the demo's scale: ~3,000 changes, 40 services, 8 teams."""
    rnd = random.Random(seed)
    teams = [f"team-{name}" for name in ("payments", "checkout", "identity", "platform", "data",
                                         "mobile", "search", "growth")][:n_teams]
    services = [(f"acme/{name}-{i:02d}", teams[i % n_teams]) for i, name in
                enumerate(rnd.choice(("api", "worker", "web", "gateway", "billing-service-with-long-name"))
                          for _ in range(n_services))]
    start = dt("2026-07-01 00:00")
    faults = [("CM-01", "no change ticket linked"), ("CM-04", "1 valid approver (2 required); "
              "approval by @octo-reviewer was given on a stale head commit before the last push"),
              ("CM-05", "required check 'test' failing when deployed"),
              ("CM-08", "2 open high findings (semgrep: python.lang.security.audit.eval)"),
              ("CM-09", "no successful staging deployment of this sha"),
              ("CM-10", "approvals lack QA"), ("CM-13", "deployed in peak hours (Mon 14:10 UTC)"),
              ("CM-20", "author approved the ticket and deployed the change"),
              ("CM-02", "deployed by shared account 'ops-admin'"), ("CM-21", "ticket not closed")]
    changes = []
    for i in range(n_changes):
        repo, team = services[int(rnd.paretovariate(1.2) * 3) % n_services]
        roll = rnd.random()
        category = "Emergency" if roll < 0.01 else rnd.choice(("Standard", "Normal", "Normal", "Major"))
        c = Change(repo, 4_100_000 + i, start + timedelta(minutes=rnd.randrange(0, 92 * 24 * 60)),
                   team, category, is_rollback=roll > 0.992)
        if category == "Emergency":
            c.fails.update(dict(rnd.sample(faults[:6], 2)))
            if rnd.random() < 0.25:
                c.fails["CM-15"] = "post-hoc review 9 business days after deployment"
        elif c.is_rollback and rnd.random() < 0.4:
            c.fails["CM-17"] = "no P1–P3 incident within 24 h"
        elif rnd.random() < n_violations / n_changes:
            for cid, reason in rnd.sample(faults, rnd.choice((1, 1, 2))):
                c.fails[cid] = reason
            if rnd.random() < 0.1:
                c.errors["CM-05"] = "check runs stale"
        changes.append(c)
    w = Warehouse(con)
    extra = _ev_results({"github/reviews": 3, "servicenow/approvals": 1}, [r for r, _ in services])
    w.run("run-demo", "2026Q3", changes, "2026-10-02 06:00", "2026-10-02 06:09", extra)
    w.deployments(changes, noise=False)
    units = {"github": [r for r, _ in services], "servicenow": ["change_request"],
             "pagerduty": ["account"], "sarif": ["scans"], "people": ["people.csv"]}
    for day in range(3):
        w.manifests(units, f"ext-{day}", dt("2026-09-29 22:00") + timedelta(days=day), 40,
                    {"github/reviews": ["missing required key 'id'"] * 3,
                     "servicenow/approvals": ["not JSON: unexpected end of data"]} if day == 0 else None)
    w.incidents([(rnd.choice(("P1", "P2", "P3", "P3", "P4", None)),
                  (start + timedelta(hours=rnd.randrange(0, 2200))).strftime("%Y-%m-%d %H:%M"),
                  rnd.random() < 0.9) for _ in range(60)])
    return changes


if __name__ == "__main__":  # render a fixture report for eyeballing
    import time
    from pathlib import Path

    from reports.quarterly import write_quarterly_report

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/report-check")
    connection = duckdb.connect()
    (make_demo if "--demo" in sys.argv else make_small)(connection)
    t0 = time.perf_counter()
    for path in write_quarterly_report(connection, "2026Q3", "Acme Corp", out,
                                       generated_at=dt("2026-10-02 08:00")):
        print(path)
    print(f"rendered in {time.perf_counter() - t0:.1f} s")
