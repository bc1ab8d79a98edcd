"""GitLabFolderTransport: a folder served as GitLab REST v4 (the demo and tests).

Layout under the root (the project's path with namespace as folders, i.e. the URL-encoded id
decoded):

    gitlab/groups/<group>/projects.json                      [ projects ]
    gitlab/projects/<ns>/<name>.json                         { project }
    gitlab/projects/<ns>/<name>/deployments.json             [ deployments ]
    gitlab/projects/<ns>/<name>/merge_requests.json          [ merge requests ]
    gitlab/projects/<ns>/<name>/merge_requests/<iid>/{approvals,notes,commits}.json
    gitlab/projects/<ns>/<name>/repository/commits/<sha>/merge_requests.json
    gitlab/projects/<ns>/<name>/repository/compare/<from>...<to>.json   (GET .../compare?from=&to=)
    gitlab/projects/<ns>/<name>/pipelines.json               [ pipelines ]  (?sha= filters)
    gitlab/projects/<ns>/<name>/pipelines/<id>/jobs.json     [ jobs ]

Lists are paged like GitLab: `page`/`per_page` (default 20, max 100) with `X-Page`,
`X-Per-Page`, `X-Next-Page` (empty on the last page), `X-Prev-Page`, `X-Total`, `X-Total-Pages`
and a `Link` header; `pagination=keyset` answers with a `Link` rel=next only (`id_after`).
`order_by`/`sort` order a list on that field; `sha`/`environment`/`status` filter it. A missing
file is a 404; `faults` script responses per path, as in the core FolderTransport.
"""
from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any, Mapping, Sequence

import httpx

from extractors.core import Fault

_JSON = {"Content-Type": "application/json"}
_FILTERS = ("sha", "environment", "status")


class GitLabFolderTransport(httpx.BaseTransport):
    def __init__(self, root: Path | str, *, faults: Mapping[str, Sequence[Fault | httpx.Response]] | None = None,
                 trailing_empty_page: bool = False) -> None:
        self.root = Path(root)
        self._prefix = self.root.as_posix().rstrip("/") + "/"
        self._faults = {k.strip("/"): deque(v) for k, v in (faults or {}).items()}
        self.trailing_empty_page = trailing_empty_page
        self._cache: dict[Path, Any] = {}
        self.request_count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.request_count += 1
        path = request.url.path          # decoded: %2F in a project id becomes a folder separator
        if path.startswith(self._prefix):
            path = path[len(self._prefix):]
        rel = path.strip("/")
        if not rel or any(part in ("", ".", "..") for part in rel.split("/")):
            return _response(404, {"message": "404 Not Found"}, request)
        params = request.url.params
        if rel.endswith("/repository/compare"):
            rel = f"{rel}/{params.get('from', '')}...{params.get('to', '')}"
        queue = self._faults.get(rel)
        if queue:
            scripted = queue.popleft()
            return scripted if isinstance(scripted, httpx.Response) else scripted.response(request)
        file = self.root / (rel + ".json")
        if file not in self._cache:
            try:
                raw = file.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return _response(404, {"message": "404 Not Found"}, request)
            try:
                self._cache[file] = json.loads(raw)
            except ValueError:
                return httpx.Response(200, headers=_JSON, content=raw, request=request)
        data = self._cache[file]
        if not isinstance(data, list):
            return _response(200, data, request)
        return self._page(request, _ordered(data, params), params)

    def _page(self, request: httpx.Request, items: list[Any], params: httpx.QueryParams) -> httpx.Response:
        per_page = min(100, max(1, _int(params.get("per_page"), 20)))
        if params.get("pagination") == "keyset":
            after = params.get("id_after")
            if after is not None:
                items = [i for i in items if isinstance(i, dict) and _int(str(i.get("id")), 0) > _int(after, 0)]
            chunk = items[:per_page]
            headers = {}
            if len(items) > per_page:
                url = request.url.copy_set_param("id_after", chunk[-1].get("id"))
                headers["Link"] = f'<{url}>; rel="next"'
            return _response(200, chunk, request, headers)
        page = max(1, _int(params.get("page"), 1))
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        has_next = page < pages or bool(self.trailing_empty_page and page == pages and items)
        links = [(page + 1, "next")] if has_next else []
        if page > 1:
            links.append((page - 1, "prev"))
        links += [(1, "first"), (pages, "last")]
        headers = {
            "X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items)),
            "X-Total-Pages": str(pages), "X-Next-Page": str(page + 1) if has_next else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "Link": ", ".join(f'<{request.url.copy_set_param("page", n)}>; rel="{rel}"' for n, rel in links),
        }
        return _response(200, chunk, request, headers)


def _ordered(items: list[Any], params: httpx.QueryParams) -> list[Any]:
    for name in _FILTERS:
        wanted = params.get(name)
        if wanted is not None:
            items = [i for i in items if isinstance(i, dict) and _field(i, name) == wanted]
    order_by = params.get("order_by")
    if order_by:
        items = sorted(items, key=lambda i: _sort_key(i, order_by), reverse=params.get("sort", "desc") == "desc")
    return items


def _field(item: dict, name: str) -> Any:
    value = item.get(name)
    if name == "environment" and isinstance(value, dict):
        return value.get("name")
    return value


def _sort_key(item: Any, field: str) -> tuple[int, Any]:
    value = item.get(field) if isinstance(item, dict) else None
    return (0, value) if isinstance(value, (int, float)) else (1, str(value or ""))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _response(status: int, body: Any, request: httpx.Request, headers: Mapping[str, str] | None = None) -> httpx.Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return httpx.Response(status, headers={**_JSON, **(headers or {})}, content=content, request=request)
