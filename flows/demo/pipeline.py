"""CI and delivery around a deployed commit: check runs, the SARIF scan, staging and production
deployments, and the compare between consecutive production deployments."""
from __future__ import annotations

import random

from flows.demo.clock import HOUR, MINUTE, Ids
from flows.demo.content import changed_files
from flows.demo.gitflow import RepoState
from flows.demo.model import (CheckRun, Compare, Deployment, DeploymentStatus, Org, SarifFile,
                              SarifResult, SarifRule, SarifRun)

# (rule id, name, text, default level, security-severity) by tool
SEMGREP_RULES = [
    ("python.lang.security.audit.insecure-hash", "insecure-hash", "Use of weak hash (MD5/SHA1)", "warning", "5.3"),
    ("generic.secrets.gitleaks.generic-api-key", "generic-api-key", "Generic API key detected", "error", "7.5"),
    ("javascript.express.security.audit.xss.direct-response-write", "direct-response-write",
     "Direct write of user input to response", "warning", "6.1"),
    ("go.lang.security.audit.sqli.string-formatted-query", "string-formatted-query",
     "SQL query built with string formatting", "error", "9.1"),
    ("java.lang.security.audit.crypto.ecb-cipher", "ecb-cipher", "Cipher in ECB mode", "warning", "4.3"),
    ("generic.ci.security.use-frozen-lockfile", "use-frozen-lockfile", "Install without lockfile", "note", None),
    ("python.flask.security.audit.debug-enabled", "debug-enabled", "Flask debug mode enabled", "warning", "MEDIUM"),
    ("go.lang.correctness.unchecked-error", "unchecked-error", "Unchecked error return", "note", "2.0"),
    ("terraform.aws.security.s3-unencrypted", "s3-unencrypted", "S3 bucket without encryption", "error", None),
    ("generic.secrets.gitleaks.aws-access-token", "aws-access-token", "AWS access key ID", "warning", "5.5"),
]
# where CM-22's credential findings sit: non-production code and config
NONPRODUCTION_PATHS = ["tests/fixtures/settings.py", "docker-compose.yml", "config/.env.dev", "examples/client.py",
                       "deploy/staging/values.yaml", "internal/store/store_test.go"]
TRIVY_RULES = [
    ("CVE-2026-21441", "OsPackageVulnerability", "urllib3: decompression bomb", "warning", "5.9"),
    ("CVE-2026-0915", "LanguageSpecificPackageVulnerability", "glibc: stack read in getnetbyaddr", "warning", "6.5"),
    ("CVE-2026-24049", "LanguageSpecificPackageVulnerability", "wheel: path traversal", "error", "7.1"),
    ("CVE-2026-22184", "OsPackageVulnerability", "zlib: heap overflow in untgz", "error", "9.8"),
    ("CVE-2025-69419", "OsPackageVulnerability", "openssl: out-of-bounds write", "note", "3.7"),
]
BENIGN = {"python.lang.security.audit.insecure-hash", "javascript.express.security.audit.xss.direct-response-write",
          "java.lang.security.audit.crypto.ecb-cipher", "generic.ci.security.use-frozen-lockfile",
          "go.lang.correctness.unchecked-error", "CVE-2026-21441", "CVE-2026-0915", "CVE-2025-69419"}


class Pipeline:
    def __init__(self, rng: random.Random, ids: Ids, org: Org):
        self.rng, self.ids, self.org = rng, ids, org

    def checks(self, repo: str, sha: str, start: int, deploy_at: int, flags: set[str]) -> int:
        """GitHub Actions check runs of the deployed commit, started at ``start``; the ``test``
        run carries the CM-05 injections. Returns when the last run finished before deploying."""
        rng = self.rng
        runs = self.org.check_runs.setdefault((repo, sha), [])
        for name, lo, hi in (("build", 3, 9), ("test", 6, 16), ("lint", 1, 3)):
            started = start + rng.randint(5, 90)
            run = CheckRun(repo, sha, name, "completed", "success", started, started + rng.randint(lo * MINUTE, hi * MINUTE))
            if name == "test":
                if "check_missing" in flags:
                    continue
                if flags & {"check_failing", "check_failed_rerun_after_deploy", "trap_check_rerun_passed"}:
                    run.conclusion = "failure"
                if "check_pending" in flags:
                    run.status, run.conclusion, run.completed_at = "in_progress", None, None
                if flags & {"check_completed_after_deploy", "emergency_checks_pending"}:
                    run.completed_at = deploy_at + rng.randint(2 * MINUTE, 30 * MINUTE)
                rerun_at = run.completed_at + rng.randint(MINUTE, 5 * MINUTE) if run.completed_at else 0
                if "trap_check_rerun_passed" in flags:            # re-run passes before the deployment
                    runs.append(CheckRun(repo, sha, "test", "completed", "success", rerun_at,
                                         rerun_at + rng.randint(5 * MINUTE, 12 * MINUTE)))
                if "check_failed_rerun_after_deploy" in flags:    # ... or only after it
                    runs.append(CheckRun(repo, sha, "test", "completed", "success", rerun_at,
                                         deploy_at + rng.randint(MINUTE, 20 * MINUTE)))
            runs.append(run)
        if rng.random() < 0.3:
            t = start + rng.randint(60, 300)
            runs.append(CheckRun(repo, sha, "CodeQL", "completed", "neutral", t, t + rng.randint(300, 900),
                                 app_slug="github-advanced-security"))
        return max([start] + [r.completed_at for r in runs if r.completed_at and r.completed_at < deploy_at])

    def scan(self, repo_name: str, full_name: str, sha: str, at: int, deploy_at: int, flags: set[str]) -> None:
        """The SAST scan of the deployed commit, finished shortly after ``at``."""
        rng = self.rng
        if flags & {"scan_missing", "emergency_no_scan"}:
            return
        runs = [self._run("Semgrep OSS", "1.97.0", SEMGREP_RULES, full_name, sha, at, deploy_at, flags)]
        if rng.random() < 0.15:
            runs.append(self._run("Trivy", "0.58.1", TRIVY_RULES, full_name, sha, at + rng.randint(10, 90),
                                  deploy_at, flags & {"scan_after_deploy"}))
        self.org.sarif_files.append(SarifFile(repo_name, f"{sha}.sarif", runs))

    def _run(self, tool: str, version: str, catalog: list, full_name: str, sha: str, at: int,
             deploy_at: int, flags: set[str]) -> SarifRun:
        rng = self.rng
        rules = {}
        results = []

        def finding(rule_id: str, level: str | None = None, suppressions: list | None = None,
                    path: str | None = None) -> None:
            entry = next(r for r in catalog if r[0] == rule_id)
            rules[rule_id] = SarifRule(entry[0], entry[1], entry[2], entry[3], entry[4])
            path = path or rng.choice(["src/handlers.py", "internal/api/server.go", "app/routes.ts",
                               "pkg/store/query.go", "main.tf", "requirements.txt"])
            results.append(SarifResult(rule_id, level, entry[2], path, rng.randint(3, 400),
                                       self.ids.hex(16), suppressions))

        benign = [r[0] for r in catalog if r[0] in BENIGN]
        for rule_id in rng.sample(benign, rng.randint(0, 3)):
            finding(rule_id, rng.choice([None, None, "note", "warning"]))
        if tool.startswith("Semgrep"):
            if "scan_open_high" in flags:
                finding("generic.secrets.gitleaks.generic-api-key")
            if "scan_open_critical" in flags:
                finding("go.lang.security.audit.sqli.string-formatted-query", "error")
            if "scan_suppression_rejected" in flags:
                finding("go.lang.security.audit.sqli.string-formatted-query", None,
                        [{"kind": "external", "status": "rejected", "justification": "Not a false positive"}])
            if "scan_rule_default_error" in flags:
                finding("terraform.aws.security.s3-unencrypted")
            if "trap_suppressed_critical" in flags:
                finding("go.lang.security.audit.sqli.string-formatted-query", "error",
                        [{"kind": "external", "status": "accepted",
                          "justification": "Query parameters are constants; risk accepted by AppSec"}])
            if "trap_word_severity_medium" in flags:
                finding("python.flask.security.audit.debug-enabled", "error")
            if "secret_in_nonproduction_path" in flags:
                finding("generic.secrets.gitleaks.aws-access-token", None, None, rng.choice(NONPRODUCTION_PATHS))
            if "trap_suppressed_secret_in_tests" in flags:     # a dummy key, triaged in the scanner
                finding("generic.secrets.gitleaks.aws-access-token", None,
                        [{"kind": "inSource", "status": "accepted", "justification": "Dummy key for unit tests"}],
                        rng.choice(NONPRODUCTION_PATHS))
        when = at + rng.randint(3 * MINUTE, 10 * MINUTE)
        if "scan_after_deploy" in flags:
            when = deploy_at + rng.randint(10 * MINUTE, 2 * HOUR)
        return SarifRun(tool, version, full_name, sha, "refs/heads/main", when, list(rules.values()), results)

    def deployment(self, repo: str, sha: str, env: str, created: int, outcome_at: int, creator: str,
                   description: str, payload: dict, state: str = "success", task: str = "deploy",
                   ref: str = "main") -> Deployment:
        d = Deployment(repo=repo, sha=sha, ref=ref, task=task, environment=env, description=description,
                       payload=payload, creator_login=creator, created_at=created)
        d.statuses = [DeploymentStatus("in_progress", created + self.rng.randint(5, 40), creator, "Deployment started"),
                      DeploymentStatus(state, outcome_at, creator, {"success": "Deployment finished successfully.",
                                                                    "failure": "Rollout failed health checks",
                                                                    "error": "Deployment job errored"}[state])]
        self.org.deployments.append(d)
        return d

    def compares(self, st: RepoState) -> None:
        """compare/<previous>...<current> for consecutive successful production deployments."""
        repo = st.repo.full_name
        for (_, base), (_, head) in zip(st.prod, st.prod[1:]):
            lo, hi = st.index[base], st.index[head]
            if hi > lo:
                commits = [c for e in st.main[lo + 1: hi + 1] for c in e.side + [e.commit]]
                files = self.org.touched_files.get((repo, head)) or changed_files(set(), head)
                self.org.compares.append(Compare(repo, base, head, "ahead", len(commits), 0, commits, files))
            elif hi < lo:
                behind = sum(len(e.side) + 1 for e in st.main[hi + 1: lo + 1])
                self.org.compares.append(Compare(repo, base, head, "behind", 0, behind, []))
            else:
                self.org.compares.append(Compare(repo, base, head, "identical", 0, 0, []))

