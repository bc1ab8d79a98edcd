"""The reference rules of CM-06 (pipeline bypass) and CM-22 (production credentials outside
production), §6 of the policy, from the served records alone. Mixed into
:class:`flows.demo.truth.Evaluator` like :class:`~flows.demo.truth_controls.ControlRules`."""
from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.demo.truth import Change

# policy defaults (flows/config.py Policy), restated here so the ground truth stays independent
PIPELINE_IDENTITIES = ("github-actions[bot]",)
RELEASE_BRANCHES = ("main",)            # the demo repositories' default branch
CREDENTIAL_RULES = re.compile(
    r"(?i)(secret|credential|passw|private[-_.]?key|(access|api|auth|bearer)[-_.]?(key|token)|gitleaks|trufflehog)")
NONPRODUCTION_PATHS = ("tests/*", "test/*", "*_test.*", "*.test.*", "test_*", "fixtures/*", "testdata/*",
                       "examples/*", "*staging*/*", "*.env.dev", "*.env.test", "*.env.local", "docker-compose*",
                       "dev/*")


def nonproduction(uri: str) -> bool:
    """A pattern without a leading '/' or '*' matches at any depth of the path."""
    path = "/" + re.sub(r"^(file://)?(%SRCROOT%)?/*(\./)?", "", uri or "")
    return any(fnmatchcase(path, p if p[0] in "/*" else "*/" + p) for p in NONPRODUCTION_PATHS)


class PipelineRules:
    def cm06(self, c: Change):
        d, reasons = c.deployment, []
        # pipeline half: a pipeline identity, or a status linking a CI run (GitHub Actions run, GitLab job)
        if c.deployer_login not in PIPELINE_IDENTITIES and d.manual:
            reasons.append("not performed by the pipeline")
        # release-branch half
        on_branch = d.ref in RELEASE_BRANCHES
        for pr in self.org.pulls:
            if on_branch:
                break
            if pr.repo == c.repo and pr.merged_at is not None and pr.base_ref in RELEASE_BRANCHES:
                on_branch = (c.sha in (pr.merge_commit_sha, pr.head_sha)
                             or any(commit.sha == c.sha for commit in pr.commits)
                             or pr in self.org.commit_pulls.get((c.repo, c.sha), []))
        if not on_branch and c.is_rollback:
            on_branch = any(other.repo == c.repo and other.sha == c.sha and other.environment == "production"
                            and other.first_success() is not None and other.first_success() < c.deployed_at
                            for other in self.org.deployments)
        if not on_branch:
            reasons.append("not on a release branch")
        if reasons:
            return "fail", "; ".join(reasons)

    def cm22(self, c: Change):
        if c.is_rollback:
            return "not_applicable", "rollback"
        runs = [r for r in self.scans.get((c.repo, c.sha), []) if r.end_time <= c.deployed_at]
        if not runs:
            return "not_applicable", "no scan before deployment (CM-08)"
        leaks = sorted(f"{result.rule_id} at {result.uri}" for run in runs for result in run.results
                       if CREDENTIAL_RULES.search(f"{run.tool}:{result.rule_id}") and nonproduction(result.uri)
                       and not self.suppressed(result))
        if leaks:
            return "fail", "credential findings in non-production code or config: " + ", ".join(leaks)
