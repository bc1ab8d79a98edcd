"""Every report changetrail renders, by name: `changetrail report <name> --period 2026Q3`.

A report is a function `render(request) -> list[Path]` that builds its typed context from the
warehouse and writes its files into `request.out_dir`. Add one line to `REPORTS` for a new report;
the CLI, the pipeline's report step (and so `make demo`) pick it up from here.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import duckdb

    from flows.config import Config

FORMATS = ("pdf", "html")


@dataclass
class ReportRequest:
    con: "duckdb.DuckDBPyConnection"
    config: "Config"
    period: str                      # "2026Q3"
    out_dir: Path                    # <reports.out>/<period>
    run_id: str | None = None        # None: the period's sealed run, else its latest finished run
    formats: tuple[str, ...] = FORMATS  # "pdf" (with its CSV/XLSX companions) and/or "html"
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    audience: str
    target: str                      # "package.module:function", imported when used

    def render(self, request: ReportRequest) -> list[Path]:
        module, _, func = self.target.partition(":")
        fn: Callable[[ReportRequest], list[Path]] = getattr(importlib.import_module(module), func)
        return fn(request)


REPORTS: dict[str, ReportSpec] = {spec.name: spec for spec in [
    ReportSpec("quarterly", "Quarterly change-management report", "compliance team",
               "reports.quarterly:render_report"),
    ReportSpec("evidence-pack", "Auditor evidence pack", "auditor", "reports.evidence_pack.pack:render_report"),
    ReportSpec("emergency", "Emergency changes (§5)", "CISO", "reports.emergency:render_report"),
    ReportSpec("digest", "Engineering-lead digest per team", "engineering leads", "reports.digest:render_report"),
]}


def get(name: str) -> ReportSpec:
    try:
        return REPORTS[name]
    except KeyError:
        raise LookupError(f"no report named {name!r}; reports: {', '.join(REPORTS)}") from None
