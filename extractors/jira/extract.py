"""Jira issue search: change requests, with the changelog that records who approved them.

Cloud: `GET /rest/api/3/search/jql?jql=...&fields=...&expand=changelog`, paged by
`nextPageToken` until `isLast`; basic auth (account e-mail + API token). Data Center:
`GET /rest/api/2/search` paged by `startAt`/`maxResults`/`total`; bearer personal access token.
One unit per configured JQL query. Issues land verbatim (changelog included) in
`raw.jira__issues`; the staging views read change requests, approvals (transitions into an
approved status *id*, or an approvers field) and the users embedded in issues and histories.

How to read an issue (field ids, approved status ids, category and risk mappings) is the
source's configuration; it is landed as each record's `context.reading`, so the staging views
need no other input and the evidence records the interpretation it was read with.
With `since`, the JQL gains `updated >= "yyyy/MM/dd HH:mm"` (evaluated in the integration
user's time zone, which should be UTC).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import httpx

from extractors.core import ApiClient, EnvCredentialAuth, Extraction, Stream, as_utc, folder_root
from extractors.jira.paginators import NextPageTokenPaginator, StartAtPaginator
from extractors.jira.transport import transport_for
from flows.config import JiraSource

SYSTEM = "jira"
BASE_FIELDS = ("summary", "issuetype", "status", "created", "updated", "resolutiondate", "resolution",
               "reporter", "creator", "assignee", "description", "priority", "labels")  # labels: §5 hotfix

# The cursor is the newest `fields.updated` landed: the next run asks `updated >= cursor - overlap`.
CLOUD_ISSUES = Stream(system=SYSTEM, name="issues", path="/rest/api/3/search/jql", records_key="issues",
                      primary_key=("id", "key"), paginator=NextPageTokenPaginator(), partition_keys=("jql",),
                      cursor_field="fields.updated", time_fields=("fields.created",))
DC_ISSUES = Stream(system=SYSTEM, name="issues", path="/rest/api/2/search", records_key="issues",
                   primary_key=("id", "key"), paginator=StartAtPaginator(), partition_keys=("jql",),
                   cursor_field="fields.updated", time_fields=("fields.created",))

# Cloud's search embeds at most 100 histories per issue; the rest are paged from the issue's
# changelog (`values`, startAt/isLast). Data Center's search returns the whole changelog.
CHANGELOGS = Stream(system=SYSTEM, name="changelogs", path="/rest/api/3/issue/{issue_id}/changelog",
                    records_key="values", primary_key=("id",), paginator=StartAtPaginator(),
                    params={"maxResults": 100}, missing_ok=True, time_fields=("created",))

STREAMS: tuple[Stream, ...] = (CLOUD_ISSUES, CHANGELOGS)


def jira_client(
    config: JiraSource, *, sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ApiClient:
    """Cloud: basic (user_env, token_env); Data Center: bearer (token_env). Folder URLs need none."""
    local = folder_root(config.base_url) is not None
    if config.deployment == "cloud":
        auth = EnvCredentialAuth(SYSTEM, "basic", (config.user_env, config.token_env), required=not local)
    else:
        auth = EnvCredentialAuth(SYSTEM, "bearer", (config.token_env,), required=not local)
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
    transport = transport or transport_for(config.base_url)
    if transport is not None:
        kwargs["transport"] = transport
    return ApiClient(SYSTEM, config.base_url, auth, headers={"Accept": "application/json"}, **kwargs)


def search_jql(jql: str, since: datetime | None) -> str:
    """The configured JQL, narrowed to issues updated since `since`, ordered by update time."""
    since = as_utc(since)
    text = jql.strip()
    order = ""
    lowered = text.lower()
    if " order by " in f" {lowered}":
        cut = f" {lowered}".rfind(" order by ") - 1
        text, order = text[:max(cut, 0)].strip(), text[max(cut, 0):].strip()
    if since is not None:
        stamp = since.astimezone(timezone.utc).strftime("%Y/%m/%d %H:%M")
        text = f'({text}) AND updated >= "{stamp}"' if text else f'updated >= "{stamp}"'
    return f"{text} {order or 'ORDER BY updated ASC'}".strip()


def reading_context(config: JiraSource) -> dict[str, Any]:
    """How the staging views read these issues (landed with every record)."""
    return {
        "deployment": config.deployment,
        "fields": dict(sorted(config.fields.items())),
        "approved_status_ids": [str(s) for s in config.approved_status_ids],
        "category_field": config.category_field,
        "categories": dict(config.categories),
        "risks": dict(config.risks),
        "approvers_field": config.approvers_field,
        "approved_at_field": config.approved_at_field,
    }


def _changelog_extent(issue: Any) -> dict[str, Any]:
    """Only what the follow-up needs: the issue id and how much of its changelog was embedded."""
    changelog = issue.get("changelog") or {}
    histories = changelog.get("histories") or []
    total = changelog.get("total")
    return {"id": issue.get("id"), "embedded": len(histories),
            "total": total if isinstance(total, int) else len(histories)}


def requested_fields(config: JiraSource) -> str:
    extra = [*config.fields.values(), config.category_field, config.approvers_field, config.approved_at_field]
    return ",".join(dict.fromkeys([*BASE_FIELDS, *(f for f in extra if f)]))


def extract_jira(
    config: JiraSource, landing: Path, run_id: str, since: datetime | None = None,
    *, client: ApiClient | None = None,
) -> list[Path]:
    """Every issue the JQL matches, with its changelog; one manifest."""
    stream = CLOUD_ISSUES if config.deployment == "cloud" else DC_ISSUES
    own = client is None
    client = client or jira_client(config)
    jql = search_jql(config.jql, since)
    params: dict[str, Any] = {"jql": jql, "fields": requested_fields(config), "expand": "changelog",
                              "maxResults": config.page_size}
    if stream is DC_ISSUES:
        params["startAt"] = 0
    context = {"jql": config.jql, "reading": reading_context(config)}
    try:
        with Extraction(SYSTEM, "issues", landing, run_id, client, unit_context={"jql": config.jql}) as ex:
            issues = ex.run(stream, [context], params=params, keep=_changelog_extent)
            truncated = [{**context, "issue_id": r.payload["id"]} for r in issues
                         if r.payload["total"] > r.payload["embedded"]]
            if stream is CLOUD_ISSUES:
                ex.run(CHANGELOGS, truncated)   # lands the stream (empty when nothing was cut)
            return [ex.finish()]
    finally:
        if own:
            client.close()
