"""Sealed quarters: freeze a period's evaluation run and the evidence it stood on (DESIGN rule 2).

`seal` appends one row to `sealed_periods`: the run sealed, who sealed it and when, the run's
config hash, a SHA-256 over the run's `run_results`, `change_outcomes` and `result_exceptions`
(the exceptions it applied) rows in a canonical order (also one per control, so `verify` can name
what changed), and the evidence manifest: every
`raw._manifests` entry loaded before the run started, with its landing files' SHA-256, and one
combined hash over that list. After sealing, findings, explain and reports read the sealed run
(`sealed_run_id`); `evaluate` refuses the period unless asked to re-evaluate, and a re-evaluation
is stored as a new run (`version`, `supersedes`) that `diff_runs` compares with the sealed one.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from warehouse.periods import parse_period
from warehouse.load import file_sha256

DEFAULT_GRACE_DAYS = 15


class SealError(RuntimeError):
    """Sealing was refused (grace period, no run, already sealed) or a seal does not verify."""


class PeriodSealed(SealError):
    """A sealed period was asked to be evaluated again without `reevaluate`."""


@dataclass(frozen=True)
class Seal:
    period: str
    run_id: str
    sealed_at: datetime
    sealed_by: str
    forced: bool
    config_hash: str | None
    results_sha256: str
    evidence_sha256: str
    count_results: int
    count_outcomes: int
    count_evidence_files: int


@dataclass
class Verification:
    period: str
    run_id: str
    problems: list[str] = field(default_factory=list)
    checked_files: int = 0
    notes: list[str] = field(default_factory=list)   # facts that do not break the seal

    @property
    def ok(self) -> bool:
        return not self.problems


# --- which run is sealed ---------------------------------------------------------------------

def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = ?", [name]).fetchone()[0])


def sealed_row(con: duckdb.DuckDBPyConnection, period: str) -> dict | None:
    """The period's seal (the first one recorded; a period is sealed once), or None."""
    if not _has_table(con, "sealed_periods"):
        return None
    cur = con.execute("select * from sealed_periods where period = ? order by sealed_at limit 1", [period])
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None


def sealed_run_id(con: duckdb.DuckDBPyConnection, period: str | None) -> str | None:
    row = sealed_row(con, period) if period else None
    return row["run_id"] if row else None


def next_version(con: duckdb.DuckDBPyConnection, period: str) -> int:
    """1 for a period's first run, then 2, 3, ... (the order runs were stored in)."""
    return con.execute("select count(*) + 1 from evaluation_runs where period = ?", [period]).fetchone()[0]


def check_not_sealed(con: duckdb.DuckDBPyConnection, period: str, reevaluate: bool) -> str | None:
    """Raise PeriodSealed for a sealed period unless `reevaluate`; returns the sealed run it supersedes."""
    seal = sealed_row(con, period)
    if seal is None:
        return None
    if not reevaluate:
        raise PeriodSealed(
            f"{period} is sealed (run {seal['run_id']}, sealed {seal['sealed_at']:%Y-%m-%d %H:%M} UTC by "
            f"{seal['sealed_by']}): its results are frozen. Pass --reevaluate to store a new, versioned "
            "run beside the sealed one (reports and findings keep reading the sealed run).")
    return seal["run_id"]


# --- hashes ----------------------------------------------------------------------------------

def _canonical(value) -> object:
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


_RESULTS_SQL = """select control_id, subject_type, subject_id, status, reason, evidence::varchar as evidence, evaluated_at
    from run_results(?) order by control_id, subject_type, subject_id, status, reason"""


def _outcomes_sql(con) -> str:
    columns = [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where table_name = 'change_outcomes' and column_name <> 'run_id'"
        " order by column_index").fetchall()]
    return f"select {', '.join(columns)} from change_outcomes where run_id = ? order by change_id"


# the exceptions the run applied (warehouse/exceptions.py): a sealed quarter's applied exceptions cannot drift
_EXCEPTIONS_SQL = """select control_id, subject_id, exception_id, justification, approver, expires_at, file_sha256
    from result_exceptions where run_id = ? order by control_id, subject_id, exception_id"""


def result_hashes(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, str]:
    """SHA-256 of the run's rows, canonical order: one per control_id, `outcomes`, `exceptions`
    (only when the run applied any, so seals of runs without exceptions keep their hash), and `all`."""
    total = hashlib.sha256()
    per: dict = {}
    for key, sql in [("control", _RESULTS_SQL), ("outcomes", _outcomes_sql(con)), ("exceptions", _EXCEPTIONS_SQL)]:
        cur = con.execute(sql, [run_id])
        names = [d[0] for d in cur.description]
        while batch := cur.fetchmany(10_000):
            for row in batch:
                # null columns are left out, so a column added later (ALTER ... ADD COLUMN) keeps old seals valid
                fields = {n: _canonical(v) for n, v in zip(names, row) if v is not None}
                line = (json.dumps([key, fields], separators=(",", ":"), sort_keys=True,
                                   default=str) + "\n").encode()
                total.update(line)
                per.setdefault(row[0] if key == "control" else key, hashlib.sha256()).update(line)
    hashes = {k: h.hexdigest() for k, h in sorted(per.items())}
    hashes["all"] = total.hexdigest()
    return hashes


def evidence_manifest(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    """The manifests loaded before the run started, and their landing files: [{path, sha256, kind}]."""
    started = con.execute("select started_at from evaluation_runs where run_id = ?", [run_id]).fetchone()[0]
    rows = con.execute(
        "select manifest_path, manifest_sha256, files from raw._manifests where loaded_at <= ? order by manifest_path",
        [started]).fetchall()
    entries = []
    for path, sha, files in rows:
        entries.append({"kind": "manifest", "path": path, "sha256": sha})
        for f in json.loads(files or "[]"):
            entries.append({"kind": "file", "path": f["path"], "sha256": f["sha256"]})
    return sorted(entries, key=lambda e: (e["path"], e["kind"]))


def combined_hash(entries: list[dict]) -> str:
    digest = hashlib.sha256()
    for e in entries:
        digest.update(f"{e['path']}\t{e['sha256']}\n".encode())
    return digest.hexdigest()



# --- seal and verify -------------------------------------------------------------------------

def sealable_from(period: str, grace_days: int) -> datetime:
    return parse_period(period).end + timedelta(days=grace_days)


def seal(con: duckdb.DuckDBPyConnection, period: str, *, grace_days: int = DEFAULT_GRACE_DAYS,
         now: datetime | None = None, by: str | None = None, force: bool = False,
         run_id: str | None = None) -> Seal:
    """Seal `period` at its latest finished run (or `run_id`); refuses inside the grace period
    unless `force` (recorded), and refuses a period already sealed."""
    name = parse_period(period).name
    now = now or datetime.now(timezone.utc)
    opens = sealable_from(name, grace_days)
    if now < opens and not force:
        raise SealError(f"{name} can be sealed from {opens:%Y-%m-%d} ({grace_days} grace days after the quarter"
                        f" ends); it is {now:%Y-%m-%d}. Late evidence may still arrive: wait, or pass --force"
                        " (recorded in the seal).")
    existing = sealed_row(con, name)
    if existing:
        raise SealError(f"{name} is already sealed (run {existing['run_id']}, {existing['sealed_at']:%Y-%m-%d}"
                        f" by {existing['sealed_by']}); re-evaluations are new runs, see `changetrail diff`")
    run = con.execute(
        "select run_id, period, config_hash from evaluation_runs where ($run is null and period = $period"
        " and finished_at is not null) or run_id = $run order by finished_at desc limit 1",
        {"run": run_id, "period": name}).fetchone()
    if run is None or run[1] != name:
        raise SealError(f"no finished evaluation run {run_id or ''} of {name} to seal: run `changetrail reconcile`")
    hashes = result_hashes(con, run[0])
    entries = evidence_manifest(con, run[0])
    counts = con.execute("select (select count(*) from run_results($1)),"
                         " (select count(*) from change_outcomes where run_id = $1)", [run[0]]).fetchone()
    sealed_by = by or os.environ.get("USER") or getpass.getuser()
    result = Seal(name, run[0], now, sealed_by, now < opens, run[2], hashes["all"], combined_hash(entries),
                  counts[0], counts[1], sum(e["kind"] == "file" for e in entries))
    con.execute(
        """insert into sealed_periods (period, run_id, sealed_at, sealed_by, forced, config_hash, results_sha256,
               result_hashes, count_results, count_outcomes, evidence, evidence_sha256)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [name, run[0], now, sealed_by, result.forced, run[2], hashes["all"], json.dumps(hashes),
         counts[0], counts[1], json.dumps(entries), result.evidence_sha256])
    return result


def verify(con: duckdb.DuckDBPyConnection, period: str, landing_root: Path) -> Verification:
    """Recompute the sealed run's result hashes and every evidence file's SHA-256 under
    `landing_root`; each difference is named in `problems`."""
    name = parse_period(period).name
    row = sealed_row(con, name)
    if row is None:
        raise SealError(f"{name} is not sealed")
    out = Verification(name, row["run_id"])
    sealed = json.loads(row["result_hashes"])
    now = result_hashes(con, row["run_id"])
    if now["all"] != row["results_sha256"]:
        changed = sorted(k for k in set(sealed) | set(now) if k != "all" and sealed.get(k) != now.get(k))
        for key in changed:
            what = {"outcomes": "change_outcomes", "exceptions": "result_exceptions (exceptions applied)"}.get(
                key, f"control_results of {key}")
            out.problems.append(f"{what} of run {row['run_id']} altered since the seal"
                                f" (sha256 {sealed.get(key, 'absent')[:12]} -> {now.get(key, 'absent')[:12]})")
    out.notes.extend(_register_notes(con, row["run_id"]))
    entries = json.loads(row["evidence"])
    if combined_hash(entries) != row["evidence_sha256"]:
        out.problems.append("the seal's evidence list does not match its evidence_sha256")
    loaded = dict(con.execute("select manifest_path, manifest_sha256 from raw._manifests").fetchall())
    root = Path(landing_root)
    for e in entries:
        path = root / e["path"]
        if e["kind"] == "manifest" and loaded.get(e["path"]) != e["sha256"]:
            out.problems.append(f"raw._manifests row of {e['path']} missing or altered")
        if not path.exists():
            out.problems.append(f"{e['kind']} {e['path']} is missing under {root}")
            continue
        out.checked_files += 1
        actual = file_sha256(path)
        if actual != e["sha256"]:
            out.problems.append(f"{e['kind']} {e['path']} altered: sha256 {actual[:12]}, sealed {e['sha256'][:12]}")
    return out


def _register_notes(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """A register reloaded after the sealed run is named; the sealed run keeps what it applied."""
    if not _has_table(con, "exceptions_loads"):
        return []
    started = con.execute("select started_at from evaluation_runs where run_id = ?", [run_id]).fetchone()
    later = con.execute("select source_path, file_sha256, loaded_at from exceptions_loads where loaded_at > ?"
                        " order by loaded_at, load_id", [started[0] if started else None]).fetchall()
    applied = con.execute("select count(*) from result_exceptions where run_id = ?", [run_id]).fetchone()[0]
    return [f"exceptions register {path} changed after the sealed run (load of {loaded:%Y-%m-%d %H:%M} UTC,"
            f" sha256 {sha[:12]}); the sealed run keeps the {applied} exception(s) it applied"
            for path, sha, loaded in later]


# --- differences between the sealed run and another ------------------------------------------

DIFF_COLUMNS = ["kind", "control_id", "subject_id", "change", "sealed", "other", "reason"]

_DIFF_SQL = """
with a as (select control_id, subject_id, status, reason from run_results($base)),
     b as (select control_id, subject_id, status, reason from run_results($other)),
     oa as (select change_id, outcome, failed_controls from change_outcomes where run_id = $base),
     ob as (select change_id, outcome, failed_controls from change_outcomes where run_id = $other)
select 'control', coalesce(a.control_id, b.control_id), coalesce(a.subject_id, b.subject_id),
       case when a.subject_id is null then 'new_subject' when b.subject_id is null then 'missing_subject'
            else 'status_changed' end,
       a.status, b.status, coalesce(b.reason, a.reason)
from a full outer join b on a.control_id = b.control_id and a.subject_id = b.subject_id
where a.status is distinct from b.status
union all
select 'outcome', null, coalesce(oa.change_id, ob.change_id),
       case when oa.change_id is null then 'new_subject' when ob.change_id is null then 'missing_subject'
            else 'outcome_changed' end,
       oa.outcome, ob.outcome, array_to_string(ob.failed_controls, ', ')
from oa full outer join ob on oa.change_id = ob.change_id
where oa.outcome is distinct from ob.outcome
order by 1, 2 nulls first, 3
"""


def diff_runs(con: duckdb.DuckDBPyConnection, period: str, other_run: str | None = None) -> tuple[str, str, list[dict]]:
    """(sealed run, other run, differences): per control and subject a status that changed, a
    subject only in the other run (new) or only in the sealed one (missing); per change an outcome
    change. `other_run` defaults to the period's latest run other than the sealed one."""
    name = parse_period(period).name
    base = sealed_run_id(con, name)
    if base is None:
        raise SealError(f"{name} is not sealed: nothing to compare with (seal it first)")
    if other_run is None:
        found = con.execute(
            "select run_id from evaluation_runs where period = ? and run_id <> ? and finished_at is not null"
            " order by finished_at desc limit 1", [name, base]).fetchone()
        if found is None:
            raise SealError(f"{name} has no run besides the sealed {base}: re-evaluate with --reevaluate")
        other_run = found[0]
    elif con.execute("select count(*) from evaluation_runs where run_id = ? and period = ?",
                     [other_run, name]).fetchone()[0] == 0:
        raise SealError(f"no evaluation run {other_run!r} of {name}")
    rows = con.execute(_DIFF_SQL, {"base": base, "other": other_run}).fetchall()
    return base, other_run, [dict(zip(DIFF_COLUMNS, r)) for r in rows]
