"""The two ways Jira's issue search says "there is more".

* Cloud `GET /rest/api/3/search/jql`: an opaque `nextPageToken` in the body, `isLast` true on the
  last page (the enhanced search has no `total` and no `startAt`).
* Data Center `GET /rest/api/2/search`: `startAt`/`maxResults` parameters, `total` in the body.

Both stop on an empty page, so a server that advertises more and returns nothing ends the loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class NextPageTokenPaginator:
    token_param: str = "nextPageToken"

    def next_url(self, response: httpx.Response, body: Any, count_records: int) -> httpx.URL | None:
        if not isinstance(body, dict) or count_records == 0 or body.get("isLast") is True:
            return None
        token = body.get(self.token_param)
        if not token:
            return None
        return response.request.url.copy_set_param(self.token_param, token)


@dataclass(frozen=True)
class StartAtPaginator:
    def next_url(self, response: httpx.Response, body: Any, count_records: int) -> httpx.URL | None:
        if not isinstance(body, dict) or count_records == 0:
            return None
        params = response.request.url.params
        start = _int(body.get("startAt"), _int(params.get("startAt"), 0))
        following = start + count_records
        total = body.get("total")
        if body.get("isLast") is True or (isinstance(total, int) and following >= total):
            return None
        return response.request.url.copy_set_param("startAt", following)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
