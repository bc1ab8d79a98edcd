"""A stream is data: what to request, how to page it, what identifies a record.

One engine (`engine.Extraction`) runs every stream; source packages only declare streams and
decide which contexts (repositories, pull requests, deployments...) to run them for. This keeps
each source small and makes the request each stream makes reviewable in one place.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from extractors.core.paginators import Paginator, SinglePage
from extractors.core.timestamps import DEFAULT_TIME_FIELDS


@dataclass(frozen=True)
class Stream:
    """One kind of record of one system, landed as `raw.<system>__<name>`.

    path          template formatted with the record context, e.g. "/repos/{repo}/pulls"
    params        fixed query parameters; run-time ones (page size, since) are added by the source
    primary_key   keys every record must carry; a record lacking one is quarantined
    records_key   where the records are in a page body: None = the body is a list,
                  "check_runs" = body["check_runs"]; ignored when `single_object`
    single_object the body (of each page) is itself one record (GET /repos/{repo}, a compare)
    parent        the stream whose records produce this stream's contexts
    child_context context key -> field of the parent record (the parent context is inherited)
    cursor_field  the field whose maximum is this stream's bookmark in the manifest
    stop_when_older_than_cursor  pages are newest-first on `cursor_field`: stop paging at the
                  first page holding a record older than `since`
    missing_ok    a 404/410/422 for one context is quarantined rather than fatal (a child resource
                  that disappeared must not lose the rest of the unit)
    time_fields   dotted fields holding when something happened; a record whose value has no time
                  zone or lies in the future is quarantined (core/timestamps.py). None = the
                  common names (DEFAULT_TIME_FIELDS); the cursor field is always checked
    naive_times_utc  the source's documented time format has no zone and means UTC (ServiceNow)
    """

    system: str
    name: str
    path: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ("id",)
    paginator: Paginator = field(default_factory=SinglePage)
    records_key: str | None = None
    single_object: bool = False
    parent: "Stream | None" = None
    child_context: Mapping[str, str] = field(default_factory=dict)
    cursor_field: str | None = None
    stop_when_older_than_cursor: bool = False
    partition_keys: tuple[str, ...] = ()
    missing_ok: bool = False
    time_fields: tuple[str, ...] | None = None
    naive_times_utc: bool = False

    def timestamp_fields(self) -> tuple[str, ...]:
        """The fields `core.timestamps.time_problem` checks on each record of this stream."""
        fields = DEFAULT_TIME_FIELDS if self.time_fields is None else self.time_fields
        return tuple(dict.fromkeys((*fields, *((self.cursor_field,) if self.cursor_field else ()))))

    def url_path(self, context: Mapping[str, Any]) -> str:
        """The request path for one context; a missing context key is a programming error."""
        try:
            return self.path.format_map(dict(context))
        except KeyError as exc:
            raise KeyError(f"stream {self.system}/{self.name}: context lacks {exc} for path {self.path}") from None

    def query_text(self, context: Mapping[str, Any], params: Mapping[str, Any]) -> str:
        """The manifest's `query`: the request with the unit-level context filled in.

        Per-record placeholders ({number}, {sha}, ...) stay as placeholders, so one line
        describes every request the stream made for the unit.
        """
        names = {name for _, name, _, _ in string.Formatter().parse(self.path) if name}
        values = {name: context.get(name, "{" + name + "}") for name in names}
        path = self.path.format_map(values)
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"GET {path}" + (f"?{query}" if query else "")

    def extract_records(self, body: Any) -> list[Any] | None:
        """The records of one page body, or None when the body does not have this stream's shape."""
        if self.single_object:
            return [body] if isinstance(body, dict) else None
        if self.records_key is None:
            return body if isinstance(body, list) else None
        if isinstance(body, dict) and isinstance(body.get(self.records_key), list):
            return body[self.records_key]
        return None

    def missing_key(self, record: Any) -> str | None:
        """The first primary-key field a record lacks (None when the record is acceptable)."""
        if not isinstance(record, dict):
            return "<record is not a JSON object>"
        for key in self.primary_key:
            if record.get(key) is None:
                return key
        return None

    def contexts_from_parent(
        self,
        parent_records: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
        where: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Child contexts from (context, payload) pairs of the parent stream, de-duplicated."""
        seen: set[tuple] = set()
        contexts: list[dict[str, Any]] = []
        for parent_context, payload in parent_records:
            if where is not None and not where(payload):
                continue
            context = dict(parent_context)
            for key, source_field in self.child_context.items():
                context[key] = payload.get(source_field)
            identity = tuple(sorted((k, str(v)) for k, v in context.items()))
            if identity not in seen:
                seen.add(identity)
                contexts.append(context)
        return contexts
