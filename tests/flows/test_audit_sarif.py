"""`make audit`'s Bandit scan, converted to SARIF, is ingested by the SARIF source like any scanner's.

Bandit runs for real on a tiny file (no network); scripts/bandit_sarif.py converts its JSON; the
SARIF extractor lands it and `stg_sarif__scan_findings` judges it.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from extractors.sarif import extract_sarif
from flows.config import SarifSource
from warehouse.load import load_landing
from warehouse.models import build_models
from warehouse.schema import connect

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bandit_sarif.py"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _converter():
    spec = importlib.util.spec_from_file_location("bandit_sarif", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_real_bandit_scan_of_changetrail_code_is_ingested_as_sarif(tmp_path: Path) -> None:
    code = tmp_path / "code" / "weak.py"
    code.parent.mkdir()
    code.write_text("import hashlib\n\n\ndef digest(b):\n    return hashlib.md5(b).hexdigest()\n", encoding="utf-8")
    report = tmp_path / "bandit.json"
    done = subprocess.run([sys.executable, "-m", "bandit", "-q", "-f", "json", "-o", str(report), str(code)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr      # 1 = issues found
    scans = tmp_path / "audit"
    scans.mkdir()
    sarif = _converter().convert(json.loads(report.read_text(encoding="utf-8")),
                                 repo="https://github.com/acme/changetrail.git", commit=COMMIT)
    (scans / "bandit.sarif").write_text(json.dumps(sarif), encoding="utf-8")

    # the config snippet the README documents:  [sources.sarif]  path = "out/audit"
    extract_sarif(SarifSource(path=scans), tmp_path / "landing", "20260701T000000Z-audit0")
    with connect(tmp_path / "wh.duckdb") as con:
        summary = load_landing(con, tmp_path / "landing")
        assert summary.quarantined == 0 and summary.records == {"sarif/runs": 1, "sarif/results": 1}
        build_models(con, layers=("staging",), materialize=())
        scan = con.execute("select tool_name, repo, commit_sha, count_results from stg_sarif__scans").fetchall()
        findings = con.execute("select rule_id, level, severity, is_suppressed, location_uri "
                               "from stg_sarif__scan_findings").fetchall()
    assert scan == [("Bandit", "acme/changetrail", COMMIT, 1)]
    assert findings == [("B324", "error", "high", False, str(code))]
