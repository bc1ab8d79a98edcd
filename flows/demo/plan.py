"""The schedule of the quarter: when each repository deploys, which deployments are rollbacks or
emergencies, the category of every change, and which injections go where."""
from __future__ import annotations

import random

from flows.demo import injections as inj
from flows.demo.clock import DAY, HOUR, MINUTE, Period
from flows.demo.content import PEAK_RATE, place_schedule
from flows.demo.model import ChangePlan, Repo

CHANGES_AT_SCALE_1 = 3000


def _count(rate: float, total: int) -> int:
    return max(1, round(rate * total))


def _times(rng: random.Random, start: int, end: int, n: int) -> list[int]:
    """n deployment instants in [start, end): one per equal segment, 4 h apart at least,
    preferring weekday working hours (UTC)."""
    width = (end - start) / n
    out = []
    for i in range(n):
        lo = int(start + i * width)
        hi = int(start + (i + 1) * width) - 4 * HOUR
        best = rng.randint(lo, max(lo, hi))
        for _ in range(6):
            candidate = rng.randint(lo, max(lo, hi))
            hour, weekday = (candidate // HOUR) % 24, (candidate // DAY + 3) % 7   # 1970-01-01 was a Thursday
            if 8 <= hour < 19 and weekday < 5:
                best = candidate
                break
        out.append(best)
    return out


def _allocate(total: int, repos: list[Repo], period: Period) -> dict[str, int]:
    span = period.end - period.start
    weights = {r.name: r.weight * (1.0 if not r.is_new else max(0.2, (period.end - r.created_at) / span))
               for r in repos}
    scale = total / sum(weights.values())
    exact = {name: w * scale for name, w in weights.items()}
    counts = {name: max(2, int(v)) for name, v in exact.items()}
    order = sorted(exact, key=lambda n: (-(exact[n] - int(exact[n])), n))
    i = 0
    while sum(counts.values()) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    return counts


def build_plans(rng: random.Random, repos: list[Repo], period: Period, scale: float) -> list[ChangePlan]:
    total = max(40, round(CHANGES_AT_SCALE_1 * scale))
    counts = _allocate(total, repos, period)
    per_repo: dict[str, list[ChangePlan]] = {}
    for repo in repos:
        start = period.start + HOUR if not repo.is_new else repo.created_at + rng.randint(3, 10) * DAY
        times = _times(rng, start, period.end - HOUR, counts[repo.name])
        per_repo[repo.name] = [ChangePlan(repo=repo.name, deploy_at=t, category="Normal") for t in times]
        if repo.is_new:
            per_repo[repo.name][0].is_baseline = True
            per_repo[repo.name][0].injected.append("trap_baseline_first_deployment")

    reserved: set[int] = set()
    _place_rollbacks(rng, per_repo, total, reserved)
    plans = sorted((p for ps in per_repo.values() for p in ps), key=lambda p: (p.deploy_at, p.repo))
    for p in plans:
        if p.is_baseline or p.is_rollback:
            reserved.add(id(p))

    # Two period-boundary traps on existing repositories.
    existing = [name for name in sorted(per_repo) if not per_repo[name][0].is_baseline]
    first = per_repo[existing[0]][0]
    first.deploy_at = period.start + rng.randint(90, 400)
    first.injected.append("trap_created_before_period")
    reserved.add(id(first))
    last = ChangePlan(repo=existing[1], deploy_at=period.end + rng.randint(120, 400), category="Standard",
                      injected=["trap_success_after_period_end"])
    plans.append(last)
    reserved.add(id(last))

    forward = [p for p in plans if id(p) not in reserved]
    rng.shuffle(forward)
    _assign_emergencies(forward, total, period)
    for p in forward:
        if p.category != "Emergency":
            roll = rng.random()
            p.category = "Standard" if roll < 0.26 else "Major" if roll < 0.38 else "Normal"
    free = [p for p in forward if p.category != "Emergency"]
    for kind in sorted(inj.FORWARD, key=lambda k: len(k.categories)):
        _assign(kind, free, _count(kind.rate, total))
    _assign_pairs(free, _count(inj.PAIR_RATE, total))
    for p in plans:
        for name in p.injected:
            if name in inj.BY_NAME:
                p.expect |= inj.BY_NAME[name].expect
            if name in ("no_ticket_reference", "ticket_key_not_found", "direct_push_only"):
                p.category = "none"
            elif name == "unknown_change_type":
                p.category = "Expedited"
    place_schedule(plans, free, _count(PEAK_RATE, total), period)   # CM-13 peak hours (flows/demo/content.py)
    return sorted(plans, key=lambda p: (p.deploy_at, p.repo))


def _place_rollbacks(rng: random.Random, per_repo: dict[str, list[ChangePlan]], total: int,
                     reserved: set[int]) -> None:
    kinds = [k for k in inj.ROLLBACK for _ in range(_count(k.rate, total))]
    slots = [(name, k) for name in sorted(per_repo) for k in range(2, len(per_repo[name]) - 1)]
    rng.shuffle(slots)
    taken: dict[str, list[int]] = {}
    for name, k in slots:
        if not kinds:
            break
        bad, rollback, after = per_repo[name][k - 1], per_repo[name][k], per_repo[name][k + 1]
        # apart enough that one rollback's incidents never fall in another's 24 h window
        if any(abs(k - other) < 4 or abs(bad.deploy_at - per_repo[name][other - 1].deploy_at) < 4 * DAY
               for other in taken.get(name, [])):
            continue
        taken.setdefault(name, []).append(k)
        rollback.is_rollback = True
        rollback.category = "rollback"
        rollback.deploy_at = bad.deploy_at + rng.randint(30 * MINUTE, 3 * HOUR)
        rollback.injected.append(kinds.pop().name)
        after.after_rollback = True
        for p in (bad, after):
            reserved.add(id(p))
            p.category = rng.choice(["Normal", "Normal", "Standard"])
    if kinds:
        raise ValueError("not enough deployments to place every rollback; raise the scale")


def _assign_emergencies(forward: list[ChangePlan], total: int, period: Period) -> None:
    kinds = [k for k in inj.EMERGENCY for _ in range(_count(k.rate, total))]
    # Kinds with timing constraints first: an empty review date must be past its deadline at
    # the end of the period whatever the evaluation date.
    early = [p for p in forward if p.deploy_at < period.end - 14 * DAY]
    kinds.sort(key=lambda k: k.name != "trap_emergency_review_over_weekend")
    for kind in kinds:
        for plan in early:
            weekday = (plan.deploy_at // DAY + 3) % 7
            if plan.category != "Emergency" and (
                    kind.name != "trap_emergency_review_over_weekend" or 1 <= weekday <= 4):
                plan.category = "Emergency"
                plan.injected.append(kind.name)
                break


def _assign(kind: inj.Kind, free: list[ChangePlan], count: int) -> None:
    """Put ``kind`` on ``count`` uninjected changes of an eligible category (free is shuffled)."""
    for plan in free:
        if count == 0:
            return
        if plan.injected or plan.category not in kind.categories:
            continue
        plan.injected.append(kind.name)
        count -= 1
    for plan in free:   # small scales: recruit an uninjected change of another category
        if count == 0:
            return
        if not plan.injected and plan.category in ("Normal", "Standard", "Major"):
            plan.category = sorted(kind.categories)[0]
            plan.injected.append(kind.name)
            count -= 1


def _assign_pairs(free: list[ChangePlan], count: int) -> None:
    """A second, independent failure on a few changes that carry a single-control injection."""
    single = {"CM-02", "CM-04", "CM-05", "CM-08", "CM-09"}
    for plan in free:
        if count == 0:
            return
        if len(plan.injected) != 1 or plan.injected[0] not in inj.BY_NAME:
            continue
        first = inj.BY_NAME[plan.injected[0]]
        if len(first.expect) != 1 or not first.expect <= single or plan.injected[0].startswith("trap_"):
            continue
        for name in inj.PAIRABLE:
            second = inj.BY_NAME[name]
            if second.expect != first.expect and plan.category in second.categories:
                plan.injected.append(name)
                count -= 1
                break
