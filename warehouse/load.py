"""The one DuckDB writer: landed extraction units -> raw tables, in one transaction.

Extraction runs in parallel and only writes landing files; this step appends their records to
`raw.<system>__<stream>`, records each manifest in `raw._manifests` (with the cursors it
carries) and quarantined input in `raw.quarantine`, all in one transaction (DESIGN rule 5), so
a crash leaves either everything of a load or nothing. A manifest is loaded at most once.
Each load also appends its hash-chained run record (warehouse/integrity.py) in that transaction.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from extractors.core.faults import checkpoint
from extractors.registry import ALL_STREAMS, raw_table_name
from warehouse.integrity import ChainDeleted, adopt_unrecorded, record_load, remember_genesis


class LoadError(RuntimeError):
    """A landing file is missing, altered since extraction, or names an unknown stream."""


@dataclass
class LoadSummary:
    manifests: int = 0
    records: dict[str, int] = field(default_factory=dict)   # "system/stream" -> rows appended
    quarantined: int = 0
    skipped_manifests: int = 0                                # already loaded earlier

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (landing files can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pending_manifests(con: duckdb.DuckDBPyConnection, landing_root: Path) -> list[Path]:
    """Manifests under the landing root that have not been loaded yet, oldest first."""
    loaded = {row[0] for row in con.execute("select manifest_path from raw._manifests").fetchall()}
    found = sorted(landing_root.glob("*/_manifests/*.json"))
    return [m for m in found if str(m.relative_to(landing_root)) not in loaded]


def load_landing(con: duckdb.DuckDBPyConnection, landing_root: Path) -> LoadSummary:
    """Append every not-yet-loaded manifest's files to the raw tables, atomically."""
    landing_root = Path(landing_root)
    summary = LoadSummary()
    try:
        adopt_unrecorded(con, landing_root)  # a warehouse from before run records: hash what is there, once
    except ChainDeleted as exc:              # ...but never a warehouse whose run records were deleted
        raise LoadError(str(exc)) from None
    manifests = pending_manifests(con, landing_root)
    if not manifests:
        return summary
    known = set(ALL_STREAMS)
    loaded_at = datetime.now(timezone.utc)
    # Group files by target table so each table gets one bulk read.
    by_table: dict[str, list[tuple[Path, str]]] = {}
    rows_manifest, rows_quarantine = [], []
    for manifest_path in manifests:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise LoadError(f"{manifest_path}: unreadable manifest: {exc}") from None
        system, run_id = manifest["system"], manifest["run_id"]
        count = 0
        for entry in manifest.get("files", []):
            stream = entry["stream"]
            if (system, stream) not in known:
                raise LoadError(f"{manifest_path}: unknown stream {system}/{stream}")
            file_path = landing_root / entry["path"]
            if not file_path.exists():
                raise LoadError(f"{manifest_path}: landing file {file_path} is missing")
            actual = file_sha256(file_path)
            if actual != entry["sha256"]:
                raise LoadError(
                    f"{file_path}: sha256 {actual} does not match the manifest's {entry['sha256']}"
                    " (the file changed after extraction)"
                )
            if entry.get("records", 0):
                by_table.setdefault(raw_table_name(system, stream), []).append(
                    (file_path, run_id, int(entry["records"]), bool(entry.get("numbered"))))
                key = f"{system}/{stream}"
                summary.records[key] = summary.records.get(key, 0) + int(entry["records"])
                count += int(entry["records"])
        for q in manifest.get("quarantined", []):
            rows_quarantine.append((run_id, system, q.get("stream", "?"), q.get("source"),
                                    q.get("locator"), q.get("reason", "unparseable"),
                                    (q.get("raw") or "")[:10_000], loaded_at))
        rows_manifest.append((
            str(manifest_path.relative_to(landing_root)), file_sha256(manifest_path), system,
            manifest.get("unit"), run_id, manifest.get("started_at"), manifest.get("finished_at"),
            manifest.get("base_url"), json.dumps(manifest.get("files", [])), count,
            len(manifest.get("quarantined", [])), json.dumps(manifest.get("cursors", {})), loaded_at,
        ))
        summary.manifests += 1
    summary.quarantined = len(rows_quarantine)

    checkpoint("load.before_transaction")
    con.execute("begin transaction")
    try:
        # each table's last rowid before this load: the run record hashes only the rows above it
        before = {table: con.execute(f"select coalesce(max(rowid), -1) from {table}").fetchone()[0]
                  for table in by_table}
        for table, files in by_table.items():
            _append_files(con, table, files, landing_root, before[table])
            checkpoint("load.after_table")
        if rows_quarantine:
            con.executemany("insert into raw.quarantine values (?, ?, ?, ?, ?, ?, ?, ?)", rows_quarantine)
        checkpoint("load.after_quarantine")
        con.executemany(
            "insert into raw._manifests values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows_manifest
        )
        checkpoint("load.after_manifests")
        record_load(con, loaded_at, before)  # the chained run record: files, counts, hashes of the rows just added
        checkpoint("load.before_commit")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    checkpoint("load.after_commit")
    remember_genesis(con, landing_root)     # a new chain's first record, beside the landing files too
    return summary


def _append_files(con, table: str, files: list[tuple[Path, str, int, bool]], landing_root: Path,
                  last_rowid: int) -> None:
    """Append the gzip JSON Lines files' records; payload text hashed as stored.

    `_line_no` is the record's line in its landing file (1-based). A file whose manifest entry says
    `numbered` (LandingWriter, from 2026-11-28) closes each envelope with that line number, so its
    records are read and written in parallel. For an older file the scan numbers the records in the
    order it reads them (files in the order listed, lines in file order), and each file starts after
    the records of the files listed before it, which the manifests count; that ordered numbering
    keeps the scan on one thread. Either way the numbers are then checked against the manifests."""
    con.execute("create or replace temp table _run_map (filename VARCHAR, run_id VARCHAR, first BIGINT, records BIGINT)")
    root = str(landing_root).rstrip("/") + "/"
    columns = "{extracted_at: 'VARCHAR', source_url: 'VARCHAR', context: 'JSON', payload: 'JSON', line: 'BIGINT'}"
    for numbered in (True, False):
        paths, run_ids, firsts, counts, before = [], [], [], [], 0
        for path, run_id, records, has_lines in files:
            if has_lines == numbered:
                paths.append(str(path)); run_ids.append(run_id); firsts.append(before); counts.append(records)
                before += records
        if not paths:
            continue
        con.execute("insert into _run_map select unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::bigint[]), "
                    "unnest(?::bigint[])", [paths, run_ids, firsts, counts])       # one statement: XL has 16,000 files
        scan = f"read_json(?, format = 'newline_delimited', filename = true, columns = {columns})"
        source, line = ((scan, "coalesce(src.line, 0)") if numbered          # 0: refused below, naming the file
                        else (f"(select row_number() over () as n, * from {scan})", "src.n - m.first"))
        con.execute(
            f"""
            insert into {table}
            select sha256(src.payload::varchar), m.run_id, replace(src.filename, ?, ''), {line},
                   src.extracted_at::timestamptz, src.source_url, src.context, src.payload
            from {source} as src
            join _run_map m on m.filename = src.filename
            """,
            [root, paths],
        )
    _check_line_numbers(con, table, last_rowid, root)


def _check_line_numbers(con, table: str, last_rowid: int, root: str) -> None:
    """Every file of the load has its manifest's count of records, numbered 1..count once each:
    else a line number would point at another record (a file that does not match its manifest)."""
    wrong = con.execute(
        f"""
        select m.filename, m.records, count(t._line_no), min(t._line_no), max(t._line_no)
        from _run_map m
        left join (select _landing_file, _line_no from {table} where rowid > ?) t
               on t._landing_file = replace(m.filename, ?, '')
        group by m.filename, m.records
        having count(t._line_no) <> m.records or count(distinct t._line_no) <> m.records
            or min(t._line_no) <> 1 or max(t._line_no) <> m.records
        order by m.filename limit 1
        """, [last_rowid, root]).fetchone()
    if wrong:
        path, records, read, first, last = wrong
        raise LoadError(f"{path}: the manifest lists {records} records, the file has {read} "
                        f"numbered {first}..{last}; it does not match its manifest")
