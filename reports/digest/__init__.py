"""The engineering-lead digest: `changetrail report digest --period 2026Q3`, one PDF and HTML per
team plus an index; the Prefect flow `weekly-digest` (flows/digest_run.py) renders it weekly.

    paths = write_digests(con, "2026Q3", "Acme Corp", Path("out/2026Q3"), team="payments")

Files go to `<out_dir>/digest/`. build.py decides the items, who can fix each, and the trend.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb

from reports.digest.build import build_digests, file_stem, slug
from reports.render import render_html, render_pdf

TEAM_TEMPLATE = "digest/team.html"
INDEX_TEMPLATE = "digest/index.html"
SUBDIR = "digest"

__all__ = ["build_digests", "write_digests", "render_report", "file_stem", "slug"]


def write_digests(con: duckdb.DuckDBPyConnection, period: str, organization: str, out_dir: Path,
                  run_id: str | None = None, formats: Sequence[str] = ("pdf", "html"), *,
                  team: str | None = None, as_of: date | None = None, **options) -> list[Path]:
    """Every team's digest (or one team's) and the index; returns the written paths."""
    index, digests = build_digests(con, period, organization, run_id, team=team, as_of=as_of, **options)
    out = Path(out_dir) / SUBDIR
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for digest in digests:
        if "pdf" in formats:
            paths.append(render_pdf(TEAM_TEMPLATE, digest, out / digest.pdf_name))
        if "html" in formats:
            paths.append(render_html(TEAM_TEMPLATE, digest, out / digest.html_name))
    stem = file_stem(index.period.key, "index")
    if "pdf" in formats:
        paths.append(render_pdf(INDEX_TEMPLATE, index, out / f"{stem}.pdf"))
    if "html" in formats:
        paths.append(render_html(INDEX_TEMPLATE, index, out / f"{stem}.html"))
    return paths


def render_report(request) -> list[Path]:
    """Registry entry (reports/registry.py). `request.options`: `team` (one team only), `as_of` (date)."""
    return write_digests(request.con, request.period, request.config.reports.organization,
                         request.out_dir, run_id=request.run_id, formats=request.formats,
                         team=request.options.get("team"), as_of=request.options.get("as_of"))
