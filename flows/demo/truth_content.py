"""CM-13 (schedule), CM-18 (security review) and CM-19 (category mismatch) for the reference
evaluation, written from ``warehouse/README.md`` without the warehouse's code: local time by
``zoneinfo``, globs matched segment by segment. Mixed into :class:`flows.demo.truth.Evaluator`."""
from __future__ import annotations

import datetime as dt
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flows.demo.clock import HOUR

if TYPE_CHECKING:
    from flows.demo.truth import Change

RANK = {"Standard": 1, "Normal": 2, "Major": 3}


def glob_match(path: str, glob: str) -> bool:
    """gitignore-style: a `**` segment stands for any number of directories (a trailing one for
    at least one entry below); other segments match one path segment with fnmatch wildcards."""
    def match(parts: list[str], pats: list[str]) -> bool:
        if not pats:
            return not parts
        if pats[0] == "**":
            if len(pats) == 1:
                return len(parts) >= 1
            return any(match(parts[i:], pats[1:]) for i in range(len(parts) + 1))
        return bool(parts) and fnmatchcase(parts[0], pats[0]) and match(parts[1:], pats[1:])
    return match(path.split("/"), glob.split("/"))


def _inside(local: dt.datetime, span: tuple[tuple[int, ...], int, int]) -> bool:
    """Is ``local`` in the weekly span (weekdays Mon = 0, start and end minute; end <= start
    crosses midnight into the next day)?"""
    days, start, end = span
    second, day = local.hour * 3600 + local.minute * 60 + local.second, local.weekday()
    if start < end:
        return day in days and start * 60 <= second < end * 60
    return (day in days and second >= start * 60) or ((day - 1) % 7 in days and second < end * 60)


class ContentRules:
    def cm13(self, c: Change):
        if c.is_rollback or c.ticket is None or c.category not in ("Normal", "Major"):
            return "not_applicable", "rollback" if c.is_rollback else "no ticket" if c.ticket is None else c.category
        p = self.policy
        local = dt.datetime.fromtimestamp(c.deployed_at, ZoneInfo(p.schedule_time_zone))
        reasons = []
        if p.maintenance_windows and not any(_inside(local, w) for w in p.maintenance_windows):
            reasons.append("outside the maintenance windows")
        if any(_inside(local, s) for s in p.peak_hours):
            reasons.append("in peak hours")
        if c.ticket.created_at is None:
            reasons.append("notice unknown")
        elif c.deployed_at - c.ticket.created_at < p.notice_hours * HOUR:
            reasons.append(f"notified {(c.deployed_at - c.ticket.created_at) / HOUR:.1f} h ahead")
        if reasons:
            return "fail", "; ".join(reasons)

    def _touched(self, c: Change, rules) -> dict[str, list[str]]:
        """rule or area -> the change's files matching one of its globs."""
        return {name: sorted(f for f in c.files if any(glob_match(f, g) for g in globs))
                for name, globs in rules if any(glob_match(f, g) for f in c.files for g in globs)}

    def cm18(self, c: Change):
        if c.is_rollback or c.is_baseline:
            return "not_applicable", "rollback" if c.is_rollback else "baseline"
        areas = self._touched(c, self.policy.sensitive_paths)
        if not areas:
            return "not_applicable", "no sensitive path"
        roles = set(self.policy.security_approver_roles)
        if c.ticket is not None and any(roles & set(p.roles) for p in self._approvers(c.ticket, c.deployed_at)):
            return None
        for pr in c.prs:
            if any(k in self.people and roles & set(self.people[k].roles) for k in self.valid_approvers(pr)):
                return None
        return "fail", f"touches {', '.join(sorted(areas))} without a security approval"

    def cm19(self, c: Change):
        if c.is_rollback or c.is_baseline or c.ticket is None or c.category not in RANK:
            return "not_applicable", "rollback, baseline, no ticket or no ranked category"
        matched = self._touched(c, [(name, globs) for name, _, globs in self.policy.category_rules])
        if not matched:
            return "not_applicable", "no rule matched"
        needed = max(RANK[minimum] for name, minimum, _ in self.policy.category_rules if name in matched)
        if RANK[c.category] < needed:
            return "fail", f"filed as {c.category}, needs rank {needed}"
