"""The one engine: run a stream for some contexts, page through it, land what arrives.

Source packages call `Extraction.run(stream, contexts)`; this module owns the loop every HTTP
stream shares - request, parse, check the primary key, write the envelope, quarantine what
cannot be accepted, advance the cursor, ask the paginator for the next page. Parent records a
source needs to derive child contexts are returned when `keep=True`.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import httpx

from extractors.core.client import ApiClient
from extractors.core.errors import HttpStatusError
from extractors.core.faults import checkpoint
from extractors.core.incremental import ConditionalPages
from extractors.core.landing import LandingWriter, utc_now_iso
from extractors.core.stream import Stream
from extractors.core.timestamps import extraction_time, time_problem

log = logging.getLogger(__name__)

# Statuses that mean "this one child resource is gone or cannot be computed", not "the source
# is down": a force-pushed-away sha (404/422 on compare), a deleted deployment (404/410).
MISSING_STATUSES = frozenset({404, 409, 410, 422})


@dataclass(frozen=True)
class Record:
    """A landed record with the context it was requested under."""

    context: Mapping[str, Any]
    payload: Mapping[str, Any]


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 ('...Z', offsets) or ServiceNow 'YYYY-MM-DD HH:MM:SS' (UTC) -> aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def at_or_after(value: Any, since: datetime | None) -> bool:
    """Is a record's timestamp at or after `since`? (No `since`, or no readable time: keep it.)"""
    if since is None:
        return True
    parsed = parse_timestamp(value)
    return parsed is None or parsed >= since


def int_id(value: Any) -> int:
    """A numeric id for ordering; 0 when the source sent something else."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def dig(record: Any, dotted: str) -> Any:
    """`fields.updated` -> record["fields"]["updated"] (a cursor may sit below the top level)."""
    for key in dotted.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def as_utc(value: datetime | None) -> datetime | None:
    """A naive `since` is taken as UTC (the whole warehouse is UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Extraction:
    """One extraction unit: a LandingWriter plus the engine loop over an ApiClient.

    Use as a context manager and call `finish()` at the end; leaving the block with an exception
    closes the files without a manifest, so a failed unit is invisible to the load step.
    """

    def __init__(
        self,
        system: str,
        unit: str,
        landing: Path,
        run_id: str,
        client: ApiClient | None = None,
        *,
        unit_context: Mapping[str, Any] | None = None,
        base_url: str | None = None,
    ) -> None:
        self.client = client
        self.unit_context = dict(unit_context or {})
        self.writer = LandingWriter(
            landing, system, unit, run_id, base_url or (client.base_url if client else None)
        )
        # ETags of this unit's previous manifest; the writer puts this run's into the manifest.
        self.conditional = ConditionalPages.for_unit(landing, system, unit, run_id) if client else None
        self.writer.conditional = self.conditional

    def __enter__(self) -> "Extraction":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None and not self.writer.finished:
            self.writer.abort()

    def finish(self) -> Path:
        return self.writer.finish()

    def run(
        self,
        stream: Stream,
        contexts: Iterable[Mapping[str, Any]],
        *,
        params: Mapping[str, Any] | None = None,
        since: datetime | None = None,
        keep: bool | Callable[[Mapping[str, Any]], Mapping[str, Any]] = False,
        land: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> list[Record]:
        """Fetch every page of `stream` for each context; returns the records when `keep`.

        `keep` may be a projection (payload -> the few fields the caller needs), so a unit with
        thousands of large parent records does not hold them all in memory. Only streams run
        without `keep` use conditional requests: a caller that needs the records must see them.
        `land`: a record it refuses was landed by an earlier run (a list without a `since` filter
        re-sends it unchanged); it is kept for the caller and counted in the manifest's
        `already_landed`, not landed again.
        """
        if self.client is None:
            raise RuntimeError(f"{stream.system}/{stream.name}: this extraction has no HTTP client")
        merged = {**stream.params, **(params or {})}
        self.writer.stream(stream.name, stream.query_text(self.unit_context, merged))
        kept: list[Record] = []
        project = keep if callable(keep) else None
        best: tuple[datetime, str] | None = None
        for context in contexts:
            newest = self._run_context(
                stream, dict(context), merged, as_utc(since), kept if keep else None, project, land
            )
            if newest is not None and (best is None or newest[0] > best[0]):
                best = newest
        if stream.cursor_field and best is not None:
            self.writer.set_cursor(stream.name, best[1])
        return kept

    def _run_context(
        self,
        stream: Stream,
        context: dict[str, Any],
        params: Mapping[str, Any],
        since: datetime | None,
        kept: list[Record] | None,
        project: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
        land: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> tuple[datetime, str] | None:
        assert self.client is not None
        writer, name = self.writer, stream.name
        url: str | httpx.URL | None = stream.url_path(context)
        request_params: Mapping[str, Any] | None = params
        page = 0
        newest: tuple[datetime, str] | None = None
        conditional = self.conditional if kept is None else None
        while url is not None:
            page += 1
            writer.count_request(name)
            etag = None
            if conditional is not None:
                url = self.client.url_for(url, request_params)
                request_params = None
                etag = conditional.etag_for(url)
            try:
                response = self.client.get(url, params=request_params,
                                           headers={"If-None-Match": etag} if etag else None)
            except HttpStatusError as exc:
                if stream.missing_ok and exc.status in MISSING_STATUSES:
                    writer.quarantine(name, exc.url, f"page {page}", f"HTTP {exc.status}: resource not available")
                    return newest
                raise
            if response.status_code == 304 and conditional is not None:
                url = conditional.not_modified(name, url)     # unchanged: its records are already landed
                continue
            source_url = str(response.url)
            checkpoint("extract.after_page")
            body: Any = None
            records: list[Any] | None = None
            try:
                body = json.loads(response.content)
            except ValueError as exc:
                writer.quarantine(name, source_url, f"page {page}", f"response is not valid JSON: {exc}",
                                  response.content.decode("utf-8", errors="replace"))
            else:
                records = stream.extract_records(body)
                if records is None:
                    writer.quarantine(name, source_url, f"page {page}", _shape_reason(stream, body), body)
            prefix = writer.envelope_prefix(utc_now_iso(), source_url, context)
            reached_older = False
            extracted, time_fields = extraction_time(), stream.timestamp_fields()
            for index, record in enumerate(records or ()):
                missing = stream.missing_key(record)
                if missing is not None:
                    writer.quarantine(name, source_url, f"page {page}, item {index + 1}",
                                      f"missing required key '{missing}'", record)
                    continue
                problem = time_problem(record, time_fields, extracted, naive_utc=stream.naive_times_utc)
                if problem:       # no zone, or from the future: never landed, never moves the cursor
                    writer.quarantine(name, source_url, f"page {page}, item {index + 1}", problem, record)
                    continue
                older = False     # on the last page of a newest-first list: landed by an earlier run
                if stream.cursor_field:
                    raw_value = dig(record, stream.cursor_field)
                    value = parse_timestamp(raw_value)
                    if value is not None:
                        if newest is None or value > newest[0]:
                            newest = (value, raw_value)
                        if since is not None and stream.stop_when_older_than_cursor and value < since:
                            reached_older = older = True
                if not older and (land is None or land(record)):
                    writer.write(name, record, prefix)
                else:
                    writer.count_already_landed(name)
                if kept is not None:
                    kept.append(Record(context, project(record) if project else record))
            if reached_older:
                break
            next_url = stream.paginator.next_url(response, body if records is not None else None, len(records or ()))
            if conditional is not None and records is not None:
                conditional.remember(name, url, response.headers.get("ETag"), len(records), next_url)
            url = next_url
            request_params = None      # a next-link carries every parameter
        return newest


def _shape_reason(stream: Stream, body: Any) -> str:
    found = type(body).__name__
    if stream.single_object:
        return f"expected a JSON object, got {found}"
    if stream.records_key:
        return f"expected an object with a '{stream.records_key}' list, got {found}"
    return f"expected a JSON array, got {found}"
