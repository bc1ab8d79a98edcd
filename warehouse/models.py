"""Build the SQL models: staging tables over raw tables, intermediate models over staging.

Each model is one `.sql` file holding a single SELECT; its file name is the relation name.
Dependencies are read from the names a model mentions, so files can be added without
registering them anywhere.

Sources meet in *entities*: every staging view `stg_<system>__<entity>` with the entity's
columns joins the view `int_<entity>_unioned` (with a `source_system` column), and
intermediate models read only those. Adding a source (GitLab merge requests as
`stg_gitlab__pull_requests`, Jira issues as `stg_jira__change_requests`) changes no model,
control or report.
"""
from __future__ import annotations

import hashlib
import re
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from warehouse import merge

MODELS_DIR = Path(__file__).parent / "models"
LAYERS = ("staging", "intermediate")
_NAME = re.compile(r"\b((?:stg|int)_[a-z0-9_]+)\b")
_STAGING_NAME = re.compile(r"^stg_([a-z0-9_]+?)__([a-z0-9_]+)$")  # system may hold "_" (k8s_audit)


def entity_unions(staging_names: list[str]) -> dict[str, str]:
    """`int_<entity>_unioned` -> SQL: the union, by column name, of every source's view."""
    by_entity: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(staging_names):
        match = _STAGING_NAME.match(name)
        if match:
            by_entity.setdefault(match.group(2), []).append((match.group(1), name))
    return {
        f"int_{entity}_unioned": "\nunion all by name\n".join(
            f"select '{system}' as source_system, * from {view}" for system, view in sources
        )
        for entity, sources in by_entity.items()
    }


def model_files(layers: tuple[str, ...] = LAYERS) -> dict[str, tuple[str, str]]:
    """name -> (layer, SQL text) for every model in the given layers."""
    return {
        path.stem: (layer, path.read_text(encoding="utf-8"))
        for layer in layers
        for path in sorted((MODELS_DIR / layer).glob("*.sql"))
    }


def staging_sql(name: str) -> str:
    """The SELECT of staging model `name` as its view shows it (a merged model's `_extracted_at` hidden)."""
    sql = (MODELS_DIR / "staging" / f"{name}.sql").read_text(encoding="utf-8")
    spec = merge.merge_spec(name, sql)
    return merge.view_sql(name, spec, source=sql) if spec else sql


def _ordered(models: dict[str, str]) -> list[str]:
    graph = {
        name: {dep for dep in _NAME.findall(_strip_comments(sql)) if dep in models and dep != name}
        for name, sql in models.items()
    }
    return list(TopologicalSorter(graph).static_order())


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


BUILDS_TABLE = "model_builds"
_RAW = re.compile(r"\braw\.([a-z0-9_]+)\b")
_WORD = re.compile(r"\b[a-z_][a-z0-9_]*\b")
_ALL_PARAMS = re.compile(r"\b(?:eval_)?params\.\*|\bcolumns\s*\(")
PARAMETERS = "eval_params"  # one row; a model's digest covers only the columns it names


def build_models(
    con: duckdb.DuckDBPyConnection,
    layers: tuple[str, ...] = LAYERS,
    materialize: tuple[str, ...] = ("staging", "intermediate"),
    reuse: bool = False,
) -> list[str]:
    """Create the models of `layers` in dependency order; returns the names (re)built.

    Layers named in `materialize` become tables: staging once per build parses the raw JSON, the
    intermediate models that controls read many times are computed once. A staging model that
    declares a merge key (warehouse/merge.py) is kept as `staged.<name>` behind a view and, with
    `reuse`, merged from the raw rows appended since its last build instead of rebuilt. The entity unions stay
    views. With `reuse`, a model whose inputs digest (its SQL, the output digests of the models it
    reads, the state of the raw tables and the parameter values it names) equals the one recorded
    at its last build is kept as it is; without, every model is rebuilt. A table's output digest
    is a fingerprint of its rows, so a staging table rebuilt from re-sent rows that changed nothing
    leaves what reads it as it is. Each build commits together with its record in `model_builds`:
    a model is never recorded built with other content.
    """
    files = model_files(layers)
    if "intermediate" in layers:
        for name, sql in entity_unions(list(model_files(("staging",)))).items():
            files[name] = ("entities", sql)
    models = {name: sql for name, (_, sql) in files.items()}
    layer_of = {name: layer for name, (layer, _) in files.items()}
    _builds_table(con)
    existing = relations(con)
    recorded = {name: (inputs, output, kind) for name, kind, inputs, output in con.execute(
        f"select name, kind, inputs_digest, output_digest from {BUILDS_TABLE}").fetchall()}
    state = InputState(con, set(existing) - set(models))
    outputs: dict[str, str] = {}
    built = []
    for name in _ordered(models):
        kind = "table" if layer_of[name] in materialize else "view"
        spec = merge.merge_spec(name, models[name], layer_of[name]) if layer_of[name] in LAYERS else None
        if spec and kind == "table":
            # staging: staged.<name>, merged from new raw rows, a view in main; intermediate: a
            # table whose keys the inputs' merges touched are recomputed
            kind = "merged" if spec.mode != "inputs" else "keyed"
        relation = "view" if kind in ("view", "merged") else "table"
        digest = state.digest(name, kind, models[name], outputs)
        before = recorded.get(name, (None, None, None))
        if reuse and existing.get(name) == relation and before[2] == kind and before[0] == digest:
            outputs[name] = before[1]
            continue
        con.execute("begin transaction")
        try:
            if existing.get(name) not in (None, relation):
                con.execute(f"drop {existing[name]} {name}")
            if kind == "merged":
                delta = reuse and before[2] == kind and existing.get(name) == relation
                outputs[name] = (merge.build_delta if delta and merge.can_merge(con, name, models[name])
                                 else merge.build_full)(con, name, models[name], spec)
            elif kind == "keyed":
                fixed = state.digest(name, kind, models[name],
                                     {m: d for m, d in outputs.items() if m not in spec.inputs})
                outputs[name] = merge.build_keyed(
                    con, name, models[name], spec, {i: _sources(i, layer_of) for i in spec.inputs}, outputs, fixed,
                    reuse and before[2] == kind and existing.get(name) == relation)
            else:
                sql = merge.view_sql(name, spec, source=models[name]) if spec else models[name]
                if kind == "table" and layer_of[name] == "intermediate":
                    _create_derived(con, name, sql)
                else:
                    con.execute(f"create or replace {kind} {name} as {sql}")
                outputs[name] = digest if kind == "view" else _fingerprint(con, name)
            con.execute(f"insert or replace into {BUILDS_TABLE} values (?, ?, now(), ?, ?)",
                        [name, kind, digest, outputs[name]])
            con.execute("commit")
        except duckdb.Error as exc:
            con.execute("rollback")
            raise RuntimeError(f"model {layer_of[name]}/{name}.sql failed: {exc}") from exc
        existing[name] = relation
        built.append(name)
    return built


# An intermediate table holds the period's rows (commit messages, PR bodies, deployment payloads)
# and is rebuilt on most days: DuckDB's dictionary/FSST analysis of its text cost more than the
# joins that produce it. Its text columns are stored uncompressed: written about a fifth faster,
# some three times larger (tens of MB a table, freed again by the next rebuild).
DERIVED_TEXT_COMPRESSION = "uncompressed"
_TEXT_TYPES = ("VARCHAR", "JSON")


def _create_derived(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    """`create or replace table name as sql`, its text columns declared with DERIVED_TEXT_COMPRESSION."""
    columns = [row[:2] for row in con.execute(f"describe select * from ({sql})").fetchall()]
    ddl = ", ".join(f'"{column}" {data_type}'
                    + (f" using compression {DERIVED_TEXT_COMPRESSION}" if data_type in _TEXT_TYPES else "")
                    for column, data_type in columns)
    con.execute(f"create or replace table {name} ({ddl})")
    con.execute(f"insert into {name} {sql}")


def _sources(merge_input: str, layer_of: dict[str, str]) -> list[tuple[str, str | None]]:
    """The models an intermediate merge input reads rows from: an entity union's staging models
    with their system, else the input itself."""
    if layer_of.get(merge_input) != "entities":
        return [(merge_input, None)]
    entity = merge_input.removeprefix("int_").removesuffix("_unioned")
    return [(name, match.group(1)) for name in sorted(layer_of)
            if (match := _STAGING_NAME.match(name)) and match.group(2) == entity and layer_of[name] == "staging"]


def relations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """name -> 'table' / 'view' of the main schema."""
    return dict(con.execute(
        "select table_name, case table_type when 'VIEW' then 'view' else 'table' end"
        " from information_schema.tables where table_schema = 'main'").fetchall())


def _builds_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create table if not exists {BUILDS_TABLE} (name VARCHAR PRIMARY KEY, kind VARCHAR,"
                " built_at TIMESTAMPTZ, inputs_digest VARCHAR, output_digest VARCHAR)")
    con.execute(f"alter table {BUILDS_TABLE} add column if not exists output_digest VARCHAR")  # first version had none


def output_digests(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """name -> output digest of every model as last built (model_builds)."""
    _builds_table(con)
    return dict(con.execute(f"select name, output_digest from {BUILDS_TABLE}").fetchall())


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A table's columns and rows, order-free: column names and types, row count, sum of row hashes."""
    columns = con.execute("select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position)"
                          " from information_schema.columns where table_schema = 'main' and table_name = ?",
                          [table]).fetchone()[0]
    rows = con.execute(f"select count(*), sum(hash(t))::varchar from {table} as t").fetchone()
    return hashlib.sha256(f"{columns}|{rows[0]}|{rows[1]}".encode()).hexdigest()


class InputState:
    """Digests of what a model (or a control) reads: other models (their output digests), raw
    tables (append-only: row count and extraction/run bounds change with every load or retention
    purge), other tables of the main schema (parameters: their rows) and the eval_params columns
    it names (all of them when it selects `params.*`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: set[str]):
        self.con, self.tables, self._cache = con, tables - {BUILDS_TABLE}, {}
        self.param_columns = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'main'"
            " and table_name = ?", [PARAMETERS]).fetchall()}

    def digest(self, name: str, kind: str, sql: str, model_digests: dict[str, str],
               ignore_params: frozenset[str] | set[str] = frozenset()) -> str:
        text = _strip_comments(sql)
        words = set(_WORD.findall(text))
        parts = [kind, sql]
        parts += [f"{dep}={model_digests[dep]}" for dep in sorted(words & set(model_digests)) if dep != name]
        parts += [f"raw.{t}={self._cached(('raw', t), self._raw)}" for t in sorted(set(_RAW.findall(text)))]
        parts += [f"{t}={self._cached(t, self._table)}" for t in sorted(words & self.tables - {PARAMETERS})]
        if PARAMETERS in words:
            named = self.param_columns if _ALL_PARAMS.search(text) else words & self.param_columns
            parts += [f"{c}={self._cached(('param', c), self._param)}" for c in sorted(named - set(ignore_params))]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def _cached(self, key, compute) -> str:
        if key not in self._cache:
            self._cache[key] = compute(key)
        return self._cache[key]

    def _raw(self, key) -> str:
        columns = {r[0] for r in self.con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ?",
            [key[1]]).fetchall()}
        if {"_extracted_at", "_run_id"} <= columns:  # a stream's rows: append-only
            return repr(self.con.execute(
                f"select count(*), min(_extracted_at), max(_extracted_at), min(_run_id), max(_run_id)"
                f" from raw.{key[1]}").fetchone())
        return self._table(f"raw.{key[1]}")  # manifests, quarantine: small, read whole

    def _table(self, table: str) -> str:
        return repr(self.con.execute(f"select count(*), md5(string_agg(t::varchar, chr(10) order by t::varchar))"
                                     f" from {table} as t").fetchone())

    def _param(self, key) -> str:
        return repr(self.con.execute(f"select {key[1]} from {PARAMETERS}").fetchall())


def build_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every model as a view: for tests and ad-hoc exploration."""
    return build_models(con, materialize=())
