"""Very large scanner files are streamed (issue 6 item 5): a SARIF log and a Trivy report of ~50 MB
extract with a Python heap peak far below their size, and every record still lands."""
from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from extractors.sarif import extract_sarif
from flows.config import SarifSource
from tests.extractors.conftest import read_manifest

TARGET = 50 << 20


def _result(i: int) -> dict:
    return {"ruleId": f"R{i % 97}", "level": "warning", "message": {"text": f"finding {i} " + "x" * 300},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f"src/m{i % 500}.py"},
                                                "region": {"startLine": i % 1000 + 1}}}],
            "partialFingerprints": {"primaryLocationLineHash": f"{i:032x}"}}


def write_big_sarif(path: Path, target: int = TARGET) -> int:
    """Two runs, the results written one by one; returns how many results."""
    sample = json.dumps(_result(0)).encode()
    per_run = target // (len(sample) + 2) // 2
    with path.open("wb") as fh:
        fh.write(b'{"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": [')
        for run in range(2):
            fh.write(b"," if run else b"")
            fh.write(b'{"tool": {"driver": {"name": "semgrep", "rules": [{"id": "R1"}]}}, "results": [')
            for i in range(per_run):
                fh.write((b",\n" if i else b"") + json.dumps(_result(run * per_run + i)).encode())
            fh.write(b'], "invocations": [{"executionSuccessful": true, "endTimeUtc": "2026-08-01T10:00:00Z"}]}')
        fh.write(b"]}")
    return per_run * 2


def _peak(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_large_sarif_is_streamed_with_bounded_memory(tmp_path: Path) -> None:
    folder = tmp_path / "sarif"
    folder.mkdir()
    big = folder / "big.sarif"
    count = write_big_sarif(big)
    size = big.stat().st_size
    assert size > 45 << 20
    [path], peak = _peak(lambda: extract_sarif(SarifSource(path=folder), tmp_path / "landing", "r1"))
    manifest = read_manifest(path)
    records = {f["stream"]: f["records"] for f in manifest["files"]}
    assert records == {"runs": 2, "results": count} and manifest["quarantined"] == []
    assert peak < size / 4, f"peak {peak} bytes while reading a {size}-byte file"


def _vulnerability(i: int) -> dict:
    return {"VulnerabilityID": f"CVE-2026-{i:05d}", "PkgName": f"pkg{i % 300}", "InstalledVersion": "1.0.0",
            "FixedVersion": "1.0.1", "Status": "fixed", "Severity": ("LOW", "HIGH", "CRITICAL")[i % 3],
            "Title": "t" * 200, "Description": "d" * 400, "References": [f"https://example.com/{i}"]}


def write_big_trivy(path: Path, target: int = TARGET) -> int:
    """A Trivy report of three targets; returns how many findings."""
    per_target = target // (len(json.dumps(_vulnerability(0))) + 2) // 3
    with path.open("wb") as fh:
        fh.write(b'{"SchemaVersion": 2, "CreatedAt": "2026-08-01T10:00:00Z", "ArtifactName": "acme/web", "Results": [')
        for t in range(3):
            fh.write(b"," if t else b"")
            fh.write(json.dumps({"Target": f"layer-{t}", "Class": "os-pkgs", "Type": "debian"})[:-1].encode())
            fh.write(b', "Vulnerabilities": [')
            for i in range(per_target):
                fh.write((b"," if i else b"") + json.dumps(_vulnerability(t * per_target + i)).encode())
            fh.write(b"]}")
        fh.write(b"]}")
    return per_target * 3


def test_large_trivy_report_is_streamed_with_bounded_memory(tmp_path: Path) -> None:
    from extractors.scanners.extract import extract_scanners
    from flows.config import ScannersSource

    folder = tmp_path / "scans" / "acme" / "web" / ("a" * 40)
    folder.mkdir(parents=True)
    big = folder / "trivy.json"
    count = write_big_trivy(big)
    size = big.stat().st_size
    assert size > 45 << 20
    paths, peak = _peak(lambda: extract_scanners(ScannersSource(path=tmp_path / "scans"), tmp_path / "landing", "r1"))
    manifests = {read_manifest(p)["system"]: read_manifest(p) for p in paths}
    records = {f["stream"]: f["records"] for f in manifests["trivy"]["files"]}
    assert records == {"reports": 1, "findings": count}
    assert all(m["quarantined"] == [] for m in manifests.values())
    assert peak < size / 4, f"peak {peak} bytes while reading a {size}-byte file"
