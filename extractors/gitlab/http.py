"""What GitLab REST v4 does differently over HTTP: the `PRIVATE-TOKEN` header, `X-Next-Page`
pagination (Link headers for keyset pages) and `RateLimit-*` headers.

The shared `ApiClient` already waits on 429 `Retry-After` and on `X-RateLimit-Remaining: 0` +
`X-RateLimit-Reset`; `RateLimitHeaders` wraps the transport and copies GitLab's unprefixed
`RateLimit-Remaining`/`RateLimit-Reset` onto those names, so a 429 without `Retry-After` waits
until the window resets and a response that used the last request of the window pauses the next.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Generator

import httpx

from extractors.core import MissingCredentialError


class PrivateTokenAuth(httpx.Auth):
    """`PRIVATE-TOKEN: <token>` read from the environment at each request (never stored)."""

    def __init__(self, system: str, variable: str, *, required: bool = True) -> None:
        self.system, self.variable, self.required = system, variable, required

    def __repr__(self) -> str:
        return f"PrivateTokenAuth({self.system!r}, {self.variable!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = os.environ.get(self.variable)
        if value:
            request.headers["PRIVATE-TOKEN"] = value
        elif self.required:
            raise MissingCredentialError(self.system, self.variable, f"{self.system} access token")
        yield request


class RateLimitHeaders(httpx.BaseTransport):
    """Expose GitLab's `RateLimit-Remaining`/`RateLimit-Reset` under the names the client reads."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        headers = response.headers
        for name in ("Remaining", "Reset"):
            value = headers.get(f"RateLimit-{name}")
            if value is not None and f"X-RateLimit-{name}" not in headers:
                headers[f"X-RateLimit-{name}"] = value
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class GitLabPaginator:
    """Offset pages: `X-Next-Page` (empty on the last page); keyset pages: `Link: rel="next"`.

    An empty page ends the stream even if a next page is advertised.
    """

    def next_url(self, response: httpx.Response, body: Any, count_records: int) -> httpx.URL | None:
        if count_records == 0 and body is not None:
            return None
        next_page = response.headers.get("X-Next-Page")
        if next_page is not None:
            next_page = next_page.strip()
            return response.request.url.copy_set_param("page", next_page) if next_page else None
        link = response.links.get("next")
        if link and link.get("url"):
            return response.url.join(link["url"])
        return None
