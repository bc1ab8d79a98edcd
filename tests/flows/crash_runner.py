"""`python tests/flows/crash_runner.py <config> <period>`: one whole run (flows.pipeline.run_pipeline),
as test_crash_safety.py starts it in a subprocess - with CHANGETRAIL_FAULT set, it dies at that point."""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flows.config import load_config  # noqa: E402
from flows.pipeline import run_pipeline  # noqa: E402

EVALUATED_AT = datetime(2026, 10, 15, 12, tzinfo=timezone.utc)
REPORTS = ["emergency"]            # one report (PDF + HTML + CSV/XLSX) keeps a kill-point run short

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    config = load_config(Path(sys.argv[1]))
    result = run_pipeline(config, sys.argv[2], evaluated_at=EVALUATED_AT, report_names=REPORTS,
                          wait=float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
    print(result.run_id, result.evaluation_run_id, len(result.reports))
