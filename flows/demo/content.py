"""The demo organization's schedule (CM-13) and the files its changes touch (CM-18, CM-19).

Acme Cloud's peak is the US evening (``SCHEDULE``, written to the demo config); its engineers
deploy in UTC working hours, so a Normal or Major change lands in peak hours only when the
planner put it there: either moved there on purpose (``deployed_in_peak_hours``) or because its
random slot fell there (the same kind, recorded by :func:`place_schedule`). Changes touch two
ordinary files unless a content injection names sensitive ones (``FILES``).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flows.demo.clock import DAY, HOUR, Period
from flows.demo.model import ChangePlan

# policy.schedule of the demo config; truth.Policy carries the same schedule as numbers
SCHEDULE = {"time_zone": "America/New_York", "maintenance_windows": [], "peak_hours": ["Mon-Fri 18:00-22:00"],
            "notice_hours": 24}
PEAK = ((0, 1, 2, 3, 4), 18 * 60, 22 * 60)     # local weekdays (Mon = 0), start and end minute
ZONE = ZoneInfo(SCHEDULE["time_zone"])
PEAK_KIND = "deployed_in_peak_hours"
PEAK_RATE = 0.003                               # moved on purpose, per forward change

DEFAULT_FILES = ["src/service/handler.go", "config/production.yaml"]
FILES = {
    "sensitive_change_no_security_review": ["internal/repositories/accounts_repository.go", "src/service/handler.go"],
    "migration_filed_as_standard": ["db/migrations/20260812_add_ledger_index.sql"],
    "auth_change_filed_as_normal": ["src/auth/session_tokens.go", "src/auth/session_tokens_test.go"],
    "trap_encryption_change_ciso_approved": ["pkg/crypto/envelope.go", "config/production.yaml"],
}


def in_peak(ts: int) -> bool:
    local = dt.datetime.fromtimestamp(ts, ZONE)
    days, start, end = PEAK
    return local.weekday() in days and start <= local.hour * 60 + local.minute < end


def changed_files(flags: set[str], head: str) -> list[str]:
    """What the compare ending at ``head`` lists: the injected files, else one or two ordinary ones."""
    for kind, files in FILES.items():
        if kind in flags:
            return list(files)
    return DEFAULT_FILES[: 1 + int(head[:6], 16) % 2]


def place_schedule(plans: list[ChangePlan], free: list[ChangePlan], count: int, period: Period) -> None:
    """Move ``count`` uninjected Normal/Major changes to 00:mm UTC of their day (20:mm in New
    York, peak hours when that is a weekday) when the repository's previous deployment is 4 h
    earlier at least; then record every Normal/Major change in peak hours as ``deployed_in_peak_hours``.
    Uses no randomness, so the rest of the sample is unchanged."""
    by_repo: dict[str, list[ChangePlan]] = {}
    for p in sorted(plans, key=lambda p: p.deploy_at):
        by_repo.setdefault(p.repo, []).append(p)
    for plan in free:
        if count == 0:
            break
        if plan.injected or plan.category not in ("Normal", "Major"):
            continue
        moved = plan.deploy_at - plan.deploy_at % DAY + plan.deploy_at % HOUR
        siblings = by_repo[plan.repo]
        before = [p.deploy_at for p in siblings if p.deploy_at < plan.deploy_at]
        if moved < period.start + DAY or not in_peak(moved) or (before and before[-1] > moved - 4 * HOUR):
            continue
        plan.deploy_at = moved
        plan.injected.append(PEAK_KIND)
        count -= 1
    for plan in plans:
        if (plan.category in ("Normal", "Major") and not plan.is_rollback and PEAK_KIND not in plan.injected
                and period.start <= plan.deploy_at < period.end and in_peak(plan.deploy_at)):
            plan.injected.append(PEAK_KIND)
        if PEAK_KIND in plan.injected:
            plan.expect |= {"CM-13"}
