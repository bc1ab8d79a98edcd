"""The exceptions register: documented, approved deviations from a control, kept with history.

The compliance team edits one file (YAML or CSV, config `[exceptions] path`). Each entry names a
control, a subject (a change id) or a scope (`repo:owner/name` or a bare `owner/name`,
`team:<team>`, `*`), a justification, an approver (person id), an approval date, an expiry and a
ticket/reference:

    exceptions:
      - id: EXC-2026-014
        control: CM-08
        scope: repo:acme/legacy-batch
        valid_from: 2026-07-01          # optional range start; required for scope "*"
        expires_at: 2026-09-30          # a date means the end of that day (UTC)
        justification: vendor image, no fix upstream; compensating WAF rule
        approver: cyrus
        approved_at: 2026-06-28
        ticket: RISK-42

Every load whose file hash differs from the latest one appends its entries to `exceptions_register`
(with `loaded_at` and the file's sha256) and a row to `exceptions_loads`; nothing is updated or
deleted, and the effective register is the latest load. After the controls of a run,
`apply_exceptions` writes `result_exceptions`: for each `fail` result, the register entry that covers
it. An entry covers a failure when its control matches, its subject/scope matches the result's
subject, the subject's time t (a change's `deployed_at`, else the evaluation time) lies in
[valid_from, expires_at], it is approved (approver and approved_at set, approved_at not after the
evaluation) by a human whose roles include one of `approver_roles`, and approved_at ≤ t unless
`allow_retroactive` (an approval after the deployment is a retroactive waiver). `error` results
(missing or stale evidence) are never excepted. Control results keep their status; the outcome
of a change is `exception` when every failure is covered (runner.OUTCOMES_SQL).
"""
from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import duckdb
import yaml

from warehouse.results_store import WORKING

FIELDS = ("id", "control", "subject", "scope", "valid_from", "expires_at", "justification",
          "approver", "approved_at", "ticket")
REQUIRED = ("id", "control", "expires_at", "justification")


class ExceptionsError(ValueError):
    """An invalid register file: the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Entry:
    entry_no: int
    exception_id: str
    control_id: str
    subject_id: str | None
    scope: str | None
    valid_from: datetime | None
    justification: str
    approver: str | None
    approved_at: datetime | None
    expires_at: datetime
    ticket: str | None


@dataclass(frozen=True)
class Register:
    path: Path
    file_sha256: str
    entries: list[Entry]


def read_register(path: Path | str, known_controls: list[str] | tuple[str, ...] = ()) -> Register | None:
    """Parse and validate the register file; None when it does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    data = path.read_bytes()
    text = data.decode("utf-8-sig")
    raw = _csv_entries(text) if path.suffix.lower() == ".csv" else _yaml_entries(path, text)
    entries, seen = [], {}
    for n, item in enumerate(raw, start=1):
        entry = _entry(path, n, item, known_controls)
        if entry.exception_id in seen:
            raise _error(path, n, entry.exception_id, "id",
                         f"duplicate of entry {seen[entry.exception_id]}")
        seen[entry.exception_id] = n
        entries.append(entry)
    return Register(path=path, file_sha256=hashlib.sha256(data).hexdigest(), entries=entries)


def _yaml_entries(path: Path, text: str) -> list:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExceptionsError(f"{path}: not valid YAML: {exc}") from None
    if doc is None:
        return []
    if isinstance(doc, dict):
        if set(doc) - {"exceptions"}:
            raise ExceptionsError(f"{path}: top level holds only 'exceptions', not {sorted(set(doc) - {'exceptions'})}")
        doc = doc.get("exceptions") or []
    if not isinstance(doc, list):
        raise ExceptionsError(f"{path}: 'exceptions' must be a list of entries")
    return doc


def _csv_entries(text: str) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return [{k.strip(): (v.strip() if isinstance(v, str) and v.strip() else None)
             for k, v in row.items() if k is not None} for row in rows]


def _error(path: Path, n: int, exception_id, field: str, problem: str) -> ExceptionsError:
    label = f"entry {n}" + (f" ({exception_id})" if exception_id else "")
    return ExceptionsError(f"{path}: {label}: field '{field}': {problem}")


def _entry(path: Path, n: int, item, known_controls) -> Entry:
    if not isinstance(item, dict):
        raise ExceptionsError(f"{path}: entry {n}: must be a mapping of fields, not {type(item).__name__}")
    ident = item.get("id")
    ident = str(ident).strip() if ident is not None else None

    def fail(field: str, problem: str) -> ExceptionsError:
        return _error(path, n, ident, field, problem)

    for key in item:
        if key not in FIELDS:
            raise fail(str(key), f"unknown field (expected one of {', '.join(FIELDS)})")
    values = {k: (str(v).strip() if isinstance(v, (str, int, float)) and not isinstance(v, bool) else v)
              for k, v in item.items() if v is not None and v != ""}
    for key in REQUIRED:
        if key not in values:
            raise fail(key, "required")
    for key in ("id", "control", "subject", "scope", "justification", "approver", "ticket"):
        if key in values and not isinstance(values[key], str):
            raise fail(key, f"must be text, not {type(values[key]).__name__}")
    control = values["control"].upper()
    if known_controls and control not in known_controls:
        raise fail("control", f"unknown control {values['control']!r}")
    subject, scope = values.get("subject"), values.get("scope")
    if (subject is None) == (scope is None):
        raise fail("scope" if scope else "subject", "give exactly one of 'subject' (a change id) or 'scope'")
    if scope is not None:
        scope = _scope(scope)
        if scope is None:
            raise fail("scope", f"{values['scope']!r} is not repo:<owner/name>, <owner/name>, team:<team> or *")
    valid_from = _when(values.get("valid_from"), end_of_day=False, fail=lambda p: fail("valid_from", p))
    expires_at = _when(values["expires_at"], end_of_day=True, fail=lambda p: fail("expires_at", p))
    approved_at = _when(values.get("approved_at"), end_of_day=False, fail=lambda p: fail("approved_at", p))
    if scope == "*" and valid_from is None:
        raise fail("valid_from", "required with scope '*' (a date range: valid_from .. expires_at)")
    if valid_from is not None and valid_from > expires_at:
        raise fail("expires_at", "before valid_from")
    return Entry(entry_no=n, exception_id=values["id"], control_id=control, subject_id=subject, scope=scope,
                 valid_from=valid_from, justification=values["justification"], approver=values.get("approver"),
                 approved_at=approved_at, expires_at=expires_at, ticket=values.get("ticket"))


def _scope(text: str) -> str | None:
    text = text.strip()
    if text == "*":
        return "*"
    kind, sep, value = text.partition(":")
    if sep and kind in ("repo", "team") and value.strip():
        return f"{kind}:{value.strip()}"
    if not sep and text.count("/") == 1 and all(text.split("/")):
        return f"repo:{text}"
    return None


def _when(value, *, end_of_day: bool, fail) -> datetime | None:
    """A date or date-time; naive means UTC; a bare date is its start (or end, for expiries)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise fail(f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time") from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        start = datetime.combine(value, time(0), tzinfo=timezone.utc)
        return start + timedelta(days=1, microseconds=-1) if end_of_day else start
    raise fail(f"must be a date, not {type(value).__name__}")


def record_register(con: duckdb.DuckDBPyConnection, register: Register,
                    loaded_at: datetime | None = None) -> str | None:
    """Append the register as a new load unless the file is unchanged since the latest load."""
    latest = con.execute("select file_sha256 from exceptions_loads"
                         " order by loaded_at desc, load_id desc limit 1").fetchone()
    if latest and latest[0] == register.file_sha256:
        return None
    loaded_at = loaded_at or datetime.now(timezone.utc)
    load_id = f"exc-{loaded_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"
    con.execute("insert into exceptions_loads values (?, ?, ?, ?, ?)",
                [load_id, loaded_at, str(register.path), register.file_sha256, len(register.entries)])
    if register.entries:
        con.executemany(
            "insert into exceptions_register values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(load_id, loaded_at, register.file_sha256, e.entry_no, e.exception_id, e.control_id, e.subject_id,
              e.scope, e.valid_from, e.justification, e.approver, e.approved_at, e.expires_at, e.ticket)
             for e in register.entries])
    return load_id


def load_register(con: duckdb.DuckDBPyConnection, path: Path | str, known_controls=(),
                  loaded_at: datetime | None = None) -> str | None:
    """Read, validate and record the file; the new load id, or None (absent or unchanged)."""
    register = read_register(path, known_controls)
    return None if register is None else record_register(con, register, loaded_at)


EFFECTIVE_SQL = """
select * from exceptions_register
where load_id = (select load_id from exceptions_loads order by loaded_at desc, load_id desc limit 1)
"""

APPLY_SQL = f"""
insert into result_exceptions
with
register as ({EFFECTIVE_SQL}),
changes as (select change_id, repo, team, deployed_at from int_changes_in_period),
people as (select * from int_people_unioned),
approvers as (
    select distinct person_id from people
    where kind = 'human' and list_has_any(coalesce(roles, []), $approver_roles)
),
failures as (
    select results.control_id, results.subject_id, results.evaluated_at,
           coalesce(changes.deployed_at, results.evaluated_at) as subject_at, changes.repo, changes.team
    from {WORKING} results
    left join changes on results.subject_type = 'change' and changes.change_id = results.subject_id
    where results.run_id = $run_id and results.status = 'fail'
),
covering as (
    select failures.control_id, failures.subject_id, register.exception_id, register.justification,
           register.approver, register.expires_at, register.file_sha256,
           row_number() over (partition by failures.control_id, failures.subject_id
                              order by register.expires_at desc, register.exception_id) as rank
    from failures
    join register on register.control_id = failures.control_id
    where (register.subject_id = failures.subject_id or register.scope = '*'
           or register.scope = 'repo:' || failures.repo or register.scope = 'team:' || failures.team)
      and (register.valid_from is null or register.valid_from <= failures.subject_at)
      and register.expires_at >= failures.subject_at
      and register.approved_at is not null and register.approved_at <= failures.evaluated_at
      and ($allow_retroactive or register.approved_at <= failures.subject_at)
      and register.approver in (select person_id from approvers)
)
select $run_id, control_id, subject_id, exception_id, justification, approver, expires_at, file_sha256
from covering where rank = 1
"""


def apply_exceptions(con: duckdb.DuckDBPyConnection, run_id: str, approver_roles: list[str],
                     allow_retroactive: bool = False) -> int:
    """Write result_exceptions for the run's failures the effective register covers; returns the count."""
    con.execute(APPLY_SQL, {"run_id": run_id, "approver_roles": list(approver_roles),
                            "allow_retroactive": allow_retroactive})
    return con.execute("select count(*) from result_exceptions where run_id = ?", [run_id]).fetchone()[0]
