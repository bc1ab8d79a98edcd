"""The auditor's evidence pack on a generated organization: content against the warehouse,
reproducible sample, signed manifest that `verify` checks byte for byte, PDF/A-3 with attachments,
source text shown as text."""
from __future__ import annotations

import base64
import csv
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from flows import pipeline
from flows.config import load_config
from flows.demo import generate
from reports.evidence_pack import build
from reports.evidence_pack.pack import ATTACHMENTS, MANIFEST, write_evidence_pack
from reports.evidence_pack.verify import verify_pack

PERIOD = "2026Q3"
GENERATED = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
MALICIOUS = ('<img src="http://evil.example/x.png"><script>alert(1)</script>'
             '<a href="https://evil.example/">click</a>')
KEY = base64.b64encode(bytes(range(1, 33))).decode()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A small generated organization, extracted, loaded and evaluated (no Prefect); one sampled
    change's PR title and ticket description replaced by markup."""
    out = tmp_path_factory.mktemp("pack-demo")
    generate(out, seed=3, period=PERIOD, scale=0.06)
    config = load_config(out / "changetrail.toml")
    run_id = pipeline.new_run_id()
    for name in pipeline.configured_sources(config):
        pipeline.extract_source(config, name, run_id)
    pipeline.load(config)
    pipeline.reconcile(config, PERIOD, evaluated_at=datetime(2026, 11, 27, tzinfo=timezone.utc))
    return out, config


@pytest.fixture(scope="module")
def pack(warehouse, tmp_path_factory):
    out, config = warehouse
    config.reports.evidence_pack.signing_key_env = "CT_PACK_TEST_KEY"
    with duckdb.connect(str(config.warehouse.path)) as con:
        seed, _, _, drawn = build.draw_sample(con, _run(con), build.parse_period(PERIOD), config.reports.evidence_pack)
        target = drawn[0].change_id
        con.execute("""update int_changes_linked_to_prs set title = ? where change_id = ?""", [MALICIOUS, target])
        con.execute("""update int_tickets_categorized set short_description = ? where sys_id in
                       (select ticket_sys_id from int_changes_linked_to_tickets where change_id = ?)""", [MALICIOUS, target])
    con = duckdb.connect(str(config.warehouse.path), read_only=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("CT_PACK_TEST_KEY", KEY)
    dest = tmp_path_factory.mktemp("pack-out") / PERIOD
    paths = write_evidence_pack(con, config, PERIOD, dest, generated_at=GENERATED)
    mp.undo()
    ctx = build.build_context(con, config, PERIOD, None, attachments=[], signing=[], generated_at=GENERATED)
    yield dest / "evidence-pack", paths, ctx, con, target
    con.close()


def _run(con) -> str:
    return con.execute("select run_id from evaluation_runs order by finished_at desc limit 1").fetchone()[0]


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_pack_holds_every_attachment_pdf_html_and_manifest(pack):
    folder, paths, *_ = pack
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([*ATTACHMENTS, MANIFEST, f"evidence-pack-{PERIOD}.pdf", f"evidence-pack-{PERIOD}.html"])
    assert sorted(p.name for p in paths) == names
    assert not any("PRIVATE" in p.read_text(errors="ignore") for p in folder.iterdir() if p.suffix in (".json", ".csv"))


def test_population_and_counts_equal_the_warehouse(pack):
    folder, _, ctx, con, _ = pack
    run_id = ctx.run_id
    outcomes = dict(con.execute("select outcome, count(*) from change_outcomes where run_id = ? group by all",
                                [run_id]).fetchall())
    total = sum(outcomes.values())
    population = _read(folder / "population.csv")
    assert len(population) == total
    assert {r["change_id"] for r in population} == {r[0] for r in con.execute(
        "select change_id from change_outcomes where run_id = ?", [run_id]).fetchall()}
    shown = {p.label: p.value for p in ctx.population}
    assert shown["Changes in the population"] == f"{total:,}"
    assert shown["Violation"] == f"{outcomes.get('violation', 0):,}"
    findings = _read(folder / "findings.csv")
    assert len(findings) == con.execute("select count(*) from run_results(?) where status in "
                                        "('fail', 'error')", [run_id]).fetchone()[0]


def test_completeness_record_lists_every_landing_file_and_ties_out(pack):
    folder, _, ctx, con, _ = pack
    record = json.loads((folder / "completeness-accuracy.json").read_text())
    files = con.execute("select sum(json_array_length(files)) from raw._manifests").fetchone()[0]
    assert len(record["landing_files"]) == files
    assert all(len(f["sha256"]) == 64 and f["query"] for f in record["landing_files"])
    manifest = json.loads((folder / MANIFEST).read_text())
    assert {i["sha256"] for i in manifest["inputs"]} == {f["sha256"] for f in record["landing_files"]}
    assert ctx.tie_out_css == "ok", ctx.tie_out_label
    assert sum(s.records for s in ctx.sources) == sum(f["records"] for f in record["landing_files"])


def test_sample_is_reproducible_and_each_sampled_change_has_its_page(pack, warehouse):
    folder, _, ctx, con, _ = pack
    sample = _read(folder / "sample.csv")
    assert [r["change_id"] for r in sample] == [p.change_id for p in ctx.pages]
    assert len({r["seed"] for r in sample}) == 1 and int(sample[0]["seed"]) == ctx.sample.seed
    again = build.draw_sample(con, ctx.run_id, ctx.period, warehouse[1].reports.evidence_pack)[3]
    assert [d.change_id for d in again] == [r["change_id"] for r in sample]
    population = con.execute("select count(*) from change_outcomes where run_id = ?", [ctx.run_id]).fetchone()[0]
    base = [r for r in sample if r["reason"].startswith("base sample")]
    assert len(base) == ctx.sample.base_size == min(population, 25 if population > 250 else 15)
    html = (folder / f"evidence-pack-{PERIOD}.html").read_text()
    assert f"Seed</th><td>{ctx.sample.seed}" in html and "random.Random(seed).sample" in html


def test_timeline_flags_match_the_warehouse(pack):
    _, _, ctx, con, _ = pack
    for page in ctx.pages:
        deployed = con.execute("select deployed_at from change_outcomes where run_id = ? and change_id = ?",
                               [ctx.run_id, page.change_id]).fetchone()[0]
        late = con.execute("""select count(*) from int_ticket_approvals_resolved a
            join int_change_requests_unioned t on t.sys_id = a.change_sys_id
            join int_changes_linked_to_tickets l on l.ticket_sys_id = t.sys_id
            where l.change_id = ? and a.state = 'approved' and a.updated_at > ?""", [page.change_id, deployed]).fetchone()[0]
        flagged = sum(1 for s in page.timeline if "approved after deploy" in s.flag)
        assert flagged == late, page.change_id
        assert ("approved after deploy" in page.flags) == bool(late)


def test_verify_passes_on_the_pack_as_written_and_via_the_cli(pack):
    from flows.cli import app

    folder = pack[0]
    assert verify_pack(folder) == []
    assert verify_pack(folder / MANIFEST) == []
    result = CliRunner().invoke(app, ["verify", str(folder)])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "copy"))


@pytest.mark.parametrize("name", sorted(ATTACHMENTS) + [f"evidence-pack-{PERIOD}.pdf"])
def test_verify_names_an_attachment_with_one_changed_byte(pack, tmp_path, name):
    copy = _copy(pack[0], tmp_path)
    data = bytearray((copy / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / name).write_bytes(bytes(data))
    problems = verify_pack(copy)
    assert any(p.startswith(f"{name}: altered") for p in problems), problems


def test_verify_fails_on_a_changed_manifest_byte_missing_and_extra_files(pack, tmp_path):
    from flows.cli import app

    copy = _copy(pack[0], tmp_path)
    text = (copy / MANIFEST).read_text()
    (copy / MANIFEST).write_text(text.replace(f'"period": "{PERIOD}"', '"period": "2026Q4"'))
    assert any("signature does not verify" in p for p in verify_pack(copy))
    (copy / MANIFEST).write_text(text)
    (copy / "sample.csv").unlink()
    (copy / "notes.txt").write_text("added later")
    problems = verify_pack(copy)
    assert "sample.csv: missing" in problems and "notes.txt: extra file, not in the manifest" in problems
    result = CliRunner().invoke(app, ["verify", str(copy)])
    assert result.exit_code == 1 and "sample.csv" in result.output


def test_manifest_carries_the_public_key_its_fingerprint_and_key_source(pack):
    manifest = json.loads((pack[0] / MANIFEST).read_text())
    from reports.evidence_pack.signing import fingerprint

    assert manifest["signature"]["fingerprint"] == fingerprint(base64.b64decode(manifest["signature"]["public_key"]))
    assert manifest["signature"]["key_source"] == "environment variable CT_PACK_TEST_KEY"


def test_pdf_is_pdfa3_with_the_attachments_embedded_byte_for_byte(pack):
    folder = pack[0]
    reader = PdfReader(str(folder / f"evidence-pack-{PERIOD}.pdf"))
    xmp = reader.xmp_metadata.rdf_root.toxml()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    embedded = reader.attachments
    assert sorted(embedded) == sorted(ATTACHMENTS)
    for name in ATTACHMENTS:
        assert embedded[name][0] == (folder / name).read_bytes(), name
    text = "\n".join(page.extract_text() for page in reader.pages[:4])
    assert "Auditor evidence pack" in text and "Tie-out" in "\n".join(p.extract_text() for p in reader.pages)


def test_source_text_with_html_renders_as_text(pack):
    folder, _, ctx, _, target = pack
    html = (folder / f"evidence-pack-{PERIOD}.html").read_text()
    assert "<script>" not in html and "<img src" not in html and '<a href="https://evil' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    reader = PdfReader(str(folder / f"evidence-pack-{PERIOD}.pdf"))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "<script>alert(1)</script>" in text.replace("\n", "")
    page = next(p for p in ctx.pages if p.change_id == target)
    assert any("<script>" in r.cells[1] for r in page.pull_requests.rows) or any("<script>" in t.value for t in page.ticket)


def test_each_evidence_page_shows_the_production_deployment_and_what_did_not_pass(pack):
    _, _, ctx, con, _ = pack
    for page in ctx.pages:
        deployment_id, failed = con.execute("""select deployment_id, failed_controls from change_outcomes
            where run_id = ? and change_id = ?""", [ctx.run_id, page.change_id]).fetchone()
        assert ["production", deployment_id] in [r.cells[:2] for r in page.deployments.rows], page.change_id
        assert sorted(r.cells[0] for r in page.results.rows) == sorted(failed or []), page.change_id
