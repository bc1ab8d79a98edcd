"""Rendering: PDF + HTML + CSV files, escaping of source text, the asset-only fetcher, scale."""
from __future__ import annotations

import csv
import re
import shutil
import socket
import subprocess
import urllib.request

import duckdb
import jinja2
import pytest
from pypdf import PdfReader
from quarterly_fixture import GENERATED_AT, make_small
from weasyprint import HTML

from reports.csv_export import _cell
from reports.quarterly import TEMPLATE, build_context, write_quarterly_report
from reports import render
from reports.render import ASSETS_DIR, TEMPLATES_DIR, AssetOnlyFetcher, render_string

ORG = "Acme <b>Corp</b>"


def _pdftotext(path) -> str:
    """The PDF's text: poppler's layout text where installed, else pypdf's (a Python dependency)."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                              capture_output=True, text=True).stdout
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def _pages(path) -> int:
    return len(PdfReader(path).pages)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or a URL is recorded and fails."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network access in a report test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", refuse)
    return attempts


class RecordingFetcher(AssetOnlyFetcher):
    instances: list[AssetOnlyFetcher] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        RecordingFetcher.instances.append(self)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The public entry point, run once with the network blocked and the fetcher observed."""
    con = duckdb.connect()
    make_small(con)
    out = tmp_path_factory.mktemp("q3")
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network access in a report test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        mp.setattr(urllib.request.OpenerDirector, "open", refuse)
        mp.setattr(render, "AssetOnlyFetcher", RecordingFetcher)
        RecordingFetcher.instances.clear()
        paths = write_quarterly_report(con, "2026Q3", ORG, out, generated_at=GENERATED_AT)
    yield out, paths, RecordingFetcher.instances[:], attempts
    con.close()


def test_writes_pdf_html_and_csv_companions(written):
    out, paths, *_ = written
    assert [p.name for p in paths] == [
        "changetrail-2026Q3-quarterly-report.pdf", "changetrail-2026Q3-quarterly-report.html",
        "changetrail-2026Q3-population.csv", "changetrail-2026Q3-findings.csv",
        "changetrail-2026Q3-quarterly.xlsx"]
    assert paths[0].read_bytes().startswith(b"%PDF")
    assert 5 <= _pages(paths[0]) <= 15


def test_pdf_text_has_sections_footer_and_literal_source_text(written):
    _, paths, *_ = written
    text = _pdftotext(paths[0])
    flat = " ".join(text.split())
    for needle in ("2026 Q3 · 1 Jul – 30 Sep 2026", "1 Executive summary", "2 Trends and charts",
                   "3 Results by control", "5 Emergency changes (§5)",
                   "9 How the population was obtained", "Not operating effectively", "SOC2-CHG-001 v1.0",
                   f"Page 2 of {_pages(paths[0])}", "Acme <b>Corp</b>", "<script>alert(1)</script>"):
        assert needle in flat, needle
    assert "Page 1 of" not in flat  # the cover carries its fine print where the page number would go


def test_html_escapes_source_text(written):
    _, paths, *_ = written
    html = paths[1].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Acme &lt;b&gt;Corp&lt;/b&gt;" in html
    for raw in ("<script", "<img", "<link", "<b>Corp"):
        assert raw not in html, raw


def test_pdf_fetches_only_bundled_assets(written):
    _, _, fetchers, attempts = written
    assert len(fetchers) == 1
    fetcher = fetchers[0]
    assert fetcher.refused == [] and attempts == []
    served = {u.rsplit("/", 1)[1] for u in fetcher.served}
    assert served == {"SourceSans3-Regular.otf", "SourceSans3-Semibold.otf", "SourceSans3-It.otf",
                      "SourceCodePro-Regular.otf"}


def test_fetcher_refuses_anything_outside_the_assets(tmp_path, no_network):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG")
    evil = ["http://evil.example/x.png", "https://evil.example/s.css",
            f"file://{secret}", "data:image/png;base64,iVBORw0KGgo=",
            f"file://{ASSETS_DIR}/../base.html", "ftp://evil.example/f"]
    html = (f'<style>@import url("{evil[1]}");</style>'
            + "".join(f'<img src="{u}">' for u in evil) + f'<link rel="stylesheet" href="{evil[1]}">')
    fetcher = AssetOnlyFetcher()
    HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=fetcher).write_pdf(tmp_path / "x.pdf")
    for url in evil:
        assert any(r.startswith(url[:40]) for r in fetcher.refused), url
    assert fetcher.served == [] and no_network == []
    font = (ASSETS_DIR / "fonts" / "SourceCodePro-Regular.otf").as_uri()
    assert fetcher.fetch(font).read()[:4] == b"OTTO"


def test_templates_are_strict_about_missing_fields():
    with pytest.raises(jinja2.UndefinedError):
        render_string(TEMPLATE, object())


def test_empty_sections_say_none_in_this_period(small_con):
    context = build_context(small_con, "2026Q2", "Acme", generated_at=GENERATED_AT)
    html = render_string(TEMPLATE, context)
    # emergency changes, rollbacks, incidents, violations, exceptions
    assert html.count('<p class="empty">None in this period.</p>') == 5
    assert "No control failed and no emergency change is open: no risk stands out this quarter." in html
    assert "No change violated the policy in this period." in html
    assert "No landing manifests were loaded for this evaluation run." in html


def test_csv_companions(written):
    out, paths, *_ = written
    with paths[2].open(encoding="utf-8") as fh:
        population = list(csv.DictReader(fh))
    assert len(population) == 12
    row = next(r for r in population if r["change_id"] == "acme/auth@3003")
    assert row["failed_controls"] == "CM-01 | CM-05" and row["deployed_at"] == "2026-08-04T06:00:00Z"
    with paths[3].open(encoding="utf-8") as fh:
        findings = list(csv.DictReader(fh))
    assert {f["status"] for f in findings} == {"fail", "error"}
    assert len(findings) == 11                 # 9 change failures, 1 error, EV-03 on github/reviews
    assert _cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")" and _cell(["a", "b"]) == "a | b"


def test_warehouse_schema_has_every_column_the_report_reads():
    schema = pytest.importorskip("warehouse.schema")
    con = duckdb.connect()
    schema.create_schema(con)
    read = {
        "evaluation_runs": "run_id period started_at finished_at config_hash count_changes count_results",
        "control_catalog": "control_id title clause subject_type",
        "control_results": "run_id period control_id subject_type subject_id status reason evidence evaluated_at",
        "change_outcomes": "run_id period change_id repo service team deployed_at category ticket_number "
                           "is_emergency is_rollback outcome failed_controls reasons",
        "_manifests": "system unit run_id started_at finished_at files loaded_at",
        "quarantine": "_run_id system stream reason",
    }
    for table, columns in read.items():
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = ?", [table]).fetchall()}
        assert set(columns.split()) <= have, (table, set(columns.split()) - have)
    # reports read a run's results through the macro, whichever way the run was stored
    have = {r[0] for r in con.execute("describe select * from run_results('any-run')").fetchall()}
    assert set(read["control_results"].split()) <= have


def test_demo_scale_report_keeps_populations_in_attachments(demo_con, tmp_path):
    # Speed is the benchmark's business (issue 7), not a timed test's: here, the shape of the PDF.
    paths = write_quarterly_report(demo_con, "2026Q3", "Acme Corp", tmp_path, generated_at=GENERATED_AT)
    assert 10 <= _pages(paths[0]) <= 40
    context = build_context(demo_con, "2026Q3", "Acme Corp")
    assert context.summary.population == 3000 and context.population.tie_out_ok
    assert context.violations.shown == context.violations.total <= context.row_cap


def test_xlsx_sheets_equal_the_csv_rows(written):
    openpyxl = pytest.importorskip("openpyxl")
    out, paths, *_ = written
    book = openpyxl.load_workbook(paths[4], read_only=True)
    assert book.sheetnames == ["Population", "Findings", "Controls", "Trends"]
    for sheet, csv_path in (("Population", paths[2]), ("Findings", paths[3])):
        with csv_path.open(encoding="utf-8", newline="") as fh:
            expected = [[v or None for v in row] for row in csv.reader(fh)]
        width = len(expected[0])                   # read-only mode trims trailing empty cells
        got = [list(r) + [None] * (width - len(r)) for r in book[sheet].iter_rows(values_only=True)]
        assert got == expected and len(got) > 1, sheet
    trends = list(book["Trends"].iter_rows(values_only=True))
    assert trends[0][:4] == ("period", "run_id", "basis", "population")
    assert [r[:4] for r in trends[1:]] == [("2026Q2", "run-q2", "latest finished run", 2),
                                          ("2026Q3", "run-q3", "this report's run", 12)]
    controls = {r[0]: r for r in book["Controls"].iter_rows(min_row=2, values_only=True)}
    assert controls["CM-04"][6] == 2 and controls["CM-04"][4] == 10      # fails, population


def test_xlsx_takes_the_csv_formula_guard_off(tmp_path):
    from reports.quarterly.export import csv_rows
    path = tmp_path / "x.csv"
    path.write_text("a,b\n'=HYPERLINK(1),'-1 fix\nplain,\n", encoding="utf-8")
    header, rows = csv_rows(path)
    assert header == ["a", "b"] and list(rows) == [["=HYPERLINK(1)", "-1 fix"], ["plain", ""]]


def test_html_preview_has_the_charts_inline_and_fetches_nothing(written):
    _, paths, *_ = written
    html = paths[1].read_text(encoding="utf-8")
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"') == 5
    for needle in ("2 Trends and charts", "Not operating effectively", "Compared with 2026 Q2",
                   "Outcomes per month", "<style>", "Not evaluated in this warehouse"):
        assert needle in html, needle
    assert not re.search(r"""<[^>]+\s(src|href)\s*=|<link\b|<script\b|url\(\s*["']?(https?:|//)""", html)


def test_html_format_alone_writes_only_the_preview(small_con, tmp_path):
    paths = write_quarterly_report(small_con, "2026Q3", "Acme", tmp_path, formats=("html",),
                                   generated_at=GENERATED_AT)
    assert [p.name for p in paths] == ["changetrail-2026Q3-quarterly-report.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changetrail-2026Q3-quarterly-report.html"]
