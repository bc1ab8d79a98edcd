"""Named fault-injection checkpoints: kill the process at a chosen point to prove crash safety.

`checkpoint("load.before_commit")` is a no-op unless the environment variable
`CHANGETRAIL_FAULT=<name>[:<n>]` names that point; then the n-th time (default the first) the
point is reached the process ends at once with `os._exit(137)` - no `finally`, no `atexit`, no
flush, exactly like `kill -9`. tests/flows/test_crash_safety.py runs the pipeline once per point
and requires the re-run to end in the state of an uninterrupted run.

Every point is listed in `POINTS` (an unknown name in the variable is an error, so a renamed
point cannot silently turn a crash test into a no-op).
"""
from __future__ import annotations

import os
import sys

ENV = "CHANGETRAIL_FAULT"
EXIT_CODE = 137

POINTS: dict[str, str] = {
    # extraction (extractors/core/engine.py, landing.py; flows/pipeline.py)
    "extract.before_source": "a source's extraction is about to start",
    "extract.after_page": "a page was fetched, before its records are landed",
    "landing.mid_file": "part of a landing file was compressed and written",
    "landing.before_rename": "a landing file is complete under its temporary name",
    "landing.before_manifest": "every landing file of a unit is in place, the manifest is not",
    "landing.mid_manifest": "the manifest is written under its temporary name, not renamed",
    "landing.after_manifest": "a unit's manifest is in place",
    "extract.after_source": "a source's extraction finished, the next has not started",
    # load (warehouse/load.py)
    "load.before_transaction": "manifests read and hashed, nothing written",
    "load.after_table": "one raw table appended inside the load transaction",
    "load.after_quarantine": "quarantine rows inserted inside the load transaction",
    "load.after_manifests": "manifest rows (with their cursors) inserted, before the run record",
    "load.before_commit": "the run record is appended, the transaction not committed",
    "load.after_commit": "the load committed, the run has not moved on",
    # reconcile (warehouse/runner.py)
    "reconcile.before_transaction": "parameters written and models built, no results",
    "reconcile.mid_controls": "one control's results stored inside the evaluation transaction",
    "reconcile.before_outcomes": "every control stored, change outcomes not computed",
    "reconcile.before_commit": "the evaluation run row is written, not committed",
    "reconcile.after_commit": "the evaluation committed, no report rendered",
    # reports (reports/render.py, flows/pipeline.py)
    "report.before_render": "a report is about to be rendered",
    "report.mid_pdf": "a PDF is written under its temporary name, not renamed",
    "report.mid_html": "an HTML file is written under its temporary name, not renamed",
    "report.before_record": "every report is written, their hashes are not recorded",
    "report.after_record": "report hashes recorded, the run has not released its lock",
}

_hits: dict[str, int] = {}


def armed() -> tuple[str, int] | None:
    """(point, n) named by the environment, or None."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    name, _, nth = spec.partition(":")
    if name not in POINTS:
        raise ValueError(f"{ENV}={spec!r}: no checkpoint named {name!r} (see extractors/core/faults.py)")
    try:
        n = int(nth) if nth else 1
    except ValueError:
        raise ValueError(f"{ENV}={spec!r}: the count after ':' must be a whole number") from None
    return name, max(n, 1)


def checkpoint(name: str) -> None:
    """Die here (exit 137, nothing flushed) if CHANGETRAIL_FAULT names this point and hit count."""
    target = armed()
    if target is None or target[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= target[1]:
        os.write(2, f"changetrail fault injection: killed at {name} (hit {_hits[name]})\n".encode())
        os._exit(EXIT_CODE)


def known(name: str) -> bool:
    return name in POINTS


if __name__ == "__main__":      # `python -m extractors.core.faults` lists the points
    for point, text in POINTS.items():
        sys.stdout.write(f"{point:30} {text}\n")
