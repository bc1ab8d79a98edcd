"""Pagination strategies: one small class per way an API says "there is more".

Modelled on dlt's rest_client paginators: the engine asks a paginator, after each page, for the
URL of the next one, and stops on `None`. Each paginator also stops on an empty page, so an API
that advertises a next page and then returns nothing (ServiceNow does, GitHub can) ends the loop
instead of spinning.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx


class Paginator(Protocol):
    """Decides the next request from the last response; `None` ends the stream."""

    def next_url(self, response: httpx.Response, body: Any, count_records: int) -> httpx.URL | None:
        ...


@dataclass(frozen=True)
class SinglePage:
    """A resource that is one response (GET /repos/{owner}/{name})."""

    def next_url(self, response: httpx.Response, body: Any, count_records: int) -> httpx.URL | None:
        return None


@dataclass(frozen=True)
class HeaderLinkPaginator:
    """RFC 8288 `Link: <url>; rel="next"` - GitHub REST v3 and the ServiceNow Table API.

    The next URL is taken verbatim from the header (it carries every query parameter), so the
    paginator needs no knowledge of page numbers or offsets. A page whose body could not be
    parsed still has headers, so paging continues past it.
    """

    rel: str = "next"

    def next_url(self, response: httpx.Response, body: Any, count_records: int) -> httpx.URL | None:
        if count_records == 0 and body is not None:
            return None
        link = response.links.get(self.rel)
        if not link or not link.get("url"):
            return None
        return response.url.join(link["url"])


@dataclass(frozen=True)
class OffsetMorePaginator:
    """PagerDuty REST v2 classic pagination: `offset`/`limit` parameters, `more` in the body.

    The next offset is the page's `offset + limit` as the API reports them (falling back to the
    request's parameters), i.e. exactly what PagerDuty documents. An unparseable page has no
    `more`, so paging stops there (and the page is quarantined by the engine).
    """

    offset_param: str = "offset"
    limit_param: str = "limit"
    more_key: str = "more"

    def next_url(self, response: httpx.Response, body: Any, count_records: int) -> httpx.URL | None:
        if not isinstance(body, dict) or not body.get(self.more_key) or count_records == 0:
            return None
        params = response.request.url.params
        offset = _as_int(body.get(self.offset_param), _as_int(params.get(self.offset_param), 0))
        limit = _as_int(body.get(self.limit_param), _as_int(params.get(self.limit_param), count_records))
        return response.request.url.copy_set_param(self.offset_param, offset + max(limit, 1))


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
