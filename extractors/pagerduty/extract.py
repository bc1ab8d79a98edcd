"""PagerDuty REST v2 extraction: the account's incidents and each incident's log entries.

`GET /incidents?time_zone=UTC&since=..&until=..` (or `date_range=all` without `since`; PagerDuty
otherwise returns only the last 30 days) paged by `offset`/`limit` while `more` is true, then
`GET /incidents/{id}/log_entries?is_overview=false&include[]=channels` for each incident: the
full timeline, with note text (`channel.content`) for the post-incident-review check and the
`resolve_log_entry` that dates the resolution.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import httpx

from extractors.core import (
    ApiClient, EnvCredentialAuth, Extraction, OffsetMorePaginator, Stream, as_utc, folder_root,
)
from extractors.core.incremental import unit_since
from flows.config import PagerDutySource

SYSTEM = "pagerduty"
UNIT = "account"
_OFFSET = OffsetMorePaginator()

INCIDENTS = Stream(
    system=SYSTEM, name="incidents", path="/incidents",
    params={"time_zone": "UTC", "total": "true", "sort_by": "created_at:asc"},
    primary_key=("id",), records_key="incidents", paginator=_OFFSET, cursor_field="created_at",
)
LOG_ENTRIES = Stream(
    system=SYSTEM, name="log_entries", path="/incidents/{incident_id}/log_entries",
    params={"time_zone": "UTC", "is_overview": "false", "include[]": "channels"},
    primary_key=("id",), records_key="log_entries", paginator=_OFFSET,
    parent=INCIDENTS, child_context={"incident_id": "id"}, missing_ok=True,
)
STREAMS: tuple[Stream, ...] = (INCIDENTS, LOG_ENTRIES)


def pagerduty_client(
    config: PagerDutySource, *, sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """`Authorization: Token token=...` from the configured environment variable."""
    local = folder_root(config.base_url) is not None
    auth = EnvCredentialAuth(SYSTEM, "pagerduty", (config.token_env,), required=not local,
                             secret_block=config.token_secret_block)
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
    if transport is not None:
        kwargs["transport"] = transport
    return ApiClient(SYSTEM, config.base_url, auth,
                     headers={"Accept": "application/vnd.pagerduty+json;version=2"}, **kwargs)


def extract_pagerduty(
    config: PagerDutySource, landing: Path, run_id: str, since: datetime | None = None,
    *, client: ApiClient | None = None, until: datetime | None = None,
) -> list[Path]:
    """The PagerDuty account as one unit; returns its manifest path in a list."""
    own = client is None
    client = client or pagerduty_client(config)
    since = as_utc(unit_since(since, UNIT))
    window: dict[str, Any]
    if since is None:
        window = {"date_range": "all"}
    else:
        end = as_utc(until) or datetime.now(timezone.utc)
        window = {"since": since.isoformat(), "until": end.isoformat()}
    paging = {"limit": config.page_size, "offset": 0}
    try:
        with Extraction(SYSTEM, UNIT, landing, run_id, client) as ex:
            incidents = ex.run(INCIDENTS, [{}], params={**window, **paging},
                               keep=lambda p: {"id": p.get("id")})
            ex.run(LOG_ENTRIES, LOG_ENTRIES.contexts_from_parent((r.context, r.payload) for r in incidents),
                   params=paging)
            return [ex.finish()]
    finally:
        if own:
            client.close()
