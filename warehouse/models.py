"""Build the SQL models: staging views over raw tables, intermediate models over staging.

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

import re
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

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


def _ordered(models: dict[str, str]) -> list[str]:
    graph = {
        name: {dep for dep in _NAME.findall(_strip_comments(sql)) if dep in models and dep != name}
        for name, sql in models.items()
    }
    return list(TopologicalSorter(graph).static_order())


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def build_models(
    con: duckdb.DuckDBPyConnection,
    layers: tuple[str, ...] = LAYERS,
    materialize: tuple[str, ...] = ("intermediate",),
) -> list[str]:
    """Create the models of `layers` in dependency order; returns their names.

    Staging models are views (always current with raw). Layers named in `materialize` become
    tables, rebuilt at each evaluation: controls read them many times, so each is computed once.
    """
    files = model_files(layers)
    if "intermediate" in layers:
        for name, sql in entity_unions(list(model_files(("staging",)))).items():
            files[name] = ("entities", sql)
    models = {name: sql for name, (_, sql) in files.items()}
    layer_of = {name: layer for name, (layer, _) in files.items()}
    built = []
    for name in _ordered(models):
        kind = "table" if layer_of[name] in materialize else "view"
        existing = con.execute(
            "select table_type from information_schema.tables where table_schema = 'main' and table_name = ?",
            [name],
        ).fetchone()
        existing_kind = {"VIEW": "view", "BASE TABLE": "table"}.get(existing[0]) if existing else None
        if existing_kind and existing_kind != kind:
            con.execute(f"drop {existing_kind} {name}")
        try:
            con.execute(f"create or replace {kind} {name} as {models[name]}")
        except duckdb.Error as exc:
            raise RuntimeError(f"model {layer_of[name]}/{name}.sql failed: {exc}") from exc
        built.append(name)
    return built


def build_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every model as a view: for tests and ad-hoc exploration."""
    return build_models(con, materialize=())
