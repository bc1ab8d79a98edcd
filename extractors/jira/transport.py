"""A folder served as a Jira REST API (the demo and tests): issue search paged like Jira.

`<root>/rest/api/3/search/jql.json` (Cloud) and `<root>/rest/api/2/search.json` (Data Center)
hold `{"issues": [...every issue...]}`; the `jql` parameter is not interpreted. Cloud pages carry
an opaque `nextPageToken` and `isLast`; Data Center pages `startAt`/`maxResults`/`total`.
Mounted by `jira_client` for `file://` base URLs. Other paths are served verbatim; a missing file
is a 404. `faults` scripts responses per path, consumed before the file is served.
"""
from __future__ import annotations

import base64
import json
from collections import deque
from pathlib import Path
from typing import Any, Mapping, Sequence

import httpx

from extractors.core import Fault, folder_root

CLOUD_SEARCH = "rest/api/3/search/jql"
DC_SEARCH = "rest/api/2/search"
_JSON = {"Content-Type": "application/json;charset=UTF-8"}


class JiraFolderTransport(httpx.BaseTransport):
    def __init__(self, root: Path | str, *, faults: Mapping[str, Sequence[Fault | httpx.Response]] | None = None,
                 trailing_empty_page: bool = False) -> None:
        self.root = Path(root)
        self._prefix = self.root.as_posix().rstrip("/") + "/"
        self.trailing_empty_page = trailing_empty_page
        self._faults = {k.strip("/"): deque(v) for k, v in (faults or {}).items()}
        self.request_count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.request_count += 1
        path = request.url.path
        rel = (path[len(self._prefix):] if path.startswith(self._prefix) else path).strip("/")
        if not rel or any(part in ("", ".", "..") for part in rel.split("/")):
            return _json(404, {"errorMessages": ["Not Found"]}, request)
        queue = self._faults.get(rel)
        if queue:
            scripted = queue.popleft()
            return scripted if isinstance(scripted, httpx.Response) else scripted.response(request)
        try:
            raw = (self.root / (rel + ".json")).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return _json(404, {"errorMessages": ["Not Found"], "path": "/" + rel}, request)
        try:
            data = json.loads(raw)
        except ValueError:
            return httpx.Response(200, headers=_JSON, content=raw, request=request)
        if not (isinstance(data, dict) and isinstance(data.get("issues"), list)) or rel not in (CLOUD_SEARCH, DC_SEARCH):
            return httpx.Response(200, headers=_JSON, content=raw, request=request)
        params, issues = request.url.params, data["issues"]
        limit = min(100, max(1, _int(params.get("maxResults"), 50)))
        if rel == CLOUD_SEARCH:
            start = _decode(params.get("nextPageToken"))
            chunk = issues[start: start + limit]
            more = start + limit < len(issues) or bool(self.trailing_empty_page and chunk)
            body: dict[str, Any] = {"issues": chunk, "isLast": not more}
            if more:
                body["nextPageToken"] = _encode(start + limit)
            return _json(200, body, request)
        start = max(0, _int(params.get("startAt"), 0))
        body = {"expand": "schema,names", "startAt": start, "maxResults": limit, "total": len(issues),
                "issues": issues[start: start + limit]}
        return _json(200, body, request)


def transport_for(base_url: str) -> JiraFolderTransport | None:
    root = folder_root(base_url)
    return JiraFolderTransport(root) if root is not None else None


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return max(0, int(text.split(":", 1)[1]))
    except (ValueError, IndexError):
        return 0


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _json(status: int, body: Any, request: httpx.Request) -> httpx.Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return httpx.Response(status, headers=_JSON, content=content, request=request)
