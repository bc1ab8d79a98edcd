"""Benchmark profiles: how big an organization each one generates (flows.demo.generate(scale=...)).

Scale 1.0 is the demo: ~3,000 production changes a quarter. The demo's volumes grow linearly with
scale, so a profile is a target number of production changes turned into a scale. A profile with
`replicate_from` is not generated: it is that profile's landed evidence written `copies` times under
distinct identities (flows/bench/replicate.py), and only load, floor and reconcile are timed (with
`daily`, also the day on top: copy 0's last day is held back from the history, then loaded and
reconciled incrementally, so the day brings new deployments, PRs, reviews, tickets and scans).
"""
from __future__ import annotations

from dataclasses import dataclass

DEMO_CHANGES_AT_SCALE_1 = 3_000


@dataclass(frozen=True)
class Profile:
    name: str
    changes: int            # production changes in the quarter (target)
    description: str
    replicate_from: str | None = None   # built from this profile's landing instead of generated
    copies: int = 1                     # ... written this many times (the original included)
    months_back: int = 0                # copy k's dates moved back k * months_back months (history)
    daily: bool = False                 # replicated: copy 0's last day held back, loaded and reconciled on top

    @property
    def scale(self) -> float:
        return round(self.changes / DEMO_CHANGES_AT_SCALE_1, 4)


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("T", 150, "tiny: the test suite's end-to-end run of the benchmark itself"),
    Profile("S", 3_000, "the demo: one quarter of a 40-service company"),
    Profile("M", 10_000, "a mid-size company's quarter"),
    Profile("L", 50_000, "a large SOC 2 company's quarter (issue 7: ~60k PRs, 30k tickets)"),
    Profile("XL", 500_000, "an enterprise quarter: L's landed evidence ten times, under distinct identities",
            replicate_from="L", copies=10),
    Profile("H", 600_000, "three years of a large company: L's landed evidence as 12 quarters"
            " (each copy 3 months earlier), its last day loaded and reconciled on top", replicate_from="L",
            copies=12, months_back=3, daily=True),
    Profile("LD", 50_000, "L with its last day held back: the day loaded and reconciled on top of one quarter",
            replicate_from="L", copies=1, daily=True),
)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name.upper()]
    except KeyError:
        raise ValueError(f"unknown benchmark profile {name!r}; choose one of {', '.join(PROFILES)}") from None
