"""People directory extraction: one CSV, one unit, one record per valid row.

The directory is the identity spine of the controls (deployer, reviewers, approvers resolve
through it), so rows are validated here rather than guessed at later: a row with the wrong
number of columns, an unknown `kind` or an unknown role is quarantined with
"people.csv line N: ..." and the rest loads. A wrong header is fatal - every row would be
misread - and raises `ExtractionError` naming the file and the expected header.

The payload is the row as a JSON object of the CSV's strings, verbatim (roles stay the
';'-separated text); `stg_people__people` splits and types them.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from extractors.core import Extraction, ExtractionError, Stream, utc_now_iso
from flows.config import PeopleSource

SYSTEM = "people"
COLUMNS = ("person_id", "name", "email", "github_login", "servicenow_user_sys_id",
           "pagerduty_user_id", "roles", "team", "kind")
OPTIONAL_COLUMNS = ("gitlab_username",)   # may follow the columns above; absent = empty
ROLES = frozenset({"engineer", "senior_engineer", "eng_lead", "qa", "ciso", "security"})
KINDS = frozenset({"human", "service", "shared"})
PEOPLE = Stream(system=SYSTEM, name="people", path="{file}", primary_key=("person_id",))
STREAMS: tuple[Stream, ...] = (PEOPLE,)


def extract_people(config: PeopleSource, landing: Path, run_id: str, since: datetime | None = None) -> list[Path]:
    """Land the people CSV as one unit (always whole: it is small and has no update times)."""
    path = Path(config.path).resolve()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExtractionError(SYSTEM, str(path), None, "people directory file does not exist") from None
    except UnicodeDecodeError as exc:
        raise ExtractionError(SYSTEM, str(path), None, f"not UTF-8 text: {exc}") from None
    name = path.name
    with Extraction(SYSTEM, path.stem, landing, run_id, base_url=path.parent.as_uri()) as ex:
        writer = ex.writer
        writer.stream(PEOPLE.name, f"read {path.as_posix()}")
        writer.count_request(PEOPLE.name)
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        names = tuple(h.strip() for h in header or ())
        if header is None or names[:len(COLUMNS)] != COLUMNS or not set(names[len(COLUMNS):]) <= set(OPTIONAL_COLUMNS):
            raise ExtractionError(
                SYSTEM, str(path), None,
                f"{name} line 1: header must be exactly {','.join(COLUMNS)} (optionally followed by "
                f"{','.join(OPTIONAL_COLUMNS)}); found {','.join(header or [])}",
            )
        extracted_at = utc_now_iso()
        source = path.as_uri()
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            raw = ",".join(row)
            problem = _row_problem(row, names)
            if problem:
                writer.quarantine(PEOPLE.name, str(path), f"line {line}", f"{name} line {line}: {problem}", raw)
                continue
            record = dict(zip(names, (cell.strip() for cell in row)))
            writer.write_record(PEOPLE.name, record, context={"file": name, "line": line},
                                source_url=source, extracted_at=extracted_at)
        return [ex.finish()]


def _row_problem(row: list[str], names: tuple[str, ...] = COLUMNS) -> str | None:
    """Why a CSV row cannot be accepted (None when it can)."""
    if len(row) != len(names):
        return f"expected {len(names)} columns, found {len(row)}"
    record = dict(zip(names, (cell.strip() for cell in row)))
    if not record["person_id"]:
        return "empty person_id"
    if record["kind"] not in KINDS:
        return f"unknown kind {record['kind']!r} (expected one of {', '.join(sorted(KINDS))})"
    unknown = [r for r in (x.strip() for x in record["roles"].split(";")) if r and r not in ROLES]
    if unknown:
        return f"unknown role(s) {', '.join(repr(u) for u in unknown)} (expected {', '.join(sorted(ROLES))})"
    return None
