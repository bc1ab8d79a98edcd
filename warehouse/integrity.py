"""Tamper evidence: a hash-chained record of every load, report rendering and retention removal.

Each record in `raw._run_records` holds a canonical JSON `detail` and `record_sha256` =
sha256(seq, kind, recorded_at, detail, prev_sha256), so changing or deleting a record breaks the
chain. A **load** record lists the manifests loaded (path, SHA-256), their landing files (SHA-256,
record count) and, per landing file, a hash over the raw rows it produced; a **reports** record
lists report files and their SHA-256; a **retention** record lists what `changetrail retention`
removed. `verify_warehouse` recomputes all of it and names every changed, missing or extra
record, row, landing file, manifest or report.

A warehouse created before run records existed is adopted on its next load: one `adopt` record
hashes what is already there (tampering before that moment cannot be detected). Adoption happens
once: the first record of a chain is also written to `raw._run_chain` (the chain's genesis) and,
when the load knows its landing folder, to `<landing>/_run_chain.json`. A warehouse whose run
records were deleted therefore still says it had a chain: `verify` reports "run records deleted"
and `load` refuses to adopt it again (`ChainDeleted`), instead of silently starting a new chain.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import duckdb

from extractors.registry import ALL_STREAMS, raw_table_name

# One raw row as text; every column, timestamps as epoch microseconds (independent of TimeZone).
_ROW = ("concat_ws(chr(31), _record_id, _run_id, _landing_file, _line_no::varchar, "
        "epoch_us(_extracted_at)::varchar, coalesce(_source_url, chr(0)), coalesce(_context::varchar, chr(0)), "
        "_payload::varchar)")
# Row hash scheme 2 (loads from 2026-11-28 on, `"row_hash": 2` per file in the run record): the payload
# enters through _record_id, its SHA-256 (load.py), instead of being hashed a second time, which was
# a third of the load's CPU; verify checks every _record_id against its payload (_check_payloads).
_ROW_V2 = ("concat_ws(chr(31), _record_id, _run_id, _landing_file, _line_no::varchar, "
           "epoch_us(_extracted_at)::varchar, coalesce(_source_url, chr(0)), coalesce(_context::varchar, chr(0)))")
ROW_HASH_SCHEME = 2
_ROW_SCHEMES = {1: _ROW, 2: _ROW_V2}
_QUARANTINE_ROW = ("concat_ws(chr(31), _run_id, system, stream, coalesce(source, chr(0)), coalesce(locator, chr(0)), "
                   "reason, coalesce(raw, chr(0)), epoch_us(_loaded_at)::varchar)")
_EMPTY = hashlib.sha256(b"").hexdigest()


def _canonical(detail: dict) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(seq: int, kind: str, recorded_at: str, detail: str, prev: str | None) -> str:
    text = "\n".join([str(seq), kind, recorded_at, detail, prev or ""])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def raw_tables() -> list[tuple[str, str]]:
    """(`system/stream`, raw table) of every registered stream."""
    return [(f"{system}/{stream}", raw_table_name(system, stream)) for system, stream in ALL_STREAMS]


CHAIN_TABLE = "raw._run_chain"        # the genesis of the run-record chain: it existed, and began so
CHAIN_FILE = "_run_chain.json"         # the same, beside the landing files (outside the warehouse)


class ChainDeleted(RuntimeError):
    """The warehouse had a run-record chain and it is gone: never adopted again silently."""


def append_record(con: duckdb.DuckDBPyConnection, kind: str, detail: dict) -> str:
    """Append one chained record (inside the caller's transaction, if any); returns its hash."""
    head = con.execute("select seq, record_sha256 from raw._run_records order by seq desc limit 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (0, None)
    recorded_at = datetime.now(timezone.utc).isoformat()
    text = _canonical(detail)
    digest = record_hash(seq, kind, recorded_at, text, prev)
    con.execute("insert into raw._run_records values (?, ?, ?, ?, ?, ?)", [seq, kind, recorded_at, text, prev, digest])
    if seq == 0:
        _ensure_chain_table(con)
        con.execute(f"insert into {CHAIN_TABLE} values (?, ?, ?)", [kind, recorded_at, digest])
    return digest


def _ensure_chain_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create table if not exists {CHAIN_TABLE} ("
                "kind VARCHAR NOT NULL, recorded_at VARCHAR NOT NULL, record_sha256 VARCHAR NOT NULL)")


def chain_genesis(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str] | None:
    """(kind, recorded_at, record_sha256) of the chain's first record as remembered, or None."""
    exists = con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                         "and table_name = '_run_chain'").fetchone()[0]
    if not exists:
        return None
    return con.execute(f"select kind, recorded_at, record_sha256 from {CHAIN_TABLE} order by recorded_at limit 1").fetchone()


def warehouse_key(con: duckdb.DuckDBPyConnection) -> str | None:
    """The warehouse file's absolute path (what the landing-side genesis is kept under); None in memory."""
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    return str(Path(row[0]).resolve()) if row and row[0] else None


def _read_chain_file(landing: Path) -> dict | None:
    path = Path(landing) / CHAIN_FILE
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"unreadable": str(path)}
    if not isinstance(body, dict) or not isinstance(body.get("chains"), dict):
        return {"unreadable": str(path)}
    return body


def landing_genesis(landing: Path | None, warehouse: str | None) -> dict | None:
    """The genesis of `warehouse`'s chain remembered in `<landing>/_run_chain.json`, or None.
    Keyed by the warehouse file: another warehouse (a test's, an in-memory one) may load the same
    landing folder into a chain of its own."""
    if landing is None or warehouse is None:
        return None
    body = _read_chain_file(landing)
    if body is None or "unreadable" in body:
        return body
    entry = body["chains"].get(warehouse)
    return entry if isinstance(entry, dict) else None


def _write_landing_genesis(landing: Path, warehouse: str, genesis: tuple[str, str, str]) -> None:
    from extractors.core.landing import private_dirs, private_open

    landing = Path(landing)
    private_dirs(landing, landing)
    body = _read_chain_file(landing)
    if body is None or "unreadable" in body:
        body = {"chains": {}}
    body["chains"][warehouse] = {"kind": genesis[0], "recorded_at": genesis[1], "record_sha256": genesis[2]}
    path, tmp = landing / CHAIN_FILE, landing / f".{CHAIN_FILE}.tmp"
    with private_open(tmp) as fh:
        fh.write((json.dumps(body, indent=1, sort_keys=True) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _deleted(where: str, genesis_kind: str, genesis_at: str) -> str:
    return (f"raw._run_records: run records deleted - the table is empty, but {where} says its chain "
            f"began with a {genesis_kind} record at {genesis_at}")


def file_rows(con: duckdb.DuckDBPyConnection, table: str, files: Iterable[str] | None = None,
              scheme: int = ROW_HASH_SCHEME, exclude: Iterable[str] = (),
              after_rowid: int | None = None) -> dict[str, tuple[int, str]]:
    """Landing file -> (raw rows, hash over those rows in line order, by row hash `scheme`), for
    `files` or every file but `exclude`. `after_rowid`: the files' rows all lie above it (a load's
    own rows), so years of earlier rows are not scanned."""
    where, params = "", []
    if files is not None:
        where, params = "where _landing_file in (select unnest(?))", [sorted(files)]
    elif exclude:
        where, params = "where _landing_file not in (select unnest(?))", [sorted(exclude)]
    if after_rowid is not None:
        where += (" and" if where else "where") + f" rowid > {int(after_rowid)}"
    rows = con.execute(
        f"select _landing_file, count(*), sha256(string_agg(sha256({_ROW_SCHEMES[scheme]}), '' order by _line_no)) "
        f"from {table} {where} group by 1", params).fetchall()
    return {path: (count, digest) for path, count, digest in rows}


def payload_mismatches(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """Landing file -> rows whose payload no longer has the SHA-256 stored as its _record_id."""
    return dict(con.execute(f"select _landing_file, count(*) from {table} "
                            f"where _record_id <> sha256(_payload::varchar) group by 1").fetchall())


def quarantine_rows(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[int, str]]:
    """Load time (epoch microseconds) -> (quarantine rows, hash over them)."""
    rows = con.execute(
        f"select epoch_us(_loaded_at), count(*), sha256(string_agg(h, '' order by h)) "
        f"from (select _loaded_at, sha256({_QUARANTINE_ROW}) as h from raw.quarantine) group by 1").fetchall()
    return {us: (count, digest) for us, count, digest in rows}


def _manifest_entries(con: duckdb.DuckDBPyConnection, where: str, params: list,
                      after_rowid: dict[str, int] | None = None) -> list[dict]:
    """Loaded manifests (raw._manifests rows) with, per landing file, the hash of its raw rows
    (`after_rowid`: table -> the last rowid before this load, when the rows are the load's own)."""
    rows = con.execute(
        f"select manifest_path, manifest_sha256, system, unit, run_id, files::varchar, epoch_us(loaded_at) "
        f"from raw._manifests {where} order by manifest_path", params).fetchall()
    tables = dict(raw_tables())
    entries, wanted = [], {}
    for path, sha, system, unit, run_id, files, loaded_us in rows:
        listed = json.loads(files or "[]")
        for f in listed:
            wanted.setdefault(tables.get(f"{system}/{f['stream']}"), set()).add(f["path"])
        entries.append({"path": path, "sha256": sha, "system": system, "unit": unit, "run_id": run_id,
                        "loaded_at_us": loaded_us, "files": listed})
    hashed: dict[str, tuple[int, str]] = {}
    for table, paths in wanted.items():
        if table and (after_rowid is None or table in after_rowid):   # else: the load appended none
            hashed.update(file_rows(con, table, paths, scheme=ROW_HASH_SCHEME,
                                    after_rowid=(after_rowid or {}).get(table)))
    for entry in entries:
        entry["files"] = [{"path": f["path"], "stream": f["stream"], "sha256": f["sha256"],
                           "records": f.get("records", 0), "rows": hashed.get(f["path"], (0, _EMPTY))[0],
                           "rows_sha256": hashed.get(f["path"], (0, _EMPTY))[1], "row_hash": ROW_HASH_SCHEME}
                          for f in entry["files"]]
    return entries


def _load_detail(con: duckdb.DuckDBPyConnection, entries: list[dict]) -> dict:
    counts: dict[str, int] = {}
    for entry in entries:
        for f in entry["files"]:
            key = f"{entry['system']}/{f['stream']}"
            counts[key] = counts.get(key, 0) + f["rows"]
    quarantine = quarantine_rows(con)
    times = sorted({e["loaded_at_us"] for e in entries})
    return {"manifests": entries, "counts": counts,
            "quarantine": {str(us): list(quarantine[us]) for us in times if us in quarantine}}


def record_load(con: duckdb.DuckDBPyConnection, loaded_at: datetime, after_rowid: dict[str, int] | None = None) -> str:
    """The run record of the load that just inserted manifests with this `loaded_at` (same
    transaction); `after_rowid`: table -> its last rowid before the load's rows were appended."""
    entries = _manifest_entries(con, "where loaded_at = ?", [loaded_at], after_rowid)
    return append_record(con, "load", _load_detail(con, entries))


def adopt_unrecorded(con: duckdb.DuckDBPyConnection, landing: Path | None = None) -> str | None:
    """On a warehouse from before run records: one `adopt` record of everything already loaded.

    Refuses (`ChainDeleted`) when the warehouse or the landing folder remembers a chain that is no
    longer there. On a warehouse with a chain, makes sure its genesis is remembered in both places
    (chains begun before the genesis was kept get it on their next load)."""
    first = con.execute("select kind, recorded_at, record_sha256 from raw._run_records where seq = 0").fetchone()
    genesis = chain_genesis(con)
    key = warehouse_key(con)
    beside = landing_genesis(landing, key)
    if first is None and con.execute("select count(*) from raw._run_records").fetchone()[0]:
        raise ChainDeleted("raw._run_records: run record 0 is missing (the start of the chain was deleted); "
                           "refusing to load - run `changetrail verify`")
    if first is None:
        if genesis is not None:
            raise ChainDeleted(_deleted(CHAIN_TABLE, genesis[0], genesis[1]) + "; refusing to adopt the "
                               "warehouse again - restore raw._run_records from a backup (see README, Operations)")
        if beside is not None and "unreadable" in beside:
            raise ChainDeleted(f"{beside['unreadable']}: unreadable, so whether raw._run_records held a chain "
                               "cannot be told; refusing to adopt the warehouse - restore the file from a backup")
        if beside is not None:
            raise ChainDeleted(_deleted(str(Path(landing) / CHAIN_FILE), beside.get("kind", "?"),
                                        beside.get("recorded_at", "?")) + "; refusing to adopt the warehouse "
                               "again - restore raw._run_records from a backup (see README, Operations)")
        if not con.execute("select count(*) from raw._manifests").fetchone()[0]:
            return None
        digest = append_record(con, "adopt", _load_detail(con, _manifest_entries(con, "", [])))
        remember_genesis(con, landing)
        return digest
    remember_genesis(con, landing)
    return None


def remember_genesis(con: duckdb.DuckDBPyConnection, landing: Path | None) -> None:
    """Make sure the chain's first record is remembered in `raw._run_chain` and, with `landing`,
    in `<landing>/_run_chain.json` (a chain begun before they existed gets them now)."""
    first = con.execute("select kind, recorded_at, record_sha256 from raw._run_records where seq = 0").fetchone()
    if first is None:
        return
    if chain_genesis(con) is None:
        _ensure_chain_table(con)
        con.execute(f"insert into {CHAIN_TABLE} values (?, ?, ?)", list(first))
    key = warehouse_key(con)
    if landing is not None and key is not None and landing_genesis(landing, key) is None:
        _write_landing_genesis(landing, key, first)


def record_reports(con: duckdb.DuckDBPyConnection, paths: Iterable[Path], root: Path | None = None) -> str | None:
    """Hash report files into a chained record (`verify` then detects a changed byte in them).
    Paths under `root` (the config's reports.out) are stored relative to it."""
    from warehouse.load import file_sha256

    files = []
    listed = [Path(p) for p in paths]
    for path in sorted({f for p in listed for f in ([p] if p.is_file() else p.rglob("*") if p.is_dir() else [])
                        if f.is_file()}):
        name = str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else str(path)
        files.append({"path": name, "sha256": file_sha256(path), "bytes": path.stat().st_size})
    if not files:
        return None
    return append_record(con, "reports", {"files": sorted(files, key=lambda f: f["path"])})


def read_records(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select seq, kind, recorded_at, detail, prev_sha256, record_sha256 "
                        "from raw._run_records order by seq").fetchall()


def verify_warehouse(config) -> list[str]:
    """Every problem found (empty = verified): the run chain, the raw rows, the loaded manifests,
    the landing files and the recorded reports, each against the chain."""
    path = Path(config.warehouse.path)
    if not path.exists():
        return [f"{path}: no warehouse here"]
    con = duckdb.connect(str(path), read_only=True)
    try:
        exists = con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                             "and table_name = '_run_records'").fetchone()[0]
        landing = Path(config.warehouse.landing)
        beside = landing_genesis(landing, str(path.resolve()))
        problems = _check_genesis(con if exists else None, chain_genesis(con), beside, landing)
        if not exists:
            return problems or [f"{path}: no run records (a warehouse from before run records: run `changetrail load` once)"]
        expected = Expected.from_chain(read_records(con), problems)
        problems += _check_rows(con, expected)
        problems += _check_landing(Path(config.warehouse.landing), expected)
        problems += _check_reports(Path(config.reports.out), expected)
        return problems
    finally:
        con.close()


def _check_genesis(con: duckdb.DuckDBPyConnection | None, genesis: tuple | None, beside: dict | None,
                   landing: Path) -> list[str]:
    """The chain's first record against the genesis the warehouse and the landing folder remember."""
    first = con.execute("select kind, recorded_at, record_sha256 from raw._run_records where seq = 0").fetchone() if con else None
    problems = []
    if beside is not None and "unreadable" in beside:
        problems.append(f"{beside['unreadable']}: unreadable (the run-record chain's genesis)")
        beside = None
    remembered = [(CHAIN_TABLE, genesis)] if genesis else []
    if beside is not None:
        remembered.append((str(landing / CHAIN_FILE), (beside.get("kind"), beside.get("recorded_at"), beside.get("record_sha256"))))
    for where, (kind, recorded_at, sha) in remembered:
        if first is None:
            if con is None:
                problems.append(f"raw._run_records: run records deleted - the table is gone, but {where} says "
                                f"its chain began with a {kind} record at {recorded_at}")
            elif con.execute("select count(*) from raw._run_records").fetchone()[0] == 0:
                problems.append(_deleted(where, kind, recorded_at))
        elif tuple(first) != (kind, recorded_at, sha):
            problems.append(f"raw._run_records: run record 0 is not the record {where} says began the chain "
                            f"({kind} at {recorded_at}): the chain was replaced")
    if genesis is None and first is not None and beside is not None:
        problems.append(f"{CHAIN_TABLE}: missing (deleted?) - {landing / CHAIN_FILE} remembers the chain's genesis")
    return problems


@dataclass
class Expected:
    """What the chain says must be there."""
    manifests: dict[str, str] = field(default_factory=dict)       # manifest path -> sha256
    files: dict[str, dict] = field(default_factory=dict)          # landing file -> {sha256, rows, rows_sha256, table}
    quarantine: dict[int, tuple[int, str]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)                # manifests and files removed by retention
    reports: dict[str, str] = field(default_factory=dict)         # report path -> sha256 (latest record wins)

    @classmethod
    def from_chain(cls, records: list[tuple], problems: list[str]) -> "Expected":
        out, tables, prev = cls(), dict(raw_tables()), None
        for position, (seq, kind, recorded_at, detail, prev_sha, digest) in enumerate(records):
            if seq != position:
                problems.append(f"run record {position} is missing (the chain jumps to {seq}): deleted?")
            if prev_sha != prev:
                problems.append(f"run record {seq} ({kind}, {recorded_at}): broken link to the previous record")
            if record_hash(seq, kind, recorded_at, detail, prev_sha) != digest:
                problems.append(f"run record {seq} ({kind}, {recorded_at}): changed since it was written")
            prev = digest
            try:
                body = json.loads(detail)
            except ValueError:
                continue
            if kind in ("load", "adopt"):
                for m in body.get("manifests", []):
                    out.manifests[m["path"]] = m["sha256"]
                    for f in m["files"]:
                        out.files[f["path"]] = dict(f, table=tables.get(f"{m['system']}/{f['stream']}"))
                for us, (count, sha) in body.get("quarantine", {}).items():
                    out.quarantine[int(us)] = (count, sha)
            elif kind == "retention":
                for m in body.get("manifests", []):
                    out.manifests.pop(m["path"], None)
                    out.removed.add(m["path"])
                for f in body.get("files", []):
                    out.files.pop(f["path"], None)
                    out.removed.add(f["path"])
            elif kind == "reports":
                out.reports.update({f["path"]: f["sha256"] for f in body.get("files", [])})
        return out


def _check_rows(con: duckdb.DuckDBPyConnection, expected: Expected) -> list[str]:
    problems = []
    loaded = dict(con.execute("select manifest_path, manifest_sha256 from raw._manifests").fetchall())
    for path in sorted(loaded.keys() - expected.manifests.keys()):
        problems.append(f"raw._manifests: extra row {path} (in no run record)")
    for path in sorted(expected.manifests.keys() - loaded.keys()):
        problems.append(f"raw._manifests: row {path} is missing")
    for path in sorted(loaded.keys() & expected.manifests.keys()):
        if loaded[path] != expected.manifests[path]:
            problems.append(f"raw._manifests: row {path} changed (sha256 {loaded[path]}, recorded {expected.manifests[path]})")
    for key, table in raw_tables():
        want = {p: f for p, f in expected.files.items() if f["table"] == table and f["rows"]}
        old = [p for p, f in want.items() if f.get("row_hash", 1) == 1]   # files loaded before scheme 2
        actual = file_rows(con, table, exclude=old)
        if old:
            actual.update(file_rows(con, table, old, scheme=1))
        for path, count in sorted(payload_mismatches(con, table).items()):
            problems.append(f"{table}: the payload of {count} row(s) from {path} changed (SHA-256 differs from _record_id)")
        for path in sorted(actual.keys() - want.keys()):
            problems.append(f"{table}: {actual[path][0]} extra row(s) from {path} (in no run record)")
        for path in sorted(want.keys() - actual.keys()):
            problems.append(f"{table}: the {want[path]['rows']} row(s) from {path} are missing")
        for path in sorted(want.keys() & actual.keys()):
            count, digest = actual[path]
            if count != want[path]["rows"]:
                problems.append(f"{table}: {path} has {count} row(s), the run record {want[path]['rows']}")
            elif digest != want[path]["rows_sha256"]:
                problems.append(f"{table}: a row from {path} changed (row hash differs from the run record)")
    actual_q = quarantine_rows(con)
    for us in sorted(actual_q.keys() | expected.quarantine.keys()):
        if actual_q.get(us) != expected.quarantine.get(us):
            when = datetime.fromtimestamp(us / 1e6, timezone.utc).isoformat()
            problems.append(f"raw.quarantine: rows loaded at {when} changed, missing or extra "
                            f"({actual_q.get(us, (0,))[0]} row(s), recorded {expected.quarantine.get(us, (0,))[0]})")
    return problems


def _check_landing(landing: Path, expected: Expected) -> list[str]:
    from warehouse.load import file_sha256

    problems = []
    wanted = dict(expected.manifests)
    wanted.update({p: f["sha256"] for p, f in expected.files.items()})
    for rel, sha in sorted(wanted.items()):
        path = landing / rel
        if not path.is_file():
            problems.append(f"{path}: landing file is missing")
        elif file_sha256(path) != sha:
            problems.append(f"{path}: changed since it was loaded (sha256 differs from the run record)")
    pending = _pending_files(landing, wanted.keys() | expected.removed)
    for path in sorted(p for p in landing.rglob("*") if p.is_file()) if landing.is_dir() else []:
        rel = str(path.relative_to(landing))
        if rel in expected.removed:
            problems.append(f"{path}: removed by retention but still present (re-run `changetrail retention --apply`)")
        elif (rel not in wanted and rel not in pending and rel != CHAIN_FILE and not rel.endswith(".tmp")
              and not path.name.startswith(".")):
            problems.append(f"{path}: extra landing file (in no manifest of the run chain)")
    return problems


def _pending_files(landing: Path, known: set[str]) -> set[str]:
    """Manifests extracted but not loaded yet, and the files they list: a run in progress, not tampering."""
    pending: set[str] = set()
    for manifest in landing.glob("*/_manifests/*.json") if landing.is_dir() else []:
        rel = str(manifest.relative_to(landing))
        if rel in known:
            continue
        try:
            listed = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError):
            continue
        pending.add(rel)
        pending.update(f.get("path", "") for f in listed if isinstance(f, dict))
    return pending


def _check_reports(out: Path, expected: Expected) -> list[str]:
    from warehouse.load import file_sha256

    problems = []
    for rel, sha in sorted(expected.reports.items()):
        path = out / rel
        if not path.is_file():
            problems.append(f"{path}: report is missing")
        elif file_sha256(path) != sha:
            problems.append(f"{path}: report changed since it was rendered (sha256 differs from the run record)")
    return problems
