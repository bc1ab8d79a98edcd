"""The seedable sample organization behind ``changetrail demo``.

``generate()`` builds one quarter of a fictional company (Acme Cloud: 40 services, ~150 people,
~3,000 production changes at scale 1.0) as the folders the extractors read, injects violations
of every control at known rates, and writes the ground truth the controls must reproduce:
``sample/ground_truth/expected_failures.csv`` is computed by an independent Python evaluation of
the spec (``truth.py``), not copied from what was injected.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flows.demo.clock import DAY, parse_period
from flows.demo.coverage import ev02_results, unlisted_repo
from flows.demo.report import config_toml, write_ground_truth
from flows.demo.runtime import k8s_audit_config_toml, runtime_events, write_runtime
from flows.demo.scenario import Scenario
from flows.demo.truth import Evaluator, Policy
from flows.demo.truth_runtime import cm07_results
from flows.demo.writer import Files, write_sample

__all__ = ["DemoOrg", "generate"]


@dataclass(frozen=True)
class DemoOrg:
    out_dir: Path
    config_path: Path               # out_dir/changetrail.toml
    sample_dir: Path                # out_dir/sample: the folders the sources read
    ground_truth_dir: Path          # out_dir/sample/ground_truth
    seed: int
    period: str
    scale: float
    count_repositories: int
    count_people: int               # humans
    count_changes: int              # production changes in the period
    count_deployments: int          # every deployment, all environments and outcomes
    count_pull_requests: int
    count_expected_failures: int
    count_files: int
    count_bytes: int
    seconds: float
    failures_by_control: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"{self.count_changes:,} production changes in {self.count_repositories} repositories by "
                f"{self.count_people} people ({self.period}, seed {self.seed}, scale {self.scale}); "
                f"{self.count_expected_failures:,} expected failures; {self.count_files:,} files "
                f"({self.count_bytes / 1e6:,.0f} MB) in {self.seconds:.1f} s")


def generate(out_dir: Path, seed: int = 7, period: str = "2026Q3", scale: float = 1.0,
             tickets: str = "servicenow", code_host: str = "github") -> DemoOrg:
    """Write the sample organization under ``out_dir`` (its ``sample/`` folder is replaced).

    ``tickets="jira"`` serves the change tickets as Jira Cloud issues (keys ``CHG-<n>``) instead
    of ServiceNow change requests; the ground truth is the same apart from the keys.
    ``code_host="gitlab"`` serves the code host as GitLab REST v4 under ``sample/gitlab/`` (and a
    ``[sources.gitlab]`` config) instead of GitHub; the ground truth is the same (flows/demo/gitlab.py)."""
    if tickets not in ("servicenow", "jira"):
        raise ValueError(f"tickets must be 'servicenow' or 'jira', not {tickets!r}")
    if code_host not in ("github", "gitlab"):
        raise ValueError(f"code_host must be 'github' or 'gitlab', not {code_host!r}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    quarter = parse_period(period)
    sample = out_dir / "sample"
    with ThreadPoolExecutor(1) as cleaner:      # an earlier sample goes while the model is built
        stale = _set_aside(sample)
        removal = cleaner.submit(_remove, stale) if stale else None
        scenario = Scenario(seed, quarter, scale)
        scenario.tix.key_style = tickets
        org, plans = scenario.run()
        evaluator = Evaluator(org, quarter, _truth_policy(tickets))
        changes = evaluator.evaluate()
        ev03 = evaluator.quarantine_results(_registered_streams())
        if code_host == "gitlab":       # GitLab REST v4 responses under sample/gitlab/ (flows/demo/gitlab.py)
            from flows.demo.gitlab import gitlab_quarantine
            ev03 = gitlab_quarantine(ev03)
        # CM-07 runtime events (own RNG stream) and EV-02's unlisted repository: the rest is unchanged
        audit = runtime_events(org, quarter, seed, scale)
        unlisted = unlisted_repo(org, quarter)
        others = cm07_results(audit, org, quarter) + ev02_results(
            org, quarter, {r.full_name for r in org.repos} - {unlisted})
        with Files(sample) as files:
            write_sample(files, org, user_created=quarter.start - 400 * DAY, tickets=tickets, code_host=code_host)
            write_runtime(files, audit)
            summary = write_ground_truth(files, changes, ev03, plans, org, quarter,
                                         {"seed": seed, "scale": scale, "generator": "flows.demo"}, others)
        if removal:
            removal.result()
    config = out_dir / "changetrail.toml"
    text = _config_text(org, tickets, unlisted)
    if code_host == "gitlab":
        from flows.demo.gitlab import gitlab_config_toml
        text = gitlab_config_toml(text, org)
    config.write_text(text, encoding="utf-8")
    return DemoOrg(
        out_dir=out_dir, config_path=config, sample_dir=sample, ground_truth_dir=sample / "ground_truth",
        seed=seed, period=period, scale=scale, count_repositories=len(org.repos),
        count_people=summary["counts"]["people_human"], count_changes=len(changes),
        count_deployments=len(org.deployments), count_pull_requests=len(org.pulls),
        count_expected_failures=summary["counts"]["expected_failures"], count_files=files.count + 1,
        count_bytes=files.bytes, seconds=round(time.perf_counter() - started, 2),
        failures_by_control={k: v["fail"] for k, v in summary["controls"].items()},
    )


def _truth_policy(tickets: str) -> Policy:
    if tickets == "jira":
        from flows.demo.jira import KEY_PATTERN
        return Policy(ticket_key_pattern=KEY_PATTERN)
    return Policy()


def _config_text(org, tickets: str, unlisted: str | None = None) -> str:
    text = config_toml(org, unlisted) + k8s_audit_config_toml()
    if tickets == "jira":
        from flows.demo.jira import jira_config_toml
        text = jira_config_toml(text)
    return text


def _registered_streams() -> list[str]:
    """Every 'system/stream' the extractors land (EV-03's subjects); empty without them."""
    try:
        from extractors.registry import ALL_STREAMS
    except ImportError:
        return []
    return [f"{system}/{stream}" for system, stream in ALL_STREAMS]


def _set_aside(sample: Path) -> list[Path]:
    """Move an earlier sample out of the way so no stale file survives (plus any left behind
    by an interrupted run); the caller removes them."""
    leftovers = sorted(sample.parent.glob(f".{sample.name}.stale-*")) if sample.parent.exists() else []
    if sample.exists():
        stale = sample.with_name(f".{sample.name}.stale-{os.getpid()}-{time.time_ns()}")
        sample.rename(stale)
        leftovers.append(stale)
    return leftovers


def _remove(stale: list[Path]) -> None:
    """rmtree, with the unlinks and rmdirs of each depth spread over threads (metadata latency)."""
    levels: dict[int, list[str]] = {}
    files: list[str] = []
    for root in stale:
        for folder, _, names in os.walk(root):
            levels.setdefault(folder.count(os.sep), []).append(folder)
            files += [os.path.join(folder, n) for n in names]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(os.unlink, files, chunksize=64))
        for depth in sorted(levels, reverse=True):
            list(pool.map(os.rmdir, levels[depth], chunksize=16))
