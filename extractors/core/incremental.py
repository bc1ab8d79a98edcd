"""Incremental extraction: a `since` per extraction unit, and conditional requests (ETags).

Cursors (bookmarks) live in the manifests the load step stores, so they only advance with the
data (`warehouse/cursors.py` reads them back). The pipeline turns them into a `UnitSince`: a
datetime (the earliest `since` of any unit - right for single-unit sources and for extractors
that do not know about units) that also carries the `since` of each unit. Extractors with
several units call `unit_since(since, unit)`: a unit without a cursor (a newly onboarded
repository) gets `None`, i.e. its whole history.

ETags: every page answered with an `ETag` is remembered in the unit's manifest
(`etags: {url: {stream, etag, records, next}}`). The next extraction of the same unit sends
`If-None-Match` for those URLs; a 304 means the page is unchanged - its records are already in
the landing root (and the warehouse) - so nothing is re-landed, the manifest lists the page under
`unchanged` (stream, url, etag, records) as evidence that it was asked, the ETag is carried
forward, and paging continues at the stored next URL.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from extractors.core.landing import strip_userinfo, unit_slug


class UnitSince(datetime):
    """The earliest `since` of all units, carrying `per_unit` {unit: since} for `unit_since`."""

    per_unit: dict[str, datetime]

    def __new__(cls, per_unit: Mapping[str, datetime], *args: Any, **kwargs: Any) -> "UnitSince":
        if args or kwargs or not isinstance(per_unit, Mapping):
            # datetime methods (replace, astimezone...) rebuild a subclass from fields: plain datetime
            return datetime(per_unit, *args, **kwargs)  # type: ignore[return-value]
        if not per_unit:
            raise ValueError("UnitSince needs at least one unit with a cursor")
        earliest = min(per_unit.values())
        obj = super().__new__(
            cls, earliest.year, earliest.month, earliest.day, earliest.hour, earliest.minute,
            earliest.second, earliest.microsecond, earliest.tzinfo,
        )
        obj.per_unit = dict(per_unit)
        return obj

    def __reduce_ex__(self, protocol: Any):  # survive pickling into worker processes, per-unit values too
        return (UnitSince, (self.per_unit,))

    def __repr__(self) -> str:
        return f"UnitSince({self.per_unit!r})"


def unit_since(since: datetime | None, unit: str) -> datetime | None:
    """The `since` of one unit: its own cursor for a `UnitSince`, else `since` unchanged."""
    if isinstance(since, UnitSince):
        return since.per_unit.get(unit)
    return since


# -- conditional requests ---------------------------------------------------------------------------

def previous_manifest(landing: Path, system: str, unit: str, run_id: str) -> dict[str, Any] | None:
    """The newest manifest of the same unit from an earlier run under this landing root.

    Only the landing root matters: a page answered 304 has its records in an earlier landing
    file of the same root, which the load step loads (or has loaded) with its manifest.
    """
    folder = Path(landing) / system / "_manifests"
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob(f"*__{unit_slug(unit)}.json"), reverse=True):
        earlier_run = path.name[: -len(f"__{unit_slug(unit)}.json")]
        if earlier_run >= run_id:
            continue
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if manifest.get("unit") == unit and manifest.get("system") == system:
            return manifest
    return None


class ConditionalPages:
    """The ETags of one unit: those of its previous manifest, and those this run ends with."""

    def __init__(self, previous: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.previous = {k: dict(v) for k, v in (previous or {}).items() if isinstance(v, Mapping) and v.get("etag")}
        self.etags: dict[str, dict[str, Any]] = {}
        self.unchanged: list[dict[str, Any]] = []

    @classmethod
    def for_unit(cls, landing: Path, system: str, unit: str, run_id: str) -> "ConditionalPages":
        manifest = previous_manifest(landing, system, unit, run_id) or {}
        etags = manifest.get("etags")
        return cls(etags if isinstance(etags, Mapping) else None)

    @staticmethod
    def key(url: Any) -> str:
        return strip_userinfo(str(url))

    def etag_for(self, url: Any) -> str | None:
        entry = self.previous.get(self.key(url))
        return entry["etag"] if entry else None

    def remember(self, stream: str, url: Any, etag: str | None, records: int, next_url: Any) -> None:
        if etag:
            self.etags[self.key(url)] = {
                "stream": stream, "etag": etag, "records": records,
                "next": self.key(next_url) if next_url is not None else None,
            }

    def not_modified(self, stream: str, url: Any) -> str | None:
        """Record a 304 for `url`; returns the next URL the unchanged page pointed to."""
        key = self.key(url)
        entry = self.previous[key]
        self.etags[key] = entry
        self.unchanged.append({"stream": stream, "url": key, "etag": entry["etag"],
                               "records": entry.get("records")})
        return entry.get("next")


# -- credentials from Prefect Secret blocks ------------------------------------------------------------

def secret_block_value(name: str) -> str:
    """The value of the Prefect `Secret` block `name` (Prefect imported only when one is configured)."""
    from prefect.blocks.system import Secret

    value = Secret.load(name).get()
    if not isinstance(value, str):
        value = str(value) if value is not None else ""
    return value
