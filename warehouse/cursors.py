"""Cursors (bookmarks) of incremental extraction, read back from the loaded manifests.

A manifest's `cursors` ({stream: newest cursor value seen}) are stored in `raw._manifests` in the
same transaction as its records, so a cursor only advances with the data: a unit that failed
wrote no manifest, and a manifest that was not loaded is not read here.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from extractors.core.engine import parse_timestamp
from extractors.core.incremental import UnitSince

log = logging.getLogger(__name__)


def last_cursors(con: duckdb.DuckDBPyConnection, system: str) -> dict[tuple[str, str], Any]:
    """(unit, stream) -> cursor value of the latest loaded manifest of that unit that carries one.

    "That carries one": an incremental run that found nothing newer writes no cursor for the
    stream, and must not send the next run back to the beginning.
    """
    rows = con.execute(
        "select unit, cursors from raw._manifests where system = ? and cursors is not null "
        "order by finished_at, loaded_at, run_id",
        [system],
    ).fetchall()
    found: dict[tuple[str, str], Any] = {}
    for unit, cursors in rows:
        try:
            values = json.loads(cursors) if isinstance(cursors, str) else cursors
        except ValueError:
            continue
        for stream, value in (values or {}).items():
            if value is not None:
                found[(unit, stream)] = value
    return found


def unit_since(cursors: dict[tuple[str, str], Any], overlap_hours: float) -> dict[str, datetime]:
    """unit -> `since` (its earliest stream cursor minus the overlap window)."""
    per_unit: dict[str, datetime] = {}
    for (unit, _stream), value in cursors.items():
        at = parse_timestamp(value)
        if at is None:
            continue
        since = at - timedelta(hours=overlap_hours)
        if unit not in per_unit or since < per_unit[unit]:
            per_unit[unit] = since
    return per_unit


def since_for_source(warehouse_path: Path, system: str, overlap_hours: float) -> UnitSince | None:
    """The `since` to pass a source's extractor, or None (whole history) when nothing is loaded."""
    if not Path(warehouse_path).exists():
        return None
    try:
        con = duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.Error as exc:   # e.g. locked by a writer: extracting everything is always correct
        log.warning("%s: cannot read cursors from %s (%s); extracting the whole history",
                    system, warehouse_path, exc)
        return None
    try:
        if not con.execute("select count(*) from information_schema.tables "
                           "where table_schema = 'raw' and table_name = '_manifests'").fetchone()[0]:
            return None
        per_unit = unit_since(last_cursors(con, system), overlap_hours)
    finally:
        con.close()
    return UnitSince(per_unit) if per_unit else None
