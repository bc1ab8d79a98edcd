"""The reproducible audit sample of the evidence pack: seeded, stratified by month, with
emergency and Major changes over-sampled.

Method (printed in the pack, so an auditor can redraw it):
1. The population is sorted by change id; the base size comes from the size table
   (the largest tier whose `min_population` the population reaches), capped at the population.
2. The base size is split over the calendar months of deployment in proportion to each month's
   changes (largest remainder, ties to the earlier month); each month's changes are drawn with
   `random.Random(seed).sample`, months in calendar order, one generator for the whole draw.
3. Over-sampling: from the emergency changes not yet drawn, `oversample_emergency` more are drawn
   with the same generator; then the same for Major changes with `oversample_major`.
Same population, seed and table → same sample.
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

METHOD = ("Population sorted by change id; base size from the size table, allocated to the months of "
          "deployment in proportion to their changes (largest remainder); within each month, in calendar "
          "order, changes drawn without replacement with Python random.Random(seed).sample; then the "
          "over-sample of emergency and Major changes not already drawn, same generator.")


@dataclass(frozen=True)
class Candidate:
    change_id: str
    month: str              # "2026-07"
    is_emergency: bool
    is_major: bool


@dataclass(frozen=True)
class Drawn:
    change_id: str
    month: str
    reason: str             # "base sample (2026-07)", "emergency over-sample", "Major over-sample"


def default_seed(period_key: str) -> int:
    """The seed when none is configured: a stable number derived from the period ("2026Q3")."""
    return int(hashlib.sha256(f"changetrail-sample-{period_key}".encode()).hexdigest()[:8], 16)


def base_size(population: int, tiers: Sequence[tuple[int, int]]) -> int:
    """`tiers` = (min_population, size) pairs in any order."""
    for minimum, size in sorted(tiers, reverse=True):
        if population >= minimum:
            return min(size, population)
    return 0


def allocate(size: int, months: dict[str, int]) -> dict[str, int]:
    """`size` split over months in proportion to their counts, largest remainder first."""
    total = sum(months.values())
    if not total:
        return {m: 0 for m in months}
    exact = {m: size * n / total for m, n in months.items()}
    out = {m: int(x) for m, x in exact.items()}
    left = size - sum(out.values())
    for m in sorted(months, key=lambda m: (-(exact[m] - out[m]), m))[:left]:
        out[m] += 1
    return out


def draw(population: Sequence[Candidate], seed: int, tiers: Sequence[tuple[int, int]],
         oversample_emergency: int, oversample_major: int) -> list[Drawn]:
    ordered = sorted(population, key=lambda c: c.change_id)
    rng = random.Random(seed)
    months: dict[str, list[Candidate]] = {}
    for c in ordered:
        months.setdefault(c.month, []).append(c)
    shares = allocate(base_size(len(ordered), tiers), {m: len(v) for m, v in sorted(months.items())})
    drawn: list[Drawn] = []
    taken: set[str] = set()
    for month in sorted(months):
        for c in rng.sample(months[month], shares[month]):
            drawn.append(Drawn(c.change_id, c.month, f"base sample ({month})"))
            taken.add(c.change_id)
    for flag, extra, label in (("is_emergency", oversample_emergency, "emergency over-sample"),
                               ("is_major", oversample_major, "Major over-sample")):
        pool = [c for c in ordered if getattr(c, flag) and c.change_id not in taken]
        for c in rng.sample(pool, min(extra, len(pool))):
            drawn.append(Drawn(c.change_id, c.month, label))
            taken.add(c.change_id)
    return drawn
