"""Landed evidence replicated n times under distinct identities: how the XL profile is built.

XL (500,000 changes) is L's landing folder written 10 times: copy 0 as it is, copies 1..n-1 with
every identity remapped the same way in every source, so load and reconcile see n times the
evidence with realistic payloads and the copies neither collapse in staging (which keeps one row
per id) nor meet in the joins. Copy k renames, in contexts, payloads, URLs and manifests:

- repositories: every landed repository's bare name `payments-api` -> `payments-api-xk` wherever it
  stands as a token (`acme/payments-api`, image names, SARIF scan files, PagerDuty service names,
  Kubernetes namespaces), so `change_id = repo@deployment_id` and service matching stay per copy;
- numeric ids (JSON integers under `id`, `databaseId`, `*_id`, `*Id`): + k * 10**13 (deployment,
  status, PR, review, check run, repository ids ...);
- lowercase hex tokens of 7-40 characters in strings (commit SHAs and their prefixes, ServiceNow
  sys_ids, UUID parts): the first digit shifted by k (mod 16). Staging joins SHAs alone (an
  emergency ticket names a 7+ hex prefix of the deployed SHA), so they change too; a prefix stays
  a prefix. Hex tokens of the people directories are kept: the same engineers approve every copy;
- ticket keys (the policy's `ticket_key_pattern` and ServiceNow numbers CHG/INC/...): the leading
  0 of the number becomes k, so `CHG0031585` -> `CHG3031585` still matches the pattern;
- PagerDuty ids (`id`, `incident_id` that are not user references), Jira numeric issue ids.

With `months_back` (profile H: 12 copies, 3 months apart) every date `YYYY-MM-DD` in copy k moves
back k * months_back months, so the copies are earlier quarters of the same organization: the
history a daily run sits on top of.

People stay the same: the person directories (people CSV, ServiceNow/GitHub users and teams) are
landed once, not copied. Lines are rewritten as bytes (no JSON parsing: the token rules apply to
strings, number literals are recognised by their surroundings), read once and written to all n-1
copies at once, gzip in and out, one extraction unit (manifest) per task over a process pool.
Each copy's manifest gets a new run id (`<run_id>-xk`), paths, SHA-256 and record counts, so
`warehouse.load` accepts it and the integrity chain covers it.
"""
from __future__ import annotations

import calendar
import gzip
import hashlib
import json
import os
import re
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.core.landing import private_dirs, private_open, unit_slug

PEOPLE_STREAMS = frozenset({("people", "people"), ("servicenow", "users"), ("github", "org_members"),
                            ("github", "teams"), ("github", "team_members")})
SERVICENOW_NUMBERS = rb"(?:CHG|INC|PRB|RITM|SCTASK|CTASK|TASK)[0-9]{7}"
ID_OFFSET = 10**13            # GitHub ids are ~3e10 today; 9 copies stay far below 2**53
_FLUSH_BYTES = 1 << 18
_HEX = b"0123456789abcdef"
_WORD = rb"0-9A-Za-z_"
# a token starts after a non-word character, or right after a JSON escape (\n, \r, \t): staging
# matches the decoded text, where the escape is a line break
_START = rb"(?:(?<=\\[nrt])|(?<![" + _WORD + rb"]))"
_NUMBER_CHARS = frozenset(b"0123456789.-+eE")


class ReplicationError(RuntimeError):
    """The landing cannot be replicated keeping its identities distinct and well-formed."""


def suffix(k: int) -> str:
    return f"-x{k}"


@dataclass(frozen=True)
class Plan:
    copies: int                         # copies in all, the original included (XL: 10)
    repos: tuple[str, ...]              # bare repository names renamed per copy
    keep: frozenset[bytes] = frozenset()  # hex tokens of people, kept in every copy
    ticket_pattern: str | None = None   # [policy] ticket_key_pattern
    compresslevel: int = 6              # as extractors/core/landing.py writes
    months_back: int = 0                # copy k's dates moved back k * months_back months (history)
    day_after: str | None = None        # copy 0's records of this day on ("YYYY-MM-DD") held back ...
    day_dest: str | None = None         # ... into this landing folder: the day a daily run loads


def _trie(words: list[bytes]) -> bytes:
    """One regex alternation for many literals, factored by prefix (fast in Python's re)."""
    tree: dict = {}
    for word in words:
        node = tree
        for byte in word:
            node = node.setdefault(bytes([byte]), {})
        node[b""] = {}

    def render(node: dict) -> bytes:
        ends = b"" in node
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
        return b"(?:" + body + b")?" if ends else body

    return render(tree)


class Remapper:
    """Rewrites one landed line (bytes) for copies 1..n-1."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        # separate simple patterns scan far faster in Python's re than one alternation of them all
        self.ids = re.compile(rb'"login":"[^"]*","id":(?P<person>[0-9]+)'          # a GitHub user: kept
                              rb'|"(?:id|[A-Za-z]+_id|[a-z]+Id)":(?P<num>[0-9]+)(?=[,}\]])'
                              rb'|"(?:id|incident_id)":"(?P<pd>[A-Z0-9]{6,})"(?!,"type":"user)')
        self.hex = re.compile(rb"(?<![" + _WORD + rb"])[0-9a-f]{7,40}(?![" + _WORD + rb"])")
        names = _trie(sorted({r.encode() for r in plan.repos}, key=len, reverse=True)) if plan.repos else None
        self.repos = (re.compile(rb"(?<![" + _WORD + rb"-])" + names + rb"(?![" + _WORD + rb"-])")
                      if names else None)
        # a token right after a JSON escape (\n, \r, \t) starts a line in the decoded text staging reads
        self.escaped = re.compile(rb"\\[nrt](?:" + (rb"(?P<repo>" + names + rb")(?![" + _WORD + rb"-])|" if names else b"")
                                  + rb"(?P<hex>[0-9a-f]{7,40})(?![" + _WORD + rb"]))")
        self.tickets = [re.compile(SERVICENOW_NUMBERS)]
        if plan.ticket_pattern:
            self.tickets.append(re.compile(plan.ticket_pattern.encode()))
        self.ticket_full = re.compile(plan.ticket_pattern) if plan.ticket_pattern else None
        self.jira = re.compile(rb'"(?:id|issueId)":"(?P<jira>[0-9]+)"')
        self.dates = re.compile(rb"(?<![0-9A-Za-z])(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
                                rb"(?![0-9])") if plan.months_back else None
        self.n = plan.copies - 1
        self._suffixes = [suffix(k).encode() for k in range(1, self.n + 1)]
        self._cache: dict[tuple[str, bytes], list[bytes]] = {}

    def _variants(self, kind: str, token: bytes) -> list[bytes]:
        key = (kind, token)
        variants = self._cache.get(key)
        if variants is None:
            if len(self._cache) > 200_000:   # bounded: the same SHAs and names recur within a unit
                self._cache.clear()
            variants = self._cache[key] = self._compute(kind, token)
        return variants

    def _compute(self, kind: str, token: bytes) -> list[bytes]:
        ks = range(1, self.n + 1)
        if kind == "num":
            return [str(int(token) + k * ID_OFFSET).encode() for k in ks]
        if kind == "repo":
            return [token + end for end in self._suffixes]
        if kind == "hex":
            first = _HEX.index(token[0])
            return [_HEX[(first + k) % 16:(first + k) % 16 + 1] + token[1:] for k in ks]
        if kind == "pd":
            return [token + f"X{k}".encode() for k in ks]
        if kind == "jira":
            return [str(int(token) + k * 10**9).encode() for k in ks]
        if kind == "date":
            return [_months_earlier(token, k * self.plan.months_back) for k in ks]
        return [self._ticket(token, k) for k in ks]

    def _ticket(self, key: bytes, k: int) -> bytes:
        """Copies 1-9 write k over the number's leading 0; copies 10-18 write k - 9 over its
        second digit, which must be 0 too (CHG0031585 -> CHG3031585, CHG0231585)."""
        digits = re.search(rb"[0-9]+(?=[^0-9]*$)", key)
        at = 0 if k <= 9 else 1
        if digits is None or digits.group()[:at + 1] != b"0" * (at + 1) or k > 18:
            raise ReplicationError(f"ticket key {key.decode()}: copy {k} cannot renumber it keeping its format"
                                   " (its number must start with 0, or 00 beyond 10 copies; at most 19 copies)")
        start = digits.start() + at
        new = key[:start] + str(k - 9 * at).encode() + key[start + 1:]
        if self.ticket_full and self.ticket_full.fullmatch(key.decode()) and not self.ticket_full.fullmatch(new.decode()):
            raise ReplicationError(f"ticket key {key.decode()} -> {new.decode()} no longer matches the ticket pattern")
        return new

    def spans(self, line: bytes, system: str) -> list[tuple[int, int, list[bytes]]]:
        """Where `line` changes per copy: (start, end, the token in copies 1..n-1), in order."""
        found: list[tuple[int, int, int, str, bytes]] = []       # start, priority, end, kind, token
        for m in self.ids.finditer(line):
            kind = m.lastgroup
            if kind == "num" or (kind == "pd" and system == "pagerduty"):
                found.append((m.start(kind), 0, m.end(kind), kind, m.group(kind)))
        for rx in self.tickets:
            found.extend((m.start(), 1, m.end(), "ticket", m.group()) for m in rx.finditer(line))
        if self.repos is not None:
            found.extend((m.start(), 2, m.end(), "repo", m.group()) for m in self.repos.finditer(line))
        found.extend((m.start(), 3, m.end(), "hex", m.group()) for m in self.hex.finditer(line))
        if b"\\" in line:
            for m in self.escaped.finditer(line):
                kind = m.lastgroup
                found.append((m.start(kind), 2 if kind == "repo" else 3, m.end(kind), kind, m.group(kind)))
        if system == "jira":
            found.extend((m.start("jira"), 0, m.end("jira"), "jira", m.group("jira")) for m in self.jira.finditer(line))
        if self.dates is not None:
            found.extend((m.start(), 1, m.end(), "date", m.group()) for m in self.dates.finditer(line))
        found.sort()
        kept, last = [], -1
        for start, _, end, kind, token in found:        # overlapping matches: the first one wins
            if start < last:
                continue
            if kind == "hex" and (token in self.plan.keep or _is_number(line, start, end)
                                  or (line[end:end + 1] == b"+" and token.isdigit())):   # <id>+login@users.noreply
                continue
            kept.append((start, end, self._variants(kind, token)))
            last = end
        return kept

    def copies(self, line: bytes, system: str) -> list[bytes]:
        """The line as copies 1..n-1 write it."""
        spans = self.spans(line, system)
        if not spans:
            return [line] * self.n
        parts, pos = [], 0
        for start, end, variants in spans:
            parts.append(line[pos:start])
            parts.append(variants)
            pos = end
        parts.append(line[pos:])
        out = []
        for column in zip(*parts[1::2]):
            parts[1::2] = column
            out.append(b"".join(parts))
        return out

    def text(self, value: str, system: str, k: int) -> str:
        return self.copies(value.encode("utf-8"), system)[k - 1].decode("utf-8")


def _months_earlier(date: bytes, months: int) -> bytes:
    """`YYYY-MM-DD` moved back whole months, the day clamped to the month's length; the time of
    day and zone that follow it are untouched, so a quarter's evidence lands in an earlier quarter."""
    year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
    index = year * 12 + month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    length = calendar.monthrange(year, month)[1]
    return f"{year:04d}-{month:02d}-{min(day, length):02d}".encode()


def _is_number(line: bytes, start: int, end: int) -> bool:
    """A JSON number literal (not a string): numeric characters up to `:`/`,`/`[` and `,`/`}`/`]`."""
    i = start - 1
    while i >= 0 and line[i] in _NUMBER_CHARS:
        i -= 1
    j = end
    while j < len(line) and line[j] in _NUMBER_CHARS:
        j += 1
    return i >= 0 and line[i] in b":,[" and (j == len(line) or line[j] in b",}]\n")


class _Hashing:
    """A file object that hashes what is written through it (the manifest's sha256)."""

    def __init__(self, fh) -> None:
        self.fh, self.digest = fh, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


# -- one extraction unit ---------------------------------------------------------------------------

_REMAPPER: Remapper | None = None


def _init(plan: Plan) -> None:
    global _REMAPPER
    _REMAPPER = Remapper(plan)


def run_id_of(run_id: str, k: int) -> str:
    return f"{run_id}{suffix(k)}"


def replicate_unit(source: Path, dest: Path, manifest_path: Path) -> dict[str, int]:
    """Copy one manifest and its files as they are (copy 0), and write copies 1..n-1."""
    remap = _REMAPPER
    assert remap is not None, "call _init(plan) first"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    system, run_id, n = manifest["system"], manifest["run_id"], remap.n
    if remap.plan.day_after:                                                 # copy 0, its last day apart
        _hold_back_day(source, dest, Path(remap.plan.day_dest or ""), manifest_path, manifest, remap.plan)
    else:                                                                    # copy 0
        for entry in manifest.get("files", []):
            _copy(source / entry["path"], dest / entry["path"], dest)
        _copy(manifest_path, dest / manifest_path.relative_to(source), dest)
    copies = [_walk(manifest, lambda s, k=k: remap.text(s, system, k)) for k in range(1, n + 1)]
    files: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    stats = {"manifests": 1, "files": len(manifest.get("files", [])), "records": 0, "bytes": 0}
    for index, entry in enumerate(manifest.get("files", [])):
        stats["bytes"] += (dest / entry["path"]).stat().st_size
        if (system, entry["stream"]) in PEOPLE_STREAMS:
            stats["records"] += int(entry.get("records", 0))
            continue
        paths = [f"{system}/{entry['stream']}/{run_id_of(run_id, k)}/{unit_slug(copies[k - 1]['unit'])}.jsonl.gz"
                 for k in range(1, n + 1)]
        digests, records = _rewrite(source / entry["path"], [dest / p for p in paths], dest, system, remap)
        if records != int(entry.get("records", records)):
            raise ReplicationError(f"{source / entry['path']}: {records} records, its manifest says {entry['records']}")
        for k in range(n):
            copy = dict(copies[k]["files"][index])
            copy.update(path=paths[k], sha256=digests[k], records=records)
            files[k].append(copy)
        stats["files"] += n
        stats["records"] += records * (n + 1)
        stats["bytes"] += sum((dest / p).stat().st_size for p in paths)
    for k in range(1, n + 1):
        if not files[k - 1] and manifest.get("files"):
            continue                                                        # a people-only unit
        copy = copies[k - 1]
        copy.update(run_id=run_id_of(run_id, k), files=files[k - 1])
        target = dest / system / "_manifests" / f"{run_id_of(run_id, k)}__{unit_slug(copy['unit'])}.json"
        private_dirs(target.parent, dest)
        stats["manifests"] += 1
        with private_open(target) as fh:
            fh.write(json.dumps(copy, ensure_ascii=False, indent=1).encode("utf-8"))
    return stats


# when a landed record happened, by stream (dotted payload paths, first present wins); records of
# other streams (repositories, compares, commit -> PR links, people) stay in the history
_EVENT_TIME = {
    ("github", "deployments"): ("created_at",), ("github", "deployment_statuses"): ("created_at",),
    ("github", "pull_requests"): ("updated_at",), ("github", "reviews"): ("submitted_at",),
    ("github", "pr_commits"): ("commit.committer.date",), ("github", "check_runs"): ("completed_at", "started_at"),
    ("github", "workflow_runs"): ("updated_at",),
    ("servicenow", "change_requests"): ("sys_updated_on",), ("servicenow", "approvals"): ("sys_updated_on",),
    ("pagerduty", "incidents"): ("last_status_change_at", "created_at"), ("pagerduty", "log_entries"): ("created_at",),
    ("sarif", "runs"): ("invocations.0.endTimeUtc",), ("k8s_audit", "events"): ("stageTimestamp",),
}
_DAY_BY_RUN = {("sarif", "results"): ("sarif", "runs")}    # results follow the run they belong to


def _event_time(line: bytes, fields: tuple[str, ...]) -> str:
    """The record's event time as `YYYY-MM-DD HH:MM:SS` ('' when it has none)."""
    payload = json.loads(line).get("payload")
    for field in fields:
        value: Any = payload
        for part in field.split("."):
            value = value[int(part)] if isinstance(value, list) and part.isdigit() and int(part) < len(value) \
                else value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and len(value) >= 19:
            return value[:10] + " " + value[11:19]
    return ""


def _hold_back_day(source: Path, dest: Path, day_root: Path, manifest_path: Path, manifest: dict, plan: Plan) -> None:
    """Copy 0 with the records whose latest payload time is on or after `plan.day_after` moved to
    a second manifest (`<run id>-day`) under `day_root`: the history is loaded first, the day on
    top of it, as the day's extraction would have landed it. SARIF results go with their run."""
    cutoff = plan.day_after + " 00:00:00"
    system, run_id = manifest["system"], manifest["run_id"]
    history, day = [], []
    day_files: set[bytes] = set()
    entries = sorted(manifest.get("files", []), key=lambda e: (system, e["stream"]) in _DAY_BY_RUN)
    for entry in entries:
        src = source / entry["path"]
        if (system, entry["stream"]) in PEOPLE_STREAMS or not entry.get("records"):
            _copy(src, dest / entry["path"], dest)
            history.append(entry)
            continue
        lines_history, lines_day = [], []
        with gzip.open(src, "rb") as fin:
            for line in fin:
                if (system, entry["stream"]) in _DAY_BY_RUN:
                    moved = _scan_file(line) in day_files
                else:
                    fields = _EVENT_TIME.get((system, entry["stream"]))
                    moved = bool(fields) and _event_time(line, fields) >= cutoff
                    if moved and system == "sarif":
                        day_files.add(_scan_file(line))
                (lines_day if moved else lines_history).append(line)
        day_path = f"{system}/{entry['stream']}/{run_id}-day/{Path(entry['path']).name}"
        for lines, root, path, target in ((lines_history, dest, entry["path"], history),
                                          (lines_day, day_root, day_path, day)):
            if lines or target is history:
                if entry.get("numbered"):                       # each part's records keep their own lines
                    lines = [_LINE.sub(b',"line":%d}\n' % i, line) for i, line in enumerate(lines, 1)]
                digest = _write_gzip(root / path, root, lines, plan.compresslevel)
                target.append({**entry, "path": path, "sha256": digest, "records": len(lines)})
    for root, files, rid in ((dest, history, run_id), (day_root, day, f"{run_id}-day")):
        if not files and root is day_root:
            continue
        target = root / manifest_path.relative_to(source).parent / f"{rid}__{manifest_path.name.split('__', 1)[-1]}"
        private_dirs(target.parent, root)
        with private_open(target) as fh:
            fh.write(json.dumps({**manifest, "run_id": rid, "files": files,
                                 **({"quarantined": []} if root is day_root else {})},
                                ensure_ascii=False, indent=1).encode("utf-8"))


_LINE = re.compile(rb',"line":[0-9]+}\n$')   # the line number closing a `numbered` envelope (LandingWriter)


def _scan_file(line: bytes) -> bytes:
    m = re.search(rb'"scan_file":"((?:[^"\\]|\\.)*)"', line)
    return m.group(1) if m else b""


def _write_gzip(path: Path, root: Path, lines: list[bytes], compresslevel: int) -> str:
    private_dirs(path.parent, root)
    with private_open(path) as raw:
        hashing = _Hashing(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=hashing, mtime=0, compresslevel=compresslevel) as gz:
            gz.write(b"".join(lines))
    return hashing.digest.hexdigest()


def _walk(value: Any, fn) -> Any:
    """`value` with every string (keys too) passed through `fn`; numbers and the rest unchanged."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    if isinstance(value, dict):
        return {fn(k): _walk(v, fn) for k, v in value.items()}
    return value


def _copy(src: Path, dst: Path, root: Path) -> None:
    private_dirs(dst.parent, root)
    with open(src, "rb") as fin, private_open(dst) as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


def _rewrite(src: Path, targets: list[Path], root: Path, system: str, remap: Remapper) -> tuple[list[str], int]:
    """Stream one landing file into n-1 rewritten copies; their sha256 and the record count."""
    raws, hashing, writers = [], [], []
    for target in targets:
        private_dirs(target.parent, root)
        raw = private_open(target)
        raws.append(raw)
        hashing.append(_Hashing(raw))
        writers.append(gzip.GzipFile(filename="", mode="wb", fileobj=hashing[-1], mtime=0,
                                     compresslevel=remap.plan.compresslevel))
    buffers: list[list[bytes]] = [[] for _ in targets]
    buffered = records = 0
    try:
        with gzip.open(src, "rb") as fin:
            for line in fin:
                records += 1
                for buffer, copy in zip(buffers, remap.copies(line, system)):
                    buffer.append(copy)
                buffered += len(line)
                if buffered >= _FLUSH_BYTES:
                    for writer, buffer in zip(writers, buffers):
                        writer.write(b"".join(buffer))
                        buffer.clear()
                    buffered = 0
        for writer, buffer in zip(writers, buffers):
            writer.write(b"".join(buffer))
    finally:
        for writer, raw in zip(writers, raws):
            writer.close()
            raw.close()
    return [h.digest.hexdigest() for h in hashing], records


# -- the whole landing folder ----------------------------------------------------------------------

def landed_repositories(landing: Path) -> list[str]:
    """`owner/name` of every repository or project extracted into `landing` (its units)."""
    repos = set()
    for manifest in landing.glob("*/_manifests/*.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data.get("system") in ("github", "gitlab") and "/" in (data.get("unit") or ""):
            repos.add(data["unit"])
    return sorted(repos)


def people_tokens(landing: Path) -> frozenset[bytes]:
    """Hex tokens in the people directories (ServiceNow user sys_ids ...): kept in every copy."""
    token = re.compile(_START + rb"([0-9a-f]{7,40})(?![" + _WORD + rb"])")
    found: set[bytes] = set()
    for manifest in landing.glob("*/_manifests/*.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        for entry in data.get("files", []):
            if (data["system"], entry["stream"]) in PEOPLE_STREAMS and entry.get("records"):
                with gzip.open(landing / entry["path"], "rb") as fh:
                    for line in fh:
                        found.update(token.findall(line))
    return frozenset(found)


def replicate(source: Path, dest: Path, copies: int, repos: list[str] | None = None,
              ticket_pattern: str | None = None, workers: int | None = None, compresslevel: int = 6,
              months_back: int = 0, day_after: str | None = None, day_dest: Path | None = None) -> dict:
    """Write `source`'s landed evidence into `dest` `copies` times (the original is copy 0).

    `repos`: owner/name of the repositories to rename (default: every landed one). `months_back`:
    copy k's dates (payloads, extraction times, manifests and cursors) are moved back k times that
    many months, so 12 copies 3 months apart are 12 quarters of history. `day_after`
    ("YYYY-MM-DD") with `day_dest`: copy 0's records of that day and later go to `day_dest` as
    their own manifests (the day a daily run loads on top). Returns the figures of the
    replication (wall and CPU seconds, manifests, files, records, bytes written)."""
    if not 1 <= copies <= 19:
        raise ValueError(f"copies must be between 1 and 19 (ticket numbers keep their format), not {copies}")
    source, dest = Path(source), Path(dest)
    manifests = sorted(source.glob("*/_manifests/*.json"))
    if not manifests:
        raise ValueError(f"{source}: no landed manifests to replicate")
    if any(dest.glob("*/_manifests/*.json")):
        raise ValueError(f"{dest}: already holds landed manifests; replicate into a fresh folder")
    started, cpu = time.perf_counter(), _cpu()
    names = sorted({r.split("/", 1)[-1] for r in (repos if repos is not None else landed_repositories(source))})
    if day_after and day_dest is None:
        raise ValueError("day_after needs day_dest: where the held-back day is written")
    plan = Plan(copies, tuple(names), people_tokens(source), ticket_pattern, compresslevel, months_back,
                day_after, str(day_dest) if day_dest else None)
    _init(plan)                                   # fails here, not in a worker, on a bad pattern
    private_dirs(dest, dest)
    by_size = sorted(manifests, key=lambda m: -sum(f.stat().st_size for f in _files(source, m)))
    totals = {"manifests": 0, "files": 0, "records": 0, "bytes": 0}
    workers = workers or min(len(by_size), os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(plan,)) as pool:
            results = list(pool.map(replicate_unit, [source] * len(by_size), [dest] * len(by_size), by_size))
    else:
        results = [replicate_unit(source, dest, m) for m in by_size]
    for result in results:
        for key, value in result.items():
            totals[key] += value
    return {"copies": copies, "repositories": len(names) * copies, **totals,
            "wall_s": round(time.perf_counter() - started, 3), "cpu_s": round(_cpu() - cpu, 3)}


def _files(source: Path, manifest: Path) -> list[Path]:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return [source / entry["path"] for entry in data.get("files", [])]


def _cpu() -> float:
    import resource

    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


def replicated_config(text: str, repos: list[str], copies: int) -> str:
    """An organization config (TOML text) with every copy of `repos` added where repositories are
    listed: [teams] (same team as the original) and [sources.github] repos / [sources.gitlab]
    projects when the config lists them, so EV-02 coverage and team assignment apply per copy."""
    import tomllib

    config = tomllib.loads(text)
    originals = set(repos)
    teams = config.get("teams", {})
    added = [f'"{repo}{suffix(k)}" = {json.dumps(team)}' for k in range(1, copies)
             for repo, team in teams.items() if repo in originals]
    if added:
        text = re.sub(r"(?m)^\[teams\][ \t]*\n", lambda m: m.group(0) + "\n".join(added) + "\n", text, count=1)
    for section, key in (("github", "repos"), ("gitlab", "projects")):
        listed = config.get("sources", {}).get(section, {}).get(key) or []
        if listed:
            every = listed + [f"{r}{suffix(k)}" for k in range(1, copies) for r in listed if r in originals]
            header = re.search(rf"(?m)^\[sources\.{section}\][ \t]*$", text)
            pattern = re.compile(rf"(?ms)^{key}\s*=\s*\[.*?\]")
            found = pattern.search(text, header.end()) if header else None
            following = re.compile(r"(?m)^\[").search(text, header.end()) if header else None
            if found is None or (following is not None and following.start() < found.start()):
                raise ValueError(f"[sources.{section}] {key}: not written as a one-table list this can extend")
            text = text[:found.start()] + f"{key} = {json.dumps(every)}" + text[found.end():]
    return text
