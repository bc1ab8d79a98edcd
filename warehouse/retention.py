"""Retention (policy §7): the only removal of raw evidence, and itself recorded in the run chain.

Evidence older than `retention.years` (default 3) - a loaded manifest whose extraction finished
before the cutoff, its landing files and the raw rows they produced - may be removed, and only
by `apply_retention` (`changetrail retention --apply`); `plan_retention` (the dry run) lists
what would go. Evidence listed by the seal of a quarter that is still inside retention (its end
plus `retention.years` not yet passed) is kept, whatever its age. The removal is one transaction
ending in a chained `retention` record naming every manifest, file and row hash removed, so
`changetrail verify` still passes afterwards; the files are deleted from disk after the commit
(a crash in between leaves files that the next `--apply` deletes and `verify` names).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from warehouse.integrity import ROW_HASH_SCHEME, append_record, file_rows, raw_tables, read_records
from warehouse.periods import parse_period


@dataclass
class RetentionPlan:
    cutoff: datetime
    years: int
    manifests: list[dict] = field(default_factory=list)   # {path, sha256, system, unit, finished_at, files}
    kept: list[tuple[str, str]] = field(default_factory=list)   # (manifest path, why it stays)
    leftover: list[str] = field(default_factory=list)     # removed earlier, still on disk

    @property
    def files(self) -> list[dict]:
        return [f for m in self.manifests for f in m["files"]]

    @property
    def rows(self) -> int:
        return sum(f["rows"] for f in self.files)


def cutoff_for(now: datetime, years: int) -> datetime:
    """`now` minus whole years (29 February -> 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def plan_retention(con: duckdb.DuckDBPyConnection, landing: Path, years: int, now: datetime | None = None) -> RetentionPlan:
    """What `apply_retention` would remove now (nothing is changed)."""
    now = now or datetime.now(timezone.utc)
    plan = RetentionPlan(cutoff=cutoff_for(now, years), years=years)
    protected = _protected_by_seals(con, now, years)
    tables = dict(raw_tables())
    rows = con.execute(
        "select manifest_path, manifest_sha256, system, unit, coalesce(finished_at, loaded_at), files::varchar "
        "from raw._manifests where coalesce(finished_at, loaded_at) < ? order by manifest_path", [plan.cutoff]).fetchall()
    for path, sha, system, unit, finished, files in rows:
        listed = json.loads(files or "[]")
        seal = protected.get(path) or next((protected[f["path"]] for f in listed if f["path"] in protected), None)
        if seal:
            plan.kept.append((path, f"listed by the seal of {seal}, inside retention"))
            continue
        entries = []
        for f in listed:
            table = tables.get(f"{system}/{f['stream']}")
            count, digest = file_rows(con, table, [f["path"]]).get(f["path"], (0, None)) if table else (0, None)
            entries.append({"path": f["path"], "sha256": f["sha256"], "table": table, "rows": count, "rows_sha256": digest,
                            "row_hash": ROW_HASH_SCHEME})
        plan.manifests.append({"path": path, "sha256": sha, "system": system, "unit": unit,
                               "finished_at": finished.isoformat(), "files": entries})
    plan.leftover = [rel for rel in _removed_earlier(con) if (Path(landing) / rel).exists()]
    return plan


def apply_retention(con: duckdb.DuckDBPyConnection, landing: Path, years: int, now: datetime | None = None) -> RetentionPlan:
    """Remove what `plan_retention` lists: raw rows and manifest rows in one transaction with the
    chained `retention` record, then the landing files and manifests on disk."""
    plan = plan_retention(con, landing, years, now)
    if plan.manifests:
        con.execute("begin transaction")
        try:
            for f in plan.files:
                if f["table"] and f["rows"]:
                    con.execute(f"delete from {f['table']} where _landing_file = ?", [f["path"]])
            con.execute("delete from raw._manifests where manifest_path in (select unnest(?))",
                        [[m["path"] for m in plan.manifests]])
            append_record(con, "retention", {
                "cutoff": plan.cutoff.isoformat(), "years": years,
                "manifests": [{"path": m["path"], "sha256": m["sha256"], "finished_at": m["finished_at"]}
                              for m in plan.manifests],
                "files": [{k: f[k] for k in ("path", "sha256", "rows", "rows_sha256")} for f in plan.files]})
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    landing = Path(landing)
    for rel in [f["path"] for f in plan.files] + [m["path"] for m in plan.manifests] + plan.leftover:
        path = landing / rel
        path.unlink(missing_ok=True)
        _remove_empty_parents(path.parent, landing)
    return plan


def _protected_by_seals(con: duckdb.DuckDBPyConnection, now: datetime, years: int) -> dict[str, str]:
    """Landing path -> sealed period, for seals whose quarter is still inside retention."""
    protected: dict[str, str] = {}
    for period, evidence in con.execute("select period, evidence::varchar from sealed_periods").fetchall():
        if cutoff_for(now, years) < parse_period(period).end:
            for entry in json.loads(evidence or "[]"):
                protected.setdefault(entry["path"], period)
    return protected


def _removed_earlier(con: duckdb.DuckDBPyConnection) -> list[str]:
    removed = []
    for _seq, kind, _at, detail, _prev, _sha in read_records(con):
        if kind == "retention":
            body = json.loads(detail)
            removed += [f["path"] for f in body.get("files", [])] + [m["path"] for m in body.get("manifests", [])]
    return removed


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
