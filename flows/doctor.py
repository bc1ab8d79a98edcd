"""`changetrail doctor`: can each configured source be read, and what does it show us?

For each source: is its credential variable set (the value is never printed or returned), can
one cheap request reach its base URL, and what came back (counts, the token's scopes). Folder
sources: does the path exist and how many files would be read. Plain functions returning
`SourceCheck`s; the CLI renders them. No writes, no Prefect.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import httpx

from extractors.core import ApiClient, ExtractionError, folder_root
from flows.config import Config

Transports = Mapping[str, httpx.BaseTransport]


@dataclass(frozen=True)
class SourceCheck:
    source: str
    ok: bool
    credential: str     # e.g. "GITHUB_TOKEN set", "GITHUB_TOKEN NOT SET", "not needed (local folder)"
    reached: str        # the request made and its status, or the folder
    seen: str           # what the source showed: counts, scopes, or why it failed


def credential_state(variables: tuple[str, ...], local: bool) -> tuple[bool, str]:
    """(usable, description) - only whether each variable is set, never its value."""
    if local:
        return True, "not needed (local folder)"
    missing = [v for v in variables if not os.environ.get(v)]
    if missing:
        return False, ", ".join(f"{v} NOT SET" for v in missing)
    return True, ", ".join(f"{v} set" for v in variables)


def _http_check(
    name: str, base_url: str, variables: tuple[str, ...], make_client: Callable[[], ApiClient],
    path: str, params: dict[str, Any], describe: Callable[[httpx.Response], str],
) -> SourceCheck:
    local = folder_root(base_url) is not None
    usable, credential = credential_state(variables, local)
    if not usable:
        return SourceCheck(name, False, credential, f"not tried ({base_url})",
                           "set the credential variable(s) first")
    client = make_client()
    client.max_retries = 1
    target = f"GET {path}"
    try:
        response = client.get(path, params=params)
    except ExtractionError as exc:
        status = f" -> {exc.status}" if getattr(exc, "status", None) else ""
        return SourceCheck(name, False, credential, f"{target}{status}", str(exc))
    finally:
        client.close()
    try:
        seen = describe(response)
    except ValueError as exc:
        return SourceCheck(name, False, credential, f"{target} -> {response.status_code}",
                           f"unexpected response: {exc}")
    return SourceCheck(name, True, credential, f"{target} -> {response.status_code}", seen)


def _github(config: Config, transport: httpx.BaseTransport | None) -> SourceCheck:
    from extractors.github.extract import github_client

    src = config.sources.github

    def describe(response: httpx.Response) -> str:
        body = response.json()
        if not isinstance(body, list):
            raise ValueError("the repository list is not a JSON array")
        parts = [f"org {src.org}: {_github_total(response, len(body))} repositories visible"]
        scopes = response.headers.get("X-OAuth-Scopes")
        if scopes is not None:
            parts.append(f"token scopes: {scopes or '(none: fine-grained or app token)'}")
        remaining = response.headers.get("X-RateLimit-Remaining")
        if remaining is not None:
            parts.append(f"rate limit remaining {remaining}/{response.headers.get('X-RateLimit-Limit', '?')}")
        if src.repos:
            parts.append(f"{len(src.repos)} repositories configured")
        return "; ".join(parts)

    return _http_check("github", src.base_url, (src.token_env,),
                       lambda: github_client(src, transport=transport),
                       f"/orgs/{src.org}/repos", {"per_page": 1}, describe)


def _github_total(response: httpx.Response, listed: int) -> str:
    """With per_page=1 the `last` link's page number is the number of repositories."""
    last = response.links.get("last", {}).get("url")
    if last:
        page = httpx.URL(last).params.get("page")
        if page and page.isdigit():
            return page
    return str(listed)


def _servicenow(config: Config, transport: httpx.BaseTransport | None) -> SourceCheck:
    from extractors.servicenow.extract import servicenow_client

    src = config.sources.servicenow

    def describe(response: httpx.Response) -> str:
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("result"), list):
            raise ValueError("no 'result' array")
        total = response.headers.get("X-Total-Count", str(len(body["result"])))
        return f"change_request: {total} records readable"

    return _http_check("servicenow", src.base_url, (src.user_env, src.password_env),
                       lambda: servicenow_client(src, transport=transport),
                       "/api/now/table/change_request", {"sysparm_limit": 1}, describe)


def _pagerduty(config: Config, transport: httpx.BaseTransport | None) -> SourceCheck:
    from extractors.pagerduty.extract import pagerduty_client

    src = config.sources.pagerduty

    def describe(response: httpx.Response) -> str:
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("incidents"), list):
            raise ValueError("no 'incidents' array")
        total = body.get("total")
        return f"incidents: {total if total is not None else len(body['incidents'])} (the API's default 30-day window)"

    return _http_check("pagerduty", src.base_url, (src.token_env,),
                       lambda: pagerduty_client(src, transport=transport),
                       "/incidents", {"limit": 1, "total": "true"}, describe)


def _folder(name: str, path: Path, count: Callable[[Path], int], what: str) -> SourceCheck:
    path = Path(path)
    if not path.exists():
        return SourceCheck(name, False, "not needed (local files)", str(path), "path does not exist")
    n = count(path)
    return SourceCheck(name, n > 0, "not needed (local files)", str(path),
                       f"{n} {what}" if n else f"no {what} found")


def _count_files(lister: Callable[[Path], Any]) -> Callable[[Path], int]:
    return lambda path: sum(1 for _ in lister(path)) if path.is_dir() else 0


def _folder_check(name: str, config: Config) -> SourceCheck:
    src = getattr(config.sources, name)
    if name == "people":
        return _folder(name, src.path, lambda p: max(0, len(p.read_text(encoding="utf-8-sig").splitlines()) - 1)
                       if p.is_file() else 0, "people rows")
    if name == "sarif":
        from extractors.sarif import iter_sarif_files
        return _folder(name, src.path, _count_files(iter_sarif_files), "SARIF/JSON files")
    if name == "k8s_audit":
        from extractors.k8s_audit import iter_audit_files
        return _folder(name, src.path, _count_files(iter_audit_files), "audit log files")
    if name == "cloudtrail":
        from extractors.cloudtrail import iter_trail_files
        return _folder(name, src.path, _count_files(iter_trail_files), "CloudTrail log files")
    return _folder(name, src.path, lambda p: sum(1 for f in p.rglob("*") if f.is_file()) if p.is_dir()
                   else int(p.is_file()), "files")


HTTP_CHECKS = {"github": _github, "servicenow": _servicenow, "pagerduty": _pagerduty}


def check_sources(config: Config, transports: Transports | None = None) -> list[SourceCheck]:
    """One check per configured source, in the pipeline's source order."""
    from flows.pipeline import configured_sources

    transports = transports or {}
    names = configured_sources(config)
    names += [n for n, s in config.sources if s is not None and n not in names]
    checks = []
    for name in names:
        src = getattr(config.sources, name)
        if name in HTTP_CHECKS:
            checks.append(HTTP_CHECKS[name](config, transports.get(name)))
        elif getattr(src, "path", None) is not None:
            checks.append(_folder_check(name, config))
        else:
            base = getattr(src, "base_url", "?")
            checks.append(SourceCheck(name, True, "not checked", base, "no probe defined for this source yet"))
    return checks


def render(checks: list[SourceCheck], console) -> None:
    """A rich table: source, OK/FAIL, credential, request, what it saw."""
    from rich.table import Table

    table = Table(title="changetrail doctor", title_justify="left")
    for column in ("source", "status", "credential", "reached", "seen"):
        table.add_column(column, overflow="fold")
    for c in checks:
        table.add_row(c.source, "[green]OK[/]" if c.ok else "[red]FAIL[/]", c.credential, c.reached, c.seen)
    console.print(table)
    if not checks:
        console.print("No sources configured: add a [sources.*] table to changetrail.toml.")
