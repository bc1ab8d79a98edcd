"""DuckDB schema: append-only raw tables, run records and result tables.

Raw evidence is never updated or deleted (DESIGN rule 1): tables here are created with
`create ... if not exists` and only ever appended to (the one exception, removal after the
retention period, is warehouse/retention.py and is itself recorded in raw._run_records).
Everything computed lives in views (staging) or tables rebuilt per evaluation run
(intermediate, results keyed by run_id).
"""
from __future__ import annotations

import os

import duckdb

from extractors.registry import ALL_STREAMS, raw_table_name
from warehouse.results_store import RUN_RESULTS_MACRO

RAW_COLUMNS = """
    _record_id    VARCHAR NOT NULL,   -- sha256 of the payload text as stored
    _run_id       VARCHAR NOT NULL,
    _landing_file VARCHAR NOT NULL,
    _line_no      BIGINT  NOT NULL,
    _extracted_at TIMESTAMPTZ NOT NULL,
    _source_url   VARCHAR,
    _context      JSON,
    _payload      JSON    NOT NULL
"""

# Shared vocabulary of every scanner's staging view: one severity scale, one SARIF level each;
# run_results(run_id): every control result of a run, however it is stored (warehouse/results_store.py).
MACROS = [
    """create or replace macro normalized_severity(word) as
        case lower(trim(word))
            when 'critical' then 'critical' when 'high' then 'high' when 'medium' then 'medium'
            when 'moderate' then 'medium' when 'low' then 'low' else 'none'
        end""",
    """create or replace macro severity_level(severity) as
        case severity
            when 'critical' then 'error' when 'high' then 'error' when 'medium' then 'warning'
            when 'low' then 'note' else 'none'
        end""",
    RUN_RESULTS_MACRO,
]

DDL = [
    "create schema if not exists raw",
    """create table if not exists raw._manifests (
        manifest_path VARCHAR NOT NULL, manifest_sha256 VARCHAR NOT NULL, system VARCHAR NOT NULL,
        unit VARCHAR, run_id VARCHAR NOT NULL, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
        base_url VARCHAR, files JSON, count_records BIGINT, count_quarantined BIGINT,
        cursors JSON, loaded_at TIMESTAMPTZ NOT NULL)""",
    """create table if not exists raw.quarantine (
        _run_id VARCHAR NOT NULL, system VARCHAR NOT NULL, stream VARCHAR NOT NULL,
        source VARCHAR, locator VARCHAR, reason VARCHAR NOT NULL, raw VARCHAR,
        _loaded_at TIMESTAMPTZ NOT NULL)""",
    """create table if not exists control_catalog (
        control_id VARCHAR PRIMARY KEY, slug VARCHAR, title VARCHAR, clause VARCHAR,
        severity VARCHAR, subject_type VARCHAR, description VARCHAR)""",
    """create table if not exists evaluation_runs (
        run_id VARCHAR PRIMARY KEY, period VARCHAR NOT NULL, started_at TIMESTAMPTZ,
        finished_at TIMESTAMPTZ, config_hash VARCHAR, count_changes BIGINT, count_results BIGINT)""",
    # every run is kept, most by reference to an earlier one (warehouse/results_store.py): read a
    # run with run_results(run_id). Texts in ZSTD, written faster than DuckDB's default
    # dictionary/FSST and a third smaller (a warehouse created before keeps its own: tables are
    # never rewritten on upgrade)
    """create table if not exists control_results (
        run_id VARCHAR NOT NULL, period VARCHAR NOT NULL, control_id VARCHAR NOT NULL,
        subject_type VARCHAR NOT NULL, subject_id VARCHAR NOT NULL, status VARCHAR NOT NULL,
        reason VARCHAR USING COMPRESSION zstd, evidence JSON USING COMPRESSION zstd,
        evaluated_at TIMESTAMPTZ NOT NULL)""",
    """create table if not exists change_outcomes (
        run_id VARCHAR NOT NULL, period VARCHAR NOT NULL, change_id VARCHAR NOT NULL,
        repo VARCHAR, service VARCHAR, team VARCHAR, deployment_id VARCHAR, deployment_url VARCHAR,
        sha VARCHAR, deployed_at TIMESTAMPTZ, deployer_login VARCHAR, deployer_person_id VARCHAR,
        category VARCHAR, ticket_number VARCHAR, ticket_url VARCHAR, is_emergency BOOLEAN,
        is_rollback BOOLEAN, is_baseline BOOLEAN, outcome VARCHAR NOT NULL,
        failed_controls VARCHAR[], reasons VARCHAR[])""",
    # the exceptions register (warehouse/exceptions.py): every load of the file, append-only;
    # the effective register is the latest load; result_exceptions = what each run applied
    "alter table change_outcomes add column if not exists exception_ids VARCHAR[]",
    """create table if not exists exceptions_loads (
        load_id VARCHAR PRIMARY KEY, loaded_at TIMESTAMPTZ NOT NULL, source_path VARCHAR,
        file_sha256 VARCHAR NOT NULL, count_entries BIGINT)""",
    """create table if not exists exceptions_register (
        load_id VARCHAR NOT NULL, loaded_at TIMESTAMPTZ NOT NULL, file_sha256 VARCHAR NOT NULL,
        entry_no INTEGER, exception_id VARCHAR NOT NULL, control_id VARCHAR NOT NULL,
        subject_id VARCHAR, scope VARCHAR, valid_from TIMESTAMPTZ, justification VARCHAR NOT NULL,
        approver VARCHAR, approved_at TIMESTAMPTZ, expires_at TIMESTAMPTZ NOT NULL, ticket VARCHAR)""",
    """create table if not exists result_exceptions (
        run_id VARCHAR NOT NULL, control_id VARCHAR NOT NULL, subject_id VARCHAR NOT NULL,
        exception_id VARCHAR NOT NULL, justification VARCHAR, approver VARCHAR,
        expires_at TIMESTAMPTZ, file_sha256 VARCHAR)""",
    # A re-evaluation of a sealed period is a new run: its version and the sealed run it supersedes.
    "alter table evaluation_runs add column if not exists version INTEGER",
    # Runs stored by reference (warehouse/results_store.py): the run stored in full whose rows this
    # run keeps unless it stores its own or removes them; read any run with run_results(run_id).
    "alter table evaluation_runs add column if not exists evaluated_at TIMESTAMPTZ",
    "alter table evaluation_runs add column if not exists results_base VARCHAR",
    """create table if not exists control_result_removals (
        run_id VARCHAR NOT NULL, control_id VARCHAR NOT NULL, subject_type VARCHAR NOT NULL,
        subject_id VARCHAR NOT NULL)""",
    "alter table evaluation_runs add column if not exists supersedes VARCHAR",
    # Sealed quarters (warehouse/sealing.py): append-only, one row per sealed period.
    """create table if not exists sealed_periods (
        period VARCHAR NOT NULL, run_id VARCHAR NOT NULL, sealed_at TIMESTAMPTZ NOT NULL,
        sealed_by VARCHAR NOT NULL, forced BOOLEAN NOT NULL, config_hash VARCHAR,
        results_sha256 VARCHAR NOT NULL, result_hashes JSON, count_results BIGINT,
        count_outcomes BIGINT, evidence JSON, evidence_sha256 VARCHAR NOT NULL)""",
    # Run records (warehouse/integrity.py): each load, report rendering and retention removal,
    # chained by hash (record_sha256 covers prev_sha256); `changetrail verify` walks the chain.
    """create table if not exists raw._run_records (
        seq BIGINT NOT NULL, kind VARCHAR NOT NULL, recorded_at VARCHAR NOT NULL, detail VARCHAR NOT NULL,
        prev_sha256 VARCHAR, record_sha256 VARCHAR NOT NULL)""",
]


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table the warehouse needs; safe to call on an existing warehouse."""
    for statement in DDL + MACROS:
        con.execute(statement)
    create_raw_tables(con)


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """One raw table per registered stream, so staging views exist even for unused sources."""
    con.execute("create schema if not exists raw")
    for system, stream in ALL_STREAMS:
        con.execute(f"create table if not exists {raw_table_name(system, stream)} ({RAW_COLUMNS})")


def connect(path, *, memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse at `path` with its schema in place; `memory_limit`
    ("3GB") and `threads` are `[warehouse]` settings (flows.config.Warehouse.connect)."""
    private_umask()    # before connect: DuckDB creates the file, and (re)creates its .wal, with the umask
    con = duckdb.connect(str(path))
    con.execute("set TimeZone = 'UTC'")  # dates of timestamps (deadlines) are UTC dates
    configure(con, memory_limit, threads)
    create_schema(con)
    _owner_only(path)
    return con


def configure(con: duckdb.DuckDBPyConnection, memory_limit: str | None, threads: int | None) -> None:
    """DuckDB's memory limit (it spills to temporary files above it) and worker threads."""
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")  # validated "<n>GB" (flows.config.Warehouse)
    if threads:
        con.execute(f"set threads = {int(threads)}")


def private_umask() -> None:
    """Make every file this process creates from now on owner-only (adds 0o077 to the umask, never
    loosens it). DuckDB creates the write-ahead log `<warehouse>.wal` lazily, at the first write,
    deletes it at each checkpoint and creates it again at the next write, with mode 0666 minus the
    umask: a chmod after connect cannot cover it, only the umask can."""
    current = os.umask(0o077)
    os.umask(current | 0o077)


def _owner_only(path) -> None:
    """The warehouse file (and its write-ahead log) readable by its owner only (0600)."""
    if str(path) == ":memory:":
        return
    for name in (str(path), str(path) + ".wal"):
        if os.path.exists(name):
            os.chmod(name, 0o600)
