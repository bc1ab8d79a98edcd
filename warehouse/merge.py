"""Staging tables merged from the raw rows loaded since their last build (issues 6.2 and 7).

A staging model that declares how its rows are keyed is kept as a table in the `staged` schema
and exposed as the view `main.<model>`; a build after new loads parses only the raw rows appended since
the previous build (the *delta*: rowids above each raw table's watermark) and merges them in, so a
day's cost follows the day's data, not the history. Two declarations, in the model's leading
comments:

- `-- merge key: <columns>`: every output row belongs to one *document* named by the key columns
  (a PR, a review, a compare, a scanned file), and the latest extraction of a document wins. The
  model outputs `_extracted_at` (the time of the document version each row comes from; the view
  hides it) and defines a CTE `documents` (the key columns and `_extracted_at` of every document
  version it chooses among). The delta's documents that are at least as new as the stored ones
  replace them: their rows are deleted and the delta's rows inserted (a document whose newest
  version yields no rows, a PR whose labels were all removed, loses its rows).
- `-- merge: union`: the model is a set (`select distinct`) of every row ever received (commit
  -> PR associations); the delta's rows not yet present are added.

A delta equals a full rebuild when each document's versions are loaded in extraction order, which
the pipeline guarantees: every load takes all pending manifests, and runs hold the lock. The merge is
abandoned for a full rebuild when the model's SQL changed, when retention removed raw rows since
the last build, or on the first build. Quarter close always rebuilds everything, so a sealed
quarter never depends on a merge. tests/warehouse/test_staging_merge.py proves merged == rebuilt.

The output digest (warehouse/models.py) of a merged table is kept as a row count and a sum of row
hashes, updated by the rows deleted and inserted, so it costs the delta, not a table scan.

Each merge keeps the rows it removed and added in `merge_changes.<model>`, with the output digests
that log leads from and to (`model_merges.changes`). An intermediate model that declares
`-- merge key: <columns>` and `-- merge inputs: <models>` (`build_keyed`) reads those logs: it
recomputes only the keys found in them and replaces their rows, so the deployments, tickets and
approvals of three years are not re-joined every day. It rebuilds whole when anything else it
reads changed, or when a log does not lead from what it last read to what its input holds now.
For such a model `model_merges.sql_digest` holds the digest of everything but its merge inputs.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import duckdb

SCHEMA = "staged"
CHANGES = "merge_changes"     # per merged table: the rows its last merge removed or added
STATE = "model_merges"
_KEYED = re.compile(r"^--\s*merge key:\s*([a-z0-9_, ]+?)\s*$", re.M)
_INPUTS = re.compile(r"^--\s*merge inputs:\s*([a-z0-9_, ]+?)\s*$", re.M)
_UNION = re.compile(r"^--\s*merge:\s*union\s*$", re.M)
_RAW = re.compile(r"\braw\.([a-z0-9_]+)\b")
_FINAL = re.compile(r"select\s+\*\s+from\s+final\s*;?\s*$", re.I)


@dataclass(frozen=True)
class MergeSpec:
    mode: str                 # "key" or "union" (staging), "inputs" (intermediate)
    key: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()


def merge_spec(name: str, sql: str, layer: str = "staging") -> MergeSpec | None:
    """The model's merge declaration, checked; None for a model rebuilt whole."""
    keyed, union = _KEYED.search(sql), _UNION.search(sql)
    if not keyed and not union:
        return None
    where = f"{layer}/{name}.sql"
    if layer != "staging":
        inputs = _INPUTS.search(sql)
        if union or not inputs:
            raise ValueError(f"{where}: an intermediate model merges by `merge key` and `merge inputs`")
        return MergeSpec("inputs", _names(keyed.group(1)), _names(inputs.group(1)))
    if not _FINAL.search(sql):
        raise ValueError(f"{where}: a merged model must end with `select * from final`")
    if union:
        return MergeSpec("union")
    if not re.search(r"\bdocuments\s+as\s*\(", sql):
        raise ValueError(f"{where}: `merge key` needs a CTE `documents` (key columns, _extracted_at)")
    return MergeSpec("key", _names(keyed.group(1)))


def _names(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def view_sql(name: str, spec: MergeSpec, source: str | None = None) -> str:
    """What `main.<name>` selects: the stored rows (or `source`, a query) without `_extracted_at`."""
    relation = f"{SCHEMA}.{name}" if source is None else f"({source})"
    return f"select * exclude (_extracted_at) from {relation}" if spec.mode == "key" else f"select * from {relation}"


def sql_digest(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def state_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"create schema if not exists {CHANGES}")
    con.execute(f"create table if not exists {STATE} (name VARCHAR PRIMARY KEY, sql_digest VARCHAR,"
                " watermarks JSON, retentions BIGINT, row_count BIGINT, hash_sum HUGEINT)")
    # `changes`: {"from", "to"} output digests the change log leads between; `inputs`: the input
    # digests an intermediate merge last read (both added after the first version)
    con.execute(f"alter table {STATE} add column if not exists changes JSON")
    con.execute(f"alter table {STATE} add column if not exists inputs JSON")


def _retentions(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select count(*) from raw._run_records where kind = 'retention'").fetchone()[0]


def _watermarks(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    """raw table -> its last rowid: what a build has read. Raw tables are append-only but for
    retention, which forces a full rebuild, so between two builds their rowids only grow."""
    return {t: con.execute(f"select coalesce(max(rowid), -1) from raw.{t}").fetchone()[0]
            for t in sorted(set(_RAW.findall(sql)))}


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> str:
    return con.execute("select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position)"
                       " from information_schema.columns where table_schema = 'main' and table_name = ?",
                       [name]).fetchone()[0]


def digest_of(con: duckdb.DuckDBPyConnection, name: str, rows: int, hash_sum) -> str:
    """The output digest of warehouse/models._fingerprint, from a maintained count and hash sum."""
    return hashlib.sha256(f"{_columns(con, name)}|{rows}|{hash_sum}".encode()).hexdigest()


def _sums(con: duckdb.DuckDBPyConnection, query: str) -> tuple[int, int]:
    rows, total = con.execute(f"select count(*), coalesce(sum(hash(t)), 0) from ({query}) as t").fetchone()
    return int(rows), int(total)


def build_full(con: duckdb.DuckDBPyConnection, name: str, sql: str, spec: MergeSpec) -> str:
    """Every raw row: the stored table, its view and its merge state (inside the caller's transaction)."""
    state_table(con)
    marks, retentions = _watermarks(con, sql), _retentions(con)
    con.execute(f"create or replace table {SCHEMA}.{name} as {sql}")
    con.execute(f"create or replace view {name} as {view_sql(name, spec)}")
    rows, total = _sums(con, f"select * from {name}")
    con.execute(f"drop table if exists {CHANGES}.{name}")   # no change log: what reads it rebuilds whole
    con.execute(f"insert or replace into {STATE} (name, sql_digest, watermarks, retentions, row_count, hash_sum,"
                " changes, inputs) values (?, ?, ?, ?, ?, ?, null, null)",
                [name, sql_digest(sql), json.dumps(marks), retentions, rows, total])
    return digest_of(con, name, rows, total)


def can_merge(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> bool:
    """Whether the stored table can take a delta: built before with this SQL, nothing removed since."""
    state_table(con)
    row = con.execute(f"select sql_digest, retentions from {STATE} where name = ?", [name]).fetchone()
    return bool(row and _exists(con, SCHEMA, name) and row[0] == sql_digest(sql) and row[1] == _retentions(con))


def _exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                            [schema, name]).fetchone()[0])


def build_delta(con: duckdb.DuckDBPyConnection, name: str, sql: str, spec: MergeSpec) -> str:
    """Merge the raw rows loaded since the last build (inside the caller's transaction)."""
    before, rows, total = con.execute(
        f"select watermarks, row_count, hash_sum from {STATE} where name = ?", [name]).fetchone()
    before = json.loads(before or "{}")
    previous = digest_of(con, name, rows, total)
    marks, retentions = _watermarks(con, sql), _retentions(con)
    delta = _RAW.sub(lambda m: f"(select * from raw.{m.group(1)} where rowid > {int(before.get(m.group(1), -1))})"
                               f" as {m.group(1)}", sql)
    con.execute(f"create or replace temp table _delta_rows as {delta}")
    if spec.mode == "union":
        con.execute("create or replace temp table _delta_new as select distinct * from _delta_rows"
                    f" except select * from {SCHEMA}.{name}")
        added = _sums(con, "select * from _delta_new")
        con.execute(f"create or replace table {CHANGES}.{name} as select * from _delta_new")
        con.execute(f"insert into {SCHEMA}.{name} select * from _delta_new")
        removed = (0, 0)
    else:
        key = spec.key
        cols = ", ".join(key)
        documents = _FINAL.sub(f"select {cols}, max(_extracted_at) as _extracted_at from documents group by all", delta)
        con.execute(f"create or replace temp table _delta_documents as {documents}")
        con.execute(
            f"create or replace temp table _delta_winners as select d.* from _delta_documents as d"
            f" left join (select {cols}, max(_extracted_at) as _extracted_at from {SCHEMA}.{name} as s"
            f"            semi join _delta_documents as d on {_on(key, 's', 'd')} group by all) as e"
            f" on {_on(key, 'd', 'e')} where e._extracted_at is null or d._extracted_at >= e._extracted_at")
        con.execute(f"create or replace table {CHANGES}.{name} as select * exclude (_extracted_at)"
                    f" from {SCHEMA}.{name} as s semi join _delta_winners as w on {_on(key, 's', 'w')}")
        removed = _sums(con, f"select * from {CHANGES}.{name}")
        con.execute(f"delete from {SCHEMA}.{name} as s using _delta_winners as w where {_on(key, 's', 'w')}")
        con.execute("create or replace temp table _delta_new as select r.* from _delta_rows as r"
                    f" semi join _delta_winners as w on {_on(key, 'r', 'w')}")
        added = _sums(con, "select * exclude (_extracted_at) from _delta_new")
        con.execute(f"insert into {CHANGES}.{name} select * exclude (_extracted_at) from _delta_new")
        con.execute(f"insert into {SCHEMA}.{name} select * from _delta_new")
    rows, total = rows - removed[0] + added[0], int(total) - removed[1] + added[1]
    digest = digest_of(con, name, rows, total)
    con.execute(f"update {STATE} set watermarks = ?, retentions = ?, row_count = ?, hash_sum = ?, changes = ?"
                " where name = ?", [json.dumps(marks), retentions, rows, total,
                                    json.dumps({"from": previous, "to": digest}), name])
    for temp in ("_delta_rows", "_delta_new", "_delta_documents", "_delta_winners"):
        con.execute(f"drop table if exists {temp}")
    return digest


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _on(key: tuple[str, ...], a: str, b: str) -> str:
    return " and ".join(f"{a}.{k} is not distinct from {b}.{k}" for k in key)


# intermediate models merged by key ---------------------------------------------------------------

def build_keyed(con: duckdb.DuckDBPyConnection, name: str, sql: str, spec: MergeSpec,
                sources: dict[str, list[tuple[str, str | None]]], outputs: dict[str, str], fixed: str,
                reuse: bool) -> str:
    """An intermediate model declaring `merge key` and `merge inputs`: recompute only the keys whose
    input rows the inputs' last merges removed or added (inside the caller's transaction).

    The declaration is a promise the SQL keeps: every output row carries the key of the input rows
    it comes from, and a key's rows depend only on the merge inputs' rows with that key and on the
    model's other inputs. `sources` names, per merge input, the models it reads rows from (an
    entity union: its staging models with their system, the union's `source_system`); `fixed` is
    the digest of everything else the model reads. The model is rebuilt whole on the first build,
    without `reuse`, when `fixed` changed, or when a source changed without a change log leading
    from the digest this model last read to the current one (a full rebuild, two merges since, a
    model that is not merged)."""
    state_table(con)
    current = {src: outputs[src] for merge_input in spec.inputs for src, _ in sources[merge_input]}
    row = con.execute(f"select sql_digest, inputs, row_count, hash_sum from {STATE} where name = ?",
                      [name]).fetchone()
    changed = (_changed_sources(con, spec, sources, json.loads(row[1] or "{}"), current)
               if reuse and row and row[0] == fixed and _exists(con, "main", name) else None)
    if changed is None:
        con.execute(f"create or replace table {name} as {sql}")
        rows, total = _sums(con, f"select * from {name}")
        con.execute(f"drop table if exists {CHANGES}.{name}")
        con.execute(f"insert or replace into {STATE} (name, sql_digest, watermarks, retentions, row_count, hash_sum,"
                    " changes, inputs) values (?, ?, null, null, ?, ?, null, ?)",
                    [name, fixed, rows, total, json.dumps(current)])
        return digest_of(con, name, rows, total)
    rows, total = row[2], int(row[3])
    previous = digest_of(con, name, rows, total)
    key = spec.key
    cols = ", ".join(key)
    # an entity union's rows carry their system as `source_system`, as the union view adds it
    parts = [f"select {_literal(system) + ' as source_system, ' if system else ''}* from {CHANGES}.{src}"
             for src, system in changed] or [f"select {cols} from {name} where false"]
    union = " union all by name ".join(parts)
    con.execute(f"create or replace temp table _merge_keys as select distinct {cols} from ({union})")
    inputs = re.compile(r"\b(" + "|".join(map(re.escape, spec.inputs)) + r")\b")
    keyed_sql = inputs.sub(lambda m: f"(select * from {m.group(1)} as _i semi join _merge_keys as _k"
                                     f" on {_on(key, '_i', '_k')})", re.sub(r"--[^\n]*", "", sql))
    con.execute(f"create or replace table {CHANGES}.{name} as select * from {name} as s"
                f" semi join _merge_keys as k on {_on(key, 's', 'k')}")
    removed = _sums(con, f"select * from {CHANGES}.{name}")
    con.execute(f"delete from {name} as s using _merge_keys as k where {_on(key, 's', 'k')}")
    con.execute(f"create or replace temp table _keyed_new as {keyed_sql}")
    added = _sums(con, "select * from _keyed_new")
    con.execute(f"insert into {CHANGES}.{name} select * from _keyed_new")
    con.execute(f"insert into {name} select * from _keyed_new")
    rows, total = rows - removed[0] + added[0], total - removed[1] + added[1]
    digest = digest_of(con, name, rows, total)
    con.execute(f"update {STATE} set row_count = ?, hash_sum = ?, inputs = ?, changes = ? where name = ?",
                [rows, total, json.dumps(current), json.dumps({"from": previous, "to": digest}), name])
    for temp in ("_merge_keys", "_keyed_new"):
        con.execute(f"drop table if exists {temp}")
    return digest


def _changed_sources(con: duckdb.DuckDBPyConnection, spec: MergeSpec, sources: dict[str, list[tuple[str, str | None]]],
                     seen: dict[str, str], current: dict[str, str]) -> list[tuple[str, str | None]] | None:
    """The sources whose change logs lead from what the model last read to what they hold now;
    None when one changed otherwise (or the set of sources is not the one last read)."""
    if set(seen) != set(current):
        return None
    changed = []
    for merge_input in spec.inputs:
        for src, system in sources[merge_input]:
            if seen[src] == current[src]:
                continue
            log = con.execute(f"select changes from {STATE} where name = ?", [src]).fetchone()
            log = json.loads(log[0]) if log and log[0] else {}
            if not _exists(con, CHANGES, src) or log.get("from") != seen[src] or log.get("to") != current[src]:
                return None
            changed.append((src, system))
    return changed
