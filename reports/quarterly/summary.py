"""The executive summary of the quarterly report: what a CISO reads in one minute.

The answer (is change management operating effectively this quarter?) comes from a stated rule
over numbers the warehouse has already decided — the population tie-out and the share of changes
whose outcome is `violation` — and is printed together with that rule:

- the population does not tie out       -> "Not demonstrated" (the numbers cannot be relied on);
- no violation                          -> "Operating effectively";
- violations <= TOLERABLE_VIOLATION_RATE -> "Operating effectively, with deviations";
- more                                  -> "Not operating effectively".
"""
from __future__ import annotations

from reports.quarterly import sections as s
from reports.document import fmt_int, fmt_rate, outcome_css, plural, rate
from reports.quarterly.model import (
    Comparison,
    Figure,
    Summary,
    TopControl,
    TrendSection,
    Verdict,
)

TOLERABLE_VIOLATION_RATE = 0.05
TOP = 3


def _were(n: int, one: str, many: str) -> str:
    return f"{fmt_int(n)} {'was ' + one if n == 1 else 'were ' + many}"


def verdict(population: int, by_outcome: dict[str, int], tie_out_ok: bool,
            tolerable_rate: float = TOLERABLE_VIOLATION_RATE) -> Verdict:
    violations = by_outcome["violation"]
    share = rate(violations, population) or 0.0
    limit = f"{tolerable_rate * 100:g} %"
    rule = (f"Rule: operating effectively when the population ties out to the source systems and "
            f"no change violated SOC2-CHG-001; with deviations when at most {limit} of changes did; "
            f"not operating effectively above {limit}.")
    sentence = (f"{fmt_int(violations)} of {plural(population, 'production change')} "
                f"({fmt_rate(violations, population)}) violated SOC2-CHG-001; "
                f"{_were(by_outcome['exception'], 'a documented exception', 'documented exceptions')}"
                f" and {_were(by_outcome['compliant'], 'compliant', 'compliant')}.")
    if not tie_out_ok:
        return Verdict("Not demonstrated", "bad", "The population does not tie out to the source "
                       "systems, so the figures below cannot be relied on. " + sentence, rule)
    if population == 0:
        return Verdict("Not demonstrated", "bad",
                       "No production change was evaluated in this period.", rule)
    if violations == 0:
        return Verdict("Operating effectively", "ok", sentence, rule)
    if share <= tolerable_rate:
        return Verdict("Operating effectively, with deviations", "warn", sentence, rule)
    return Verdict("Not operating effectively", "bad", sentence, rule)


def risks(per_control: dict[str, int], previous_per_control: dict[str, int] | None,
          previous_label: str, titles: dict[str, str], population: int,
          emergency_open: int, top_teams) -> list[str]:
    """The top risks, one sentence each: controls with the most violating changes (and their
    move since the last quarter), emergency changes not closed out, the team with most violations."""
    out = []
    ranked = sorted(per_control.items(), key=lambda kv: (-kv[1], s.control_sort_key(kv[0])))
    for cid, n in ranked[:TOP]:
        line = (f"{cid} {titles.get(cid, '')}: {plural(n, 'violating change')} "
                f"({fmt_rate(n, population)} of changes)")
        if previous_per_control is not None:
            before = previous_per_control.get(cid, 0)
            line += (f", unchanged since {previous_label}" if before == n else
                     f", {'up' if n > before else 'down'} from {fmt_int(before)} in {previous_label}")
        out.append(line + ".")
    if emergency_open:
        out.append(f"{plural(emergency_open, 'emergency change')} not closed out under §5 "
                   "(documented within 24 h, reviewed within 5 business days, signed off by the CISO).")
    if top_teams:
        t = top_teams[0]
        out.append(f"Team {t.team}: {plural(t.violations, 'violation')} "
                   f"({t.violation_rate_label} of its {fmt_int(t.changes)} changes), the most of any team.")
    return out


def summary(*, population, by_outcome, emergencies, emergency, rollbacks, violations, controls,
            scope, period_label, population_section, per_control, trends: TrendSection,
            comparison: list[Comparison], previous_per_control, titles,
            tolerable_rate: float = TOLERABLE_VIOLATION_RATE) -> Summary:
    figures = [Figure("Changes in population", population, fmt_int(population), None, "",
                      "", "successful production deployments")]
    for outcome, label in (("compliant", "Compliant"), ("exception", "Exceptions"),
                           ("violation", "Violations")):
        n = by_outcome[outcome]
        figures.append(Figure(label, n, fmt_int(n), rate(n, population),
                              fmt_rate(n, population), outcome_css(outcome)))
    closed = emergency.closed_out
    figures.append(Figure("Emergency changes", emergencies, fmt_int(emergencies),
                          rate(emergencies, population), fmt_rate(emergencies, population),
                          "st-emergency", f"{closed:,} closed out under §5"))
    ranked = sorted((c for c in controls if c.fails),
                    key=lambda c: (-c.fails, s.control_sort_key(c.control_id)))
    top = [TopControl(c.control_id, c.title, c.fails, fmt_int(c.fails), c.failure_rate_label)
           for c in ranked[:TOP]]
    statements = [
        f"{plural(population, 'production change')} in {period_label} across "
        f"{plural(int(scope['services']), 'service')} and {plural(int(scope['teams']), 'team')}.",
        f"{plural(by_outcome['violation'], 'change')} ({fmt_rate(by_outcome['violation'], population)})"
        " did not follow SOC2-CHG-001"
        + (f"; the control failing most often is {top[0].control_id} {top[0].title} "
           f"({plural(top[0].fails, 'failure')})." if top else "."),
        f"{plural(emergencies, 'emergency change')}: {closed:,} closed out under §5, "
        f"{emergency.violations:,} not.",
        f"{plural(rollbacks.total, 'rollback')}: "
        f"{rollbacks.documented:,} documented as an "
        "incident with a post-incident review (CM-17).",
        population_section.tie_out_label,
    ]
    top_teams = [t for t in violations.by_team if t.violations][:TOP]
    previous = trends.rows[-2] if len(trends.rows) > 1 else None
    comparison_title = (f"Compared with {previous.period_label}" if previous else
                        "No earlier quarter has been evaluated in this warehouse, so there is "
                        "nothing to compare this quarter with.")
    return Summary(
        verdict=verdict(population, by_outcome, population_section.tie_out_ok, tolerable_rate),
        risks=risks(per_control, previous_per_control,
                    previous.period_label if previous else "", titles, population,
                    emergency.violations, top_teams),
        comparison=comparison, comparison_title=comparison_title,
        population=population, figures=figures, top_controls=top, top_teams=top_teams,
        top_controls_empty="No control failed in this period.",
        statements=statements, tie_out_ok=population_section.tie_out_ok,
        tie_out_label=population_section.tie_out_label,
        tie_out_css=population_section.tie_out_css)
