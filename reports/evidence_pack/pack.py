"""Write the evidence pack: `<reports.out>/<period>/evidence-pack/`.

    evidence-pack-2026Q3.pdf     PDF/A-3b, every attachment below embedded in it
    evidence-pack-2026Q3.html    preview (with --format html)
    population.csv / .xlsx       every change of the period with its outcome
    findings.csv                 every failed or errored control result, with its exception
    completeness-accuracy.json / .csv   every landing file (request, filters, records, SHA-256),
                                 the tie-out and the exclusions
    sample.csv                   the sampled changes, seed and reason
    config.json                  the configuration the pack was made with (no secrets in it)
    exceptions-register.csv      the exceptions the run applied
    manifest.json                SHA-256 of every file above and of every input landing file,
                                 signed with Ed25519 (reports/evidence_pack/signing.py)
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from weasyprint import Attachment

from reports.atomic import atomic_open, write_text_atomic
from reports.quarterly import sql as q
from reports.csv_export import POPULATION_COLUMNS, _cell, write_findings_csv, write_population_csv
from reports.evidence_pack import build
from reports.evidence_pack.signing import load_signing_key
from reports.quarterly.model import LabelValue
from reports.render import render_html, render_pdf
from reports.xlsx import write_xlsx

TEMPLATE = "evidence_pack/pack.html"
FOLDER = "evidence-pack"
MANIFEST = "manifest.json"
FORMAT = "changetrail-evidence-pack/1"
ATTACHMENTS = {
    "population.csv": "Every production change of the period with its outcome",
    "population.xlsx": "The same population as a spreadsheet",
    "findings.csv": "Every failed or errored control result, with the exception covering it",
    "completeness-accuracy.json": "Per landing file: request, filters, records, SHA-256; the tie-out; exclusions",
    "completeness-accuracy.csv": "The landing files of the completeness and accuracy record, one row each",
    "sample.csv": "The sampled changes, the seed and why each was drawn",
    "config.json": "The configuration used (credentials are referenced by variable name only)",
    "exceptions-register.csv": "The exceptions-register entries the evaluation run applied",
}


def canonical(body: dict) -> bytes:
    """The bytes the signature covers: the manifest without its `signature`, keys sorted, compact."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _csv(path: Path, columns, rows) -> Path:
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in row] for row in rows)
    return path


def _json_default(value):
    return value.isoformat() if isinstance(value, datetime) else str(value)


def write_attachments(con, config, ctx, entries: list[dict], exclusions: list[dict], drawn, seed: int,
                      out: Path) -> list[Path]:
    rid, period = ctx.run_id, ctx.period.key
    write_population_csv(con, rid, period, out / "population.csv")
    with (out / "population.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        columns = next(reader)
        write_xlsx(out / "population.xlsx", {"Population": (columns, reader)})
    assert tuple(columns) == POPULATION_COLUMNS
    write_findings_csv(con, rid, period, out / "findings.csv")
    files_cols = ["system", "unit", "stream", "extraction_run_id", "started_at", "finished_at", "base_url",
                  "query", "cursors", "path", "sha256", "records"]
    file_rows = [[e["system"], e["unit"], e["stream"], e["run_id"], e["started_at"], e["finished_at"],
                  e["base_url"], e["query"], e["cursors"], e["path"], e["sha256"], e["records"]] for e in entries]
    _csv(out / "completeness-accuracy.csv", files_cols, file_rows)
    record = {"period": period, "run_id": rid,
              "tie_out": [{"line": t.label, "value": t.value, "check": t.css} for t in ctx.tie_out],
              "tie_out_result": ctx.tie_out_label,
              "exclusions": exclusions,
              "landing_files": [dict(zip(files_cols, r)) for r in file_rows]}
    write_text_atomic(out / "completeness-accuracy.json",
                      json.dumps(record, indent=1, default=_json_default, ensure_ascii=False))
    _csv(out / "sample.csv", ["order", "change_id", "month", "reason", "seed"],
         [[i, d.change_id, d.month, d.reason, seed] for i, d in enumerate(drawn, 1)])
    write_text_atomic(out / "config.json", json.dumps(config.model_dump(mode="json"), indent=1, sort_keys=True))
    _csv(out / "exceptions-register.csv", ["change_id", "control_id", "exception_id", "justification",
                                           "approver", "expires_at"],
         [[e["subject_id"], e["control_id"], e["exception_id"], e["justification"], e["approver"],
           e["expires_at"]] for e in build.exceptions_register(con, rid)])
    return [out / name for name in ATTACHMENTS]


def write_evidence_pack(con, config, period: str, out_dir: Path, run_id: str | None = None,
                        formats=("pdf", "html"), generated_at: datetime | None = None) -> list[Path]:
    """The pack folder under `out_dir` (<reports.out>/<period>); returns the files written."""
    out = Path(out_dir) / FOLDER
    if out.exists():
        shutil.rmtree(out)               # a pack is rewritten whole: no stale file may survive
    out.mkdir(parents=True)
    generated_at = generated_at or datetime.now(timezone.utc)
    key = load_signing_key(config.reports.evidence_pack)
    signing = [LabelValue("Signature", "Ed25519 over manifest.json (SHA-256 of every file of the pack)"),
               LabelValue("Public key fingerprint", key.fingerprint), LabelValue("Key source", key.source),
               LabelValue("Verify with", "changetrail verify <this folder>")]
    attachments = [LabelValue(name, what) for name, what in ATTACHMENTS.items()]
    ctx = build.build_context(con, config, period, run_id, attachments=attachments, signing=signing,
                              generated_at=generated_at)
    run = q.evaluation_run(con, ctx.period, ctx.run_id)
    entries = build.manifest_entries(con, run)
    exclusions = build.excluded_deployments(con, ctx.period, config.environments("production"), ctx.run_id)
    seed, _, _, drawn = build.draw_sample(con, ctx.run_id, ctx.period, config.reports.evidence_pack)
    files = write_attachments(con, config, ctx, entries, exclusions, drawn, seed, out)
    stem = f"evidence-pack-{ctx.period.key}"
    if "pdf" in formats:
        embedded = [Attachment(file_obj=io.BytesIO(f.read_bytes()), name=f.name, description=ATTACHMENTS[f.name],
                               relationship="Data", created=generated_at, modified=generated_at) for f in files]
        files.append(render_pdf(TEMPLATE, ctx, out / f"{stem}.pdf",
                                pdf_options={"pdf_variant": "pdf/a-3b", "attachments": embedded}))
    if "html" in formats:
        files.append(render_html(TEMPLATE, ctx, out / f"{stem}.html"))
    body = {
        "format": FORMAT, "organization": config.reports.organization, "period": ctx.period.key,
        "evaluation_run_id": ctx.run_id, "generated_at": generated_at.astimezone(timezone.utc).isoformat(),
        "files": [{"path": f.name, "sha256": sha256_file(f), "bytes": f.stat().st_size,
                   "embedded_in_pdf": f.name in ATTACHMENTS and "pdf" in formats} for f in files],
        "pdf": f"{stem}.pdf" if "pdf" in formats else None,
        "inputs": [{"system": e["system"], "unit": e["unit"], "stream": e["stream"], "path": e["path"],
                    "sha256": e["sha256"], "records": e["records"]} for e in entries],
    }
    body["signature"] = {"algorithm": "Ed25519", "public_key": key.public_b64, "fingerprint": key.fingerprint,
                         "key_source": key.source,
                         "value": base64.b64encode(key.private.sign(canonical(body))).decode()}
    write_text_atomic(out / MANIFEST, json.dumps(body, indent=1, ensure_ascii=False) + "\n")   # last: a pack without it is incomplete
    return files + [out / MANIFEST]


def render_report(request) -> list[Path]:
    """Registry entry (reports/registry.py): the evidence pack of `request.period`."""
    return write_evidence_pack(request.con, request.config, request.period, request.out_dir,
                               run_id=request.run_id, formats=request.formats)
