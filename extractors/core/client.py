"""The HTTP client every HTTP source uses: auth from the environment, retries, rate limits.

Why one client: retries, back-off and rate-limit handling are where extractors usually differ
by accident. Here they are written once and tested once:

* 5xx and transport errors: exponential back-off (`backoff_base * 2**attempt`, capped).
* 429 / 403 with `Retry-After`: wait that long (GitHub secondary limits, ServiceNow, PagerDuty).
* `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset`: wait until the reset (GitHub primary
  limit) - also after a *successful* response that used the last request of the window.
* a 403 whose body names a secondary rate limit but gives no header: wait a minute (GitHub docs).
* anything else 4xx: not retried, raised as `HttpStatusError`.

The sleep function and the clock are injectable so tests never sleep. Credentials are read from
`os.environ` at request time (so a rotated token is picked up and nothing secret sits in config
objects) and only ever placed in the Authorization header - never in URLs, logs or errors.
"""
from __future__ import annotations

import base64
import email.utils
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Generator, Mapping
from urllib.parse import urlencode

import httpx

from extractors.core.errors import ExtractionError, HttpStatusError, MissingCredentialError

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504})
SECONDARY_LIMIT_WAIT = 60.0   # GitHub: "wait for at least one minute" when no header says otherwise


class EnvCredentialAuth(httpx.Auth):
    """Authorization header built from environment variables at the moment of each request.

    scheme "bearer"    -> `Authorization: Bearer <token>`           (GitHub)
    scheme "pagerduty" -> `Authorization: Token token=<token>`      (PagerDuty REST v2)
    scheme "basic"     -> `Authorization: Basic base64(user:pass)`  (ServiceNow)

    With `required=False` (local folder sources) a missing variable sends no header instead of
    failing, so the demo runs without fake secrets. With `secret_block`, the secret (the token,
    or ServiceNow's password) comes from that Prefect Secret block instead of the last variable;
    it is loaded at the first request, kept in memory only, and never shown.
    """

    def __init__(self, system: str, scheme: str, variables: tuple[str, ...], *, required: bool = True,
                 secret_block: str | None = None) -> None:
        if scheme not in ("bearer", "pagerduty", "basic"):
            raise ValueError(f"unknown auth scheme {scheme!r}")
        self.system, self.scheme, self.variables, self.required = system, scheme, variables, required
        self.secret_block = secret_block
        self._secret: str | None = None

    def __repr__(self) -> str:  # never show values, only which variables are used
        return f"EnvCredentialAuth({self.system!r}, {self.scheme!r}, {self.variables!r})"

    def header_value(self) -> str | None:
        values = []
        for index, variable in enumerate(self.variables):
            last = index == len(self.variables) - 1
            value = self._block_secret() if (last and self.secret_block) else os.environ.get(variable)
            if not value:
                if not self.required:
                    return None
                purpose = {"bearer": "API token", "pagerduty": "API token"}.get(self.scheme, "user name or password")
                raise MissingCredentialError(self.system, variable, f"{self.system} {purpose}")
            values.append(value)
        if self.scheme == "bearer":
            return f"Bearer {values[0]}"
        if self.scheme == "pagerduty":
            return f"Token token={values[0]}"
        return "Basic " + base64.b64encode(f"{values[0]}:{values[1]}".encode()).decode("ascii")

    def _block_secret(self) -> str:
        if self._secret is None:
            from extractors.core.incremental import secret_block_value

            try:
                self._secret = secret_block_value(self.secret_block or "")
            except Exception as exc:  # the block's name is safe to show, its value never is
                raise ExtractionError(self.system, "", None, message=(
                    f"{self.system}: Prefect Secret block {self.secret_block!r} could not be read "
                    f"({type(exc).__name__})")) from None
            if not self._secret:
                raise ExtractionError(self.system, "", None,
                                      message=f"{self.system}: Prefect Secret block {self.secret_block!r} is empty")
        return self._secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = self.header_value()
        if value is not None:
            request.headers["Authorization"] = value
        yield request


def folder_root(base_url: str) -> Path | None:
    """The local folder of a `file://` base URL (the demo and tests), else None."""
    if not base_url.startswith("file://"):
        return None
    rest = base_url[len("file://"):]
    if rest.startswith("localhost/"):
        rest = rest[len("localhost"):]
    return Path(rest)


class _NoCookies(httpx.Cookies):
    """API clients authenticate per request; parsing every response for cookies costs ~0.1 ms."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _HttpClient(httpx.Client):
    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:  # type: ignore[override]
        return self._no_cookies

    @cookies.setter
    def cookies(self, value: Any) -> None:
        pass


class ApiClient:
    """GET with retries for one source system; base URL relative paths or absolute next-links."""

    def __init__(
        self,
        system: str,
        base_url: str,
        auth: httpx.Auth | None = None,
        *,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_wait: float = 3700.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        folder_style: str | None = None,
    ) -> None:
        self.system = system
        self.max_retries = max_retries
        self.backoff_base, self.backoff_max, self.max_wait = backoff_base, backoff_max, max_wait
        self.sleep, self.clock = sleep, clock
        self.requests_made = 0
        self.not_modified = 0      # 304 answers to If-None-Match: free on GitHub's rate limit
        self._wait_before_next = 0.0
        root = folder_root(base_url)
        if root is not None:
            # Import here: the transport is only needed for folder sources.
            from extractors.core.transport import FolderTransport

            if transport is None:
                transport = FolderTransport(root, folder_style or system)
            # An empty host makes httpx treat absolute next-links as relative; RFC 8089 allows
            # "localhost" as the host of a file URL, which keeps them absolute.
            base_url = "file://localhost" + root.as_posix()
        self.base_url = base_url.rstrip("/")
        self._http = _HttpClient(
            base_url=self.base_url,
            auth=auth,
            transport=transport,
            headers=dict(headers or {}),
            timeout=timeout,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url_for(self, url: str | httpx.URL, params: Mapping[str, Any] | None = None) -> httpx.URL:
        """The absolute URL of a request: a path under the base URL (plus params), or a next-link.

        Built once per request as one string (httpx would otherwise re-parse the URL several
        times while merging base URL and params - measurable at tens of thousands of requests).
        """
        if isinstance(url, httpx.URL) and not params:
            return url
        text = str(url)
        if "://" not in text:
            text = self.base_url + "/" + text.lstrip("/")
        if params:
            text += ("&" if "?" in text else "?") + urlencode(
                [(k, _param_text(v)) for k, v in params.items()], safe="/:,"
            )
        return httpx.URL(text)

    def get(self, url: str | httpx.URL, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> httpx.Response:
        """GET `url` (a path under the base URL, or an absolute next-link); 2xx or an exception.

        With an `If-None-Match` header a 304 is returned too (the page is unchanged); it is
        counted in `not_modified`, not `requests_made`, as it does not use the rate limit.
        """
        target = self.url_for(url, params)
        return self.send(str(target), lambda: self._http.get(target, headers=headers),
                         not_modified=bool(headers and "If-None-Match" in headers))

    def post(self, url: str | httpx.URL, json: Any, *,
             settle: Callable[[httpx.Response], float | None] | None = None,
             fail: Callable[[str, int | None, str, type[ExtractionError]], ExtractionError] | None = None,
             ) -> httpx.Response:
        """POST a JSON body to `url`, retried like `get`; `settle` and `fail` as in `send`."""
        target = self.url_for(url)
        return self.send(str(target), lambda: self._http.post(target, json=json), settle=settle, fail=fail)

    def send(self, target: str, call: Callable[[], httpx.Response], *, not_modified: bool = False,
             settle: Callable[[httpx.Response], float | None] | None = None,
             fail: Callable[[str, int | None, str, type[ExtractionError]], ExtractionError] | None = None,
             ) -> httpx.Response:
        """The one retry loop of every request: `call()` until a 2xx (or, with `not_modified`, a
        304), retrying transport errors, 5xx and rate limits with back-off up to `max_retries`.

        `settle(response)` judges a 2xx: None when it is the answer, else the seconds to wait before
        asking again (a 200 that refuses in its body: GraphQL's RATE_LIMITED). `fail(url, status,
        detail, kind)` builds the exception (default: this system, the URL and the status).
        """
        fail = fail or (lambda url, status, detail, kind: kind(self.system, url, status, detail))
        attempt = 0
        while True:
            if self._wait_before_next > 0:
                wait, self._wait_before_next = self._wait_before_next, 0.0
                log.info("%s: rate limit window used up, waiting %.0fs for its reset", self.system, wait)
                self.sleep(wait)
            try:
                self.requests_made += 1
                response = call()
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise fail(target, None, f"{type(exc).__name__} after {attempt + 1} attempts",
                               ExtractionError) from None
                self._pause(self._backoff(attempt), target, type(exc).__name__)
                attempt += 1
                continue
            status, url = response.status_code, str(response.url)
            if status == 304 and not_modified:
                self.requests_made -= 1
                self.not_modified += 1
                return response
            why = f"HTTP {status}"
            if status < 300:
                wait = settle(response) if settle is not None else None
                if wait is None:
                    self._note_exhausted_window(response)
                    return response
                why += ", refused in the body"
            else:
                wait = self._rate_limit_wait(response, attempt)
                if wait is None and status in RETRYABLE_STATUSES:
                    wait = self._backoff(attempt)
                if wait is None:
                    raise fail(url, status, _error_message(response), HttpStatusError)
            if attempt >= self.max_retries:
                raise fail(url, status, f"gave up after {attempt + 1} attempts: {_error_message(response)}",
                           ExtractionError)
            self._pause(wait, url, why)
            attempt += 1

    # -- waiting ------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * (2 ** attempt))

    def _pause(self, seconds: float, url: str, why: str) -> None:
        seconds = max(0.0, min(seconds, self.max_wait))
        log.warning("%s: %s on %s, retrying in %.1fs", self.system, why, url, seconds)
        self.sleep(seconds)

    def _rate_limit_wait(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait when the response is a rate-limit refusal, else None."""
        if response.status_code not in (403, 429):
            return None
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"), self.clock)
        if retry_after is not None:
            return retry_after
        reset_wait = self._reset_wait(response)
        if reset_wait is not None:
            return reset_wait
        if response.status_code == 429:
            return self._backoff(attempt)
        if "rate limit" in response.text.lower():
            return SECONDARY_LIMIT_WAIT
        return None

    def _reset_wait(self, response: httpx.Response) -> float | None:
        if response.headers.get("X-RateLimit-Remaining") != "0":
            return None
        try:
            reset = float(response.headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            return None
        return max(0.0, reset - self.clock()) + 1.0

    def _note_exhausted_window(self, response: httpx.Response) -> None:
        wait = self._reset_wait(response)
        if wait is not None:
            self._wait_before_next = min(wait, self.max_wait)



def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _retry_after_seconds(value: str | None, clock: Callable[[], float]) -> float | None:
    """`Retry-After` as seconds: an integer, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - clock())


def _error_message(response: httpx.Response) -> str:
    """A short, secret-free description of an error body (APIs put the reason in JSON; some echo
    the credential they refused, so whatever the request's Authorization header held is redacted)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or ""
    if isinstance(body, dict):
        for key in ("message", "error"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail")
            if isinstance(value, str):
                return _redact(value, response)[:200]
    return response.reason_phrase or ""


def _redact(text: str, response: httpx.Response) -> str:
    try:
        header = response.request.headers.get("Authorization") or ""
    except RuntimeError:      # a response built without its request
        return text
    scheme, _, credential = header.partition(" ")
    secrets = {credential, credential.removeprefix("token=")}
    if scheme.lower() == "basic":
        try:
            secrets.update(base64.b64decode(credential).decode("utf-8", "replace").split(":", 1))
        except ValueError:
            pass
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text
