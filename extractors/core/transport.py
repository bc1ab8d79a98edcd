"""FolderTransport: serve a folder of full response bodies as if it were the live API.

The demo and the tests run the real client, paginators and engine against it; only the socket is
replaced. `<root>/<path>.json` holds the *whole* collection for a resource path, and the
transport pages it the way each API does:

* github      `page`/`per_page` (default 30, max 100), `Link` rel next/prev/first/last; a
              wrapped list (`{"total_count", "check_runs": [...]}`) pages its list; a compare
              object pages its `commits` when `page`/`per_page` is given (else the first 250,
              as GitHub does); `sort=created|updated` + `direction` order pull requests.
* servicenow  `{"result": [...]}` paged by `sysparm_offset`/`sysparm_limit`, `Link`
              (first/prev/next/last) and `X-Total-Count`; `sysparm_query` supports `ORDERBY`,
              `ORDERBYDESC` and `field(=|>=|>|<=|<)value` terms joined by `^`.
* pagerduty   `{"incidents": [...]}` / `{"log_entries": [...]}` paged by `offset`/`limit`
              (default 25, max 100) with `limit`, `offset`, `more`, `total` (`total` only with
              `total=true`, like PagerDuty); `since`/`until` filter on `created_at`.

`POST /graphql` (style github) is answered from the same REST files for the PullRequests and
CommitChecks queries of extractors/github/graphql_queries.py (shapes: extractors/github/folder_graphql.py).

Every 200 carries an `ETag` (a hash of the body served, i.e. of that page) and a request whose
`If-None-Match` names it gets a bodiless 304, as GitHub answers conditional requests.

A missing file is a 404 - except a GitHub item `<collection>/<n>` (e.g. one pull request), served
from its collection's file when an element has that `number` (or `id`). `faults` scripts responses per path (consumed in order before the file
is served) to exercise retries; `trailing_empty_page` makes the last page still advertise a next
page that turns out empty, as some APIs do.

Speed matters (the demo makes ~30,000 requests): parsed files and derived orderings are kept in
an LRU cache, and a resource that fits in one page is served from its raw bytes without
re-serialising.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import httpx

from extractors.core.safe_paths import escapes

STYLES = ("github", "servicenow", "pagerduty")
_JSON = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class Fault:
    """One scripted response, e.g. Fault(429, {"Retry-After": "7"}) or Fault(502)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str = b""

    def response(self, request: httpx.Request) -> httpx.Response:
        body = self.body.encode() if isinstance(self.body, str) else self.body
        return httpx.Response(self.status, headers=dict(self.headers), content=body, request=request)


@dataclass
class _Entry:
    raw: bytes
    data: Any
    derived: dict[tuple, Any] = field(default_factory=dict)


class FolderTransport(httpx.BaseTransport):
    """An httpx transport answering GETs from `<root>/<path>.json` in the style of one API."""

    def __init__(
        self,
        root: Path | str,
        style: str,
        *,
        faults: Mapping[str, Sequence[Fault | httpx.Response]] | None = None,
        trailing_empty_page: bool = False,
        cache_size: int = 256,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"FolderTransport style must be one of {STYLES}, not {style!r}")
        self.root = Path(root)
        self._root_prefix = self.root.as_posix().rstrip("/") + "/"
        self.style = style
        self.trailing_empty_page = trailing_empty_page
        self._faults = {k.strip("/"): deque(v) for k, v in (faults or {}).items()}
        self._cache: OrderedDict[Path, _Entry] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.request_count = 0

    # -- httpx entry point -------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.request_count += 1
        if REQUEST_LOG_VARIABLE in os.environ:   # the benchmark counts requests across worker processes
            log_request(self.style, request)
        graphql = request.method == "POST" and self.style == "github"
        if request.method != "GET" and not graphql:
            return _json_response(405, {"message": f"FolderTransport serves GET only, not {request.method}"}, request)
        rel = self._relative_path(request.url.path)
        if rel is None or (graphql and rel != "graphql"):
            return _json_response(404, {"message": "Not Found"}, request)
        queue = self._faults.get(rel)
        if queue:
            scripted = queue.popleft()
            if isinstance(scripted, httpx.Response):
                return scripted
            return scripted.response(request)
        if graphql:
            return self._graphql(request)
        target = self.root / (rel + ".json")
        if target.is_symlink() or any(p.is_symlink() for p in target.parents if self.root in p.parents):
            problem = escapes(self.root, target)
            if problem:
                return _json_response(403, {"message": f"/{rel}: {problem}"}, request)
        entry = self._load(target)
        if entry is None and self.style == "github":
            item = self._github_item(rel)
            if item is not None:
                return _conditional(request, _json_response(200, item, request))
        if entry is None:
            return _json_response(404, {"message": "Not Found", "path": "/" + rel}, request)
        params = request.url.params
        if self.style == "github":
            response = self._github(request, entry, params)
        elif self.style == "servicenow":
            response = self._servicenow(request, entry, params)
        else:
            response = self._pagerduty(request, entry, params)
        return _conditional(request, response)

    def _relative_path(self, path: str) -> str | None:
        if path.startswith(self._root_prefix):
            path = path[len(self._root_prefix):]
        rel = path.strip("/")
        if not rel or any(part in ("", ".", "..") for part in rel.split("/")):
            return None
        return rel

    def _load(self, path: Path) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(path)
            if entry is not None:
                self._cache.move_to_end(path)
                return entry
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None          # served verbatim: the client must cope with a broken page
        entry = _Entry(raw, data)
        with self._lock:
            self._cache[path] = entry
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return entry

    # -- GitHub --------------------------------------------------------------------------------

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        """POST /graphql assembled from the REST files (query shapes: extractors/github/folder_graphql.py)."""
        from extractors.github.folder_graphql import answer   # only GitHub folders need it

        def load(rel: str) -> Any:
            entry = self._load_rel(rel)
            return entry.data if entry is not None else None

        def sort_updated(rel: str) -> list | None:
            entry = self._load_rel(rel)
            if entry is None or not isinstance(entry.data, list):
                return None
            return self._github_sorted(entry, httpx.QueryParams({"sort": "updated", "direction": "desc"}))

        status, body = answer(request, load, sort_updated)
        return _json_response(status, body, request)

    def _github_item(self, rel: str) -> Any:
        """`.../pulls/7` without its own file: the item numbered 7 of the `.../pulls` collection."""
        parent, _, key = rel.rpartition("/")
        if not key.isdigit() or not parent:
            return None
        entry = self._load_rel(parent)
        if entry is None or not isinstance(entry.data, list):
            return None
        return next((r for r in entry.data if isinstance(r, dict) and str(r.get("number", r.get("id"))) == key), None)

    def _load_rel(self, rel: str) -> _Entry | None:
        if self._relative_path(rel) is None:
            return None
        target = self.root / (rel + ".json")
        if escapes(self.root, target):
            return None
        return self._load(target)

    def _github(self, request: httpx.Request, entry: _Entry, params: httpx.QueryParams) -> httpx.Response:
        data = entry.data
        if isinstance(data, list):
            items, wrap = self._github_sorted(entry, params), None
        elif _is_compare(data):
            if "page" not in params and "per_page" not in params:     # unpaged: GitHub's 250-commit cap
                if len(data["commits"]) <= 250:
                    return _raw_response(entry.raw, request)
                return _json_response(200, {**data, "commits": data["commits"][:250]}, request)
            items, wrap = data["commits"], "commits"
        elif isinstance(data, dict) and (key := _single_list_key(data, exclude=("commits",))) is not None:
            items, wrap = data[key], key                               # {"total_count", "check_runs": [...]}
        else:
            return _raw_response(entry.raw, request)
        per_page = _clamp(params.get("per_page"), default=30, maximum=100)
        page = max(1, _int(params.get("page"), 1))
        last = max(1, -(-len(items) // per_page))
        has_next = page < last or bool(self.trailing_empty_page and page == last and items)
        if page == 1 and not has_next:
            # everything fits in one page: the stored bytes are the answer unless re-ordered
            if items is data or (wrap is not None and items is data[wrap]):
                return _raw_response(entry.raw, request)
            return _json_response(200, items if wrap is None else {**data, wrap: items}, request)
        chunk = items[(page - 1) * per_page: page * per_page]
        links = [(page + 1, "next")] if has_next else []
        if page < last:
            links.append((last, "last"))
        if page > 1:
            links += [(1, "first"), (page - 1, "prev")]
        header = ", ".join(f'<{request.url.copy_set_param("page", n)}>; rel="{rel}"' for n, rel in links)
        body = chunk if wrap is None else {**data, wrap: chunk}
        return _json_response(200, body, request, {"Link": header})

    def _github_sorted(self, entry: _Entry, params: httpx.QueryParams) -> list[Any]:
        sort = params.get("sort")
        if sort not in ("created", "updated"):
            return entry.data
        direction = params.get("direction", "desc")
        key = ("sort", sort, direction)
        if key not in entry.derived:
            field_name = f"{sort}_at"
            entry.derived[key] = sorted(
                entry.data, key=lambda r: (r.get(field_name) or "") if isinstance(r, dict) else "",
                reverse=direction != "asc",
            )
        return entry.derived[key]

    # -- ServiceNow ----------------------------------------------------------------------------

    def _servicenow(self, request: httpx.Request, entry: _Entry, params: httpx.QueryParams) -> httpx.Response:
        data = entry.data
        if not (isinstance(data, dict) and isinstance(data.get("result"), list)):
            return _raw_response(entry.raw, request)
        query = params.get("sysparm_query", "")
        try:
            items = self._servicenow_query(entry, query)
        except ValueError as exc:
            return _json_response(400, {"error": {"message": str(exc)}, "status": "failure"}, request)
        total = len(items)
        limit = _clamp(params.get("sysparm_limit"), default=10_000, maximum=10_000)
        offset = max(0, _int(params.get("sysparm_offset"), 0))
        chunk = items[offset: offset + limit]
        links = [(0, "first")]
        if offset > 0:
            links.append((max(0, offset - limit), "prev"))
        if offset + limit < total or (self.trailing_empty_page and chunk and offset + limit >= total):
            links.append((offset + limit, "next"))
        links.append((max(0, ((total - 1) // limit) * limit) if total else 0, "last"))
        url = request.url.copy_set_param("sysparm_limit", limit)
        header = ",".join(f'<{url.copy_set_param("sysparm_offset", n)}>;rel="{rel}"' for n, rel in links)
        return _json_response(200, {"result": chunk}, request, {"Link": header, "X-Total-Count": str(total)})

    def _servicenow_query(self, entry: _Entry, query: str) -> list[Any]:
        key = ("sysparm_query", query)
        if key in entry.derived:
            return entry.derived[key]
        items = list(entry.data["result"])
        orders: list[tuple[str, bool]] = []
        for term in filter(None, query.split("^")):
            if term.startswith("ORDERBYDESC"):
                orders.append((term[len("ORDERBYDESC"):], True))
            elif term.startswith("ORDERBY"):
                orders.append((term[len("ORDERBY"):], False))
            else:
                items = [r for r in items if _sn_match(r, term)]
        for name, descending in reversed(orders):
            items.sort(key=lambda r: _sn_value(r, name), reverse=descending)
        entry.derived[key] = items
        return items

    # -- PagerDuty -----------------------------------------------------------------------------

    def _pagerduty(self, request: httpx.Request, entry: _Entry, params: httpx.QueryParams) -> httpx.Response:
        data = entry.data
        key = _single_list_key(data) if isinstance(data, dict) else None
        if key is None:
            return _raw_response(entry.raw, request)
        items = data[key]
        since, until = params.get("since"), params.get("until")
        if since or until:
            cache_key = ("window", since, until)
            if cache_key not in entry.derived:
                entry.derived[cache_key] = [
                    r for r in items
                    if (not since or _pd_time(r) >= since[:19]) and (not until or _pd_time(r) < until[:19])
                ]
            items = entry.derived[cache_key]
        limit = _clamp(params.get("limit"), default=25, maximum=100)
        offset = max(0, _int(params.get("offset"), 0))
        chunk = items[offset: offset + limit]
        more = offset + limit < len(items) or bool(self.trailing_empty_page and chunk and offset + limit >= len(items))
        total = len(items) if params.get("total") == "true" else None
        return _json_response(200, {key: chunk, "limit": limit, "offset": offset, "more": more, "total": total}, request)


# -- helpers ---------------------------------------------------------------------------------------

REQUEST_LOG_VARIABLE = "CHANGETRAIL_REQUEST_LOG"


def log_request(style: str, request: httpx.Request) -> None:
    """Append `<style> <conditional 0|1> <path>` to the file named by $CHANGETRAIL_REQUEST_LOG (one
    short O_APPEND write per request, so processes of a pool can share the file)."""
    conditional = int("if-none-match" in request.headers)
    path = request.url.raw_path.decode()
    if request.method != "GET":          # POST /graphql: which query it was (same body = same request)
        path += f"#{request.method}:{hashlib.blake2b(request.content, digest_size=8).hexdigest()}"
    line = f"{style} {conditional} {path}\n".encode()
    fd = os.open(os.environ[REQUEST_LOG_VARIABLE], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _json_response(status: int, body: Any, request: httpx.Request, headers: Mapping[str, str] | None = None) -> httpx.Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return httpx.Response(status, headers={**_JSON, **(headers or {})}, content=content, request=request)


def _conditional(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    """Add an ETag to a 200; answer 304 (no body, same ETag and Link) when If-None-Match has it."""
    if response.status_code != 200:
        return response
    etag = '"' + hashlib.blake2b(response.content, digest_size=16).hexdigest() + '"'
    wanted = request.headers.get("If-None-Match")
    if wanted and etag in {tag.strip().removeprefix("W/") for tag in wanted.split(",")}:
        headers = {"ETag": etag, **({"Link": response.headers["Link"]} if "Link" in response.headers else {})}
        return httpx.Response(304, headers=headers, request=request)
    response.headers["ETag"] = etag
    return response


def _raw_response(raw: bytes, request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers=_JSON, content=raw, request=request)


def _is_compare(data: Any) -> bool:
    """A compare object: a `commits` list next to the comparison's status or base commit."""
    return isinstance(data, dict) and isinstance(data.get("commits"), list) and (
        "status" in data or "base_commit" in data or "merge_base_commit" in data
    )


def _single_list_key(data: Mapping[str, Any], exclude: tuple[str, ...] = ()) -> str | None:
    keys = [k for k, v in data.items() if isinstance(v, list) and k not in exclude]
    return keys[0] if len(keys) == 1 else None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _clamp(value: str | None, *, default: int, maximum: int) -> int:
    return min(maximum, max(1, _int(value, default)))


def _sn_value(record: Any, name: str) -> str:
    value = record.get(name) if isinstance(record, dict) else None
    if isinstance(value, dict):          # reference {"link","value"} or display_value=all
        value = value.get("value")
    return "" if value is None else str(value)


def _sn_match(record: Any, term: str) -> bool:
    for op in (">=", "<=", "!=", ">", "<", "="):
        if op in term:
            name, expected = term.split(op, 1)
            actual = _sn_value(record, name)
            return {
                ">=": actual >= expected, "<=": actual <= expected, "!=": actual != expected,
                ">": actual > expected, "<": actual < expected, "=": actual == expected,
            }[op]
    raise ValueError(f"FolderTransport: unsupported sysparm_query term {term!r}")


def _pd_time(record: Any) -> str:
    value = record.get("created_at") if isinstance(record, dict) else None
    return (value or "")[:19]
