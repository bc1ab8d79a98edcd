"""ServiceNow Table API extraction: one unit per table.

Requests `GET /api/now/table/<table>` with
`sysparm_display_value=false` (raw values: sys_ids, codes such as type `normal`, UTC
`YYYY-MM-DD HH:MM:SS` dates - the forms the controls compare against; display values are
localised and user-formatted), `sysparm_exclude_reference_link=false` (reference fields stay
objects `{"link", "value"}`, the instance default) and `ORDERBYsys_updated_on`, paging with
`sysparm_offset`/`sysparm_limit` by following the `Link` header. With `since`, only records
updated at or after it are requested (`sys_updated_on>=...`); the integration user's time zone
must be UTC for that filter to mean UTC, as ServiceNow evaluates encoded-query dates in it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import httpx

from extractors.core import (
    ApiClient, EnvCredentialAuth, Extraction, ExtractionError, HeaderLinkPaginator, Stream, as_utc, folder_root,
    raise_collected,
)
from extractors.core.incremental import unit_since
from flows.config import ServiceNowSource

SYSTEM = "servicenow"
_LINK = HeaderLinkPaginator()
_BASE_PARAMS = {
    "sysparm_display_value": "false",
    "sysparm_exclude_reference_link": "false",
}


def _table_stream(name: str, table: str) -> Stream:
    return Stream(
        system=SYSTEM, name=name, path=f"/api/now/table/{table}", params=_BASE_PARAMS,
        primary_key=("sys_id",), records_key="result", paginator=_LINK,
        cursor_field="sys_updated_on", partition_keys=("table",),
        # 'YYYY-MM-DD HH:MM:SS' is UTC by the Table API's definition: only the future rule applies
        time_fields=("sys_created_on", "sys_updated_on"), naive_times_utc=True,
    )


CHANGE_REQUESTS = _table_stream("change_requests", "change_request")
APPROVALS = _table_stream("approvals", "sysapproval_approver")
USERS = _table_stream("users", "sys_user")

STREAMS: tuple[Stream, ...] = (CHANGE_REQUESTS, APPROVALS, USERS)
TABLES: dict[str, Stream] = {"change_request": CHANGE_REQUESTS, "sysapproval_approver": APPROVALS, "sys_user": USERS}


def servicenow_client(
    config: ServiceNowSource, *, sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """Basic auth from the configured user/password environment variables."""
    local = folder_root(config.base_url) is not None
    auth = EnvCredentialAuth(SYSTEM, "basic", (config.user_env, config.password_env), required=not local,
                             secret_block=config.password_secret_block)
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
    if transport is not None:
        kwargs["transport"] = transport
    return ApiClient(SYSTEM, config.base_url, auth, headers={"Accept": "application/json"}, **kwargs)


def encoded_query(since: datetime | None) -> str:
    """`sys_updated_on>=YYYY-MM-DD HH:MM:SS^ORDERBYsys_updated_on` (UTC), or just the ordering."""
    since = as_utc(since)
    if since is None:
        return "ORDERBYsys_updated_on"
    stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"sys_updated_on>={stamp}^ORDERBYsys_updated_on"


def extract_servicenow(
    config: ServiceNowSource, landing: Path, run_id: str, since: datetime | None = None,
    *, client: ApiClient | None = None,
) -> list[Path]:
    """Extract change_request, sysapproval_approver and sys_user; one manifest per table."""
    own = client is None
    client = client or servicenow_client(config)
    try:
        manifests: list[Path] = []
        failures: list[ExtractionError] = []
        for table in TABLES:
            try:
                manifests.append(extract_servicenow_table(config, table, landing, run_id, since, client=client))
            except ExtractionError as exc:      # e.g. no read ACL on one table: still land the others
                failures.append(exc)
        raise_collected(failures, len(TABLES))
        return manifests
    finally:
        if own:
            client.close()


def extract_servicenow_table(
    config: ServiceNowSource, table: str, landing: Path, run_id: str, since: datetime | None = None,
    *, client: ApiClient | None = None,
) -> Path:
    """One table as one extraction unit (units are independent and can run in parallel)."""
    stream = TABLES[table]
    own = client is None
    client = client or servicenow_client(config)
    context = {"table": table}
    params = {
        "sysparm_query": encoded_query(unit_since(since, table)),   # the table's own cursor
        "sysparm_limit": config.page_size,
        "sysparm_offset": 0,
    }
    try:
        with Extraction(SYSTEM, table, landing, run_id, client, unit_context=context) as ex:
            ex.run(stream, [context], params=params)
            return ex.finish()
    finally:
        if own:
            client.close()
