"""Render a report context with Jinja2 to HTML, and with WeasyPrint to PDF.

Text from source systems (PR titles, ticket descriptions, reasons quoting them) is data:
- Jinja autoescapes everything and `StrictUndefined` turns a missing field into an error;
- WeasyPrint gets a URL fetcher that serves only files under templates/assets/ (stylesheet,
  bundled fonts) and refuses every other URL — http(s), file paths elsewhere, data: URIs — so
  markup smuggled into a report can neither render nor make the renderer fetch anything.
"""
from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from reports.atomic import atomic_path
from reports.document import fmt_int

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
ASSETS_DIR = TEMPLATES_DIR / "assets"
log = logging.getLogger(__name__)
_FONT_TYPES = {".otf": "font/otf", ".ttf": "font/ttf", ".woff": "font/woff", ".woff2": "font/woff2"}


class RefusedURL(ValueError):
    """A document asked for a resource outside the report's own assets."""


class AssetOnlyFetcher(URLFetcher):
    """Serves `file:` URLs under `assets_dir`; refuses everything else and remembers it."""

    def __init__(self, assets_dir: Path = ASSETS_DIR) -> None:
        super().__init__(fail_on_errors=False)
        self.assets_dir = Path(assets_dir).resolve()
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            path = Path(unquote(parts.path)).resolve()
            if path.is_file() and path.is_relative_to(self.assets_dir):
                self.served.append(url)
                mime = _FONT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
                return URLFetcherResponse(url, path.read_bytes(),
                                          {"Content-Type": mime or "application/octet-stream"})
        self.refused.append(url)
        log.warning("report renderer refused to fetch %s", url[:200])
        raise RefusedURL(f"refused: only the report's own template assets are served ({url[:80]})")


def environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=True,                 # every template, whatever its extension
        undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_int          # thousands separators; the only formatting filter
    return env


def render_string(template_name: str, context, *, templates_dir: Path = TEMPLATES_DIR) -> str:
    """The HTML of a report. `context` is the report's typed context, seen as `report`."""
    template = environment(templates_dir).get_template(template_name)
    return template.render(report=context)


def render_html(template_name: str, context, out_path: Path, *,
                templates_dir: Path = TEMPLATES_DIR) -> Path:
    """A self-contained HTML preview (stylesheet inlined; fonts fall back to the browser's)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    html = render_string(template_name, context, templates_dir=templates_dir)
    with atomic_path(out_path, fault="report.mid_html") as tmp:     # a reader never sees half a report
        tmp.write_text(html, encoding="utf-8")
    return out_path


def render_pdf(template_name: str, context, out_path: Path, *,
               templates_dir: Path = TEMPLATES_DIR,
               fetcher: AssetOnlyFetcher | None = None, pdf_options: dict | None = None) -> Path:
    """The PDF of a report, laid out by WeasyPrint with only the bundled assets reachable.

    `pdf_options` go to WeasyPrint's write_pdf as they are, e.g. the evidence pack's
    `{"pdf_variant": "pdf/a-3b", "attachments": [weasyprint.Attachment(...)]}`."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    html = render_string(template_name, context, templates_dir=templates_dir)
    fetcher = fetcher or AssetOnlyFetcher(assets_dir=templates_dir / "assets")
    font_config = FontConfiguration()
    document = HTML(string=html, base_url=str(templates_dir) + "/", url_fetcher=fetcher)
    # atomic: a killed run leaves the previous PDF or none, never half
    with atomic_path(out_path, fault="report.mid_pdf") as tmp:
        document.write_pdf(tmp, font_config=font_config, **(pdf_options or {}))
    return out_path
