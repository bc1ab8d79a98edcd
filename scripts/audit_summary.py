"""Summarize pip-audit's JSON: vulnerable packages, and packages that could not be audited.

    python scripts/audit_summary.py out/audit/pip-audit.json

pip-audit exits 0 when the index has no data for a package ("Dependency not found on PyPI"),
which would read as "no known vulnerabilities" while nothing was checked. This prints, in one
line a reader cannot miss, how many of the locked packages were actually audited.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def summarize(report: dict) -> tuple[int, int, list[str], list[str]]:
    deps = report.get("dependencies", [])
    skipped = [d["name"] for d in deps if d.get("skip_reason")]
    vulnerable = [f"{d['name']} {d.get('version', '')}: {', '.join(v['id'] for v in d['vulns'])}"
                  for d in deps if d.get("vulns")]
    return len(deps), len(deps) - len(skipped), skipped, vulnerable


def main(path: str) -> int:
    file = Path(path)
    if not file.exists():
        print(f"pip-audit: no report at {file} (pip-audit did not run)")
        return 0
    total, audited, skipped, vulnerable = summarize(json.loads(file.read_text()))
    print(f"pip-audit: {audited} of {total} locked packages audited, {len(vulnerable)} vulnerable")
    for line in vulnerable:
        print(f"  VULNERABLE {line}")
    if skipped:
        print(f"  NOT AUDITED ({len(skipped)}): the index has no vulnerability data for "
              f"{', '.join(skipped[:8])}{' …' if len(skipped) > 8 else ''} — run with AUDIT_STRICT=1 "
              "where PyPI's JSON API is reachable")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
