"""EV-02 (coverage gap) in the demo: one deploying repository left out of the configured list.

The demo config's `[teams]` is the onboarded list (EV-02: `sources.github.repos` ∪
`sources.gitlab.projects` ∪ `teams`); the repository with the fewest production deployments in the
period (ties: name) is left out of it, as an internal tool nobody onboarded would be. Its changes
stay in the population (the code host is extracted for the whole organization, so the runner
evaluates them like any other); only EV-02 fails for it. No randomness: the sample is unchanged.
"""
from __future__ import annotations

from collections import Counter

from flows.demo.clock import Period
from flows.demo.model import Org
from flows.demo.truth import Result

PRODUCTION_ENVIRONMENTS = ("production",)


def _deploying(org: Org, period: Period) -> Counter:
    """Production deployments created in the period, any outcome, per repository."""
    return Counter(d.repo for d in org.deployments
                   if d.environment in PRODUCTION_ENVIRONMENTS and period.start <= d.created_at < period.end)


def unlisted_repo(org: Org, period: Period) -> str | None:
    """The deploying repository the demo config leaves out of `[teams]`."""
    counts = _deploying(org, period)
    return min(counts, key=lambda repo: (counts[repo], repo)) if counts else None


def ev02_results(org: Org, period: Period, listed: set[str]) -> list[Result]:
    """Every repository served (all deploy or are listed): fail when deploying but unlisted or
    without PR/compare data. The demo serves every compare's full commit list (no 250 cap) and no
    repository page answers 404/409, so those gaps never occur."""
    counts = _deploying(org, period)
    code_data = {p.repo for p in org.pulls} | {c.repo for c in org.compares if c.commits}
    results = []
    for repo in sorted({r.full_name for r in org.repos} | set(counts) | listed):
        n = counts.get(repo, 0)
        gaps = [g for g, hit in (("not in the configured repositories", repo not in listed),
                                 ("no pull request or commit data", repo not in code_data)) if hit]
        if n and gaps:
            results.append(Result("EV-02", repo, "fail", f"deploys to production ({n}) but " + " and ".join(gaps)))
        elif n:
            results.append(Result("EV-02", repo, "pass", f"onboarded: {n} production deployment(s)"))
        else:
            results.append(Result("EV-02", repo, "not_applicable", "no production deployments in the period"))
    return results
