"""Landing files and manifests, exactly as extractors/README.md specifies.

One `LandingWriter` per extraction unit. Records go to
`<landing>/<system>/<stream>/<run_id>/<unit-slug>.jsonl.gz` as envelopes
`{"extracted_at", "source_url", "context", "payload"}`, written under `<name>.tmp` and renamed
when complete (a killed run leaves only `.tmp` files, which nothing loads); the manifest
`<landing>/<system>/_manifests/<run_id>__<unit-slug>.json` is written LAST (atomically, via a
temporary file), so a manifest's presence means every file it lists is complete and hashed.

The payload is serialised once, with keys in the order received and non-ASCII text kept as is,
so the line holds the record as the source sent it. Gzip headers carry no timestamp, so landing
the same records twice yields the same bytes and the same sha256. Landing folders are created
0700 and files 0600: evidence holds source data and is readable by its owner only.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from extractors.core.faults import checkpoint

RAW_LIMIT = 10_000            # quarantined text kept per entry (README: <= 10 kB)
_FLUSH_BYTES = 1 << 18        # compress in ~256 kB batches: per-line gzip writes are slow


def utc_now_iso() -> str:
    """Current time as ISO 8601 with microseconds and an explicit UTC offset."""
    return datetime.now(timezone.utc).isoformat()


def unit_slug(unit: str) -> str:
    """'acme/payments' -> 'acme__payments'; anything outside [A-Za-z0-9._-] becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", unit.replace("/", "__")) or "_"


def strip_userinfo(url: str) -> str:
    """A URL without `user:password@` - credentials must never reach landing files."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def dumps(value: Any) -> str:
    """Compact JSON that keeps key order and non-ASCII characters as received."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _StreamFile:
    stream: str
    relpath: str
    path: Path
    query: str
    records: int = 0
    requests: int = 0
    already_landed: int = 0      # received again unchanged, landed by an earlier run (not again)
    buffer: list[bytes] = field(default_factory=list)
    buffered: int = 0
    handle: gzip.GzipFile | None = None


class LandingWriter:
    """Writes one extraction unit's landing files and, on `finish()`, its manifest."""

    def __init__(
        self, landing_root: Path, system: str, unit: str, run_id: str, base_url: str | None = None
    ) -> None:
        self.root = Path(landing_root)
        self.system, self.unit, self.run_id = system, unit, run_id
        self.slug = unit_slug(unit)
        self.base_url = strip_userinfo(base_url) if base_url else None
        self.started_at = utc_now_iso()
        self._files: dict[str, _StreamFile] = {}
        self.quarantined: list[dict[str, Any]] = []
        self.cursors: dict[str, Any] = {}
        self.conditional: Any = None     # extractors.core.incremental.ConditionalPages, for HTTP units
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def requests(self) -> int:
        """Requests (pages, files) made by this unit so far, over all streams."""
        return sum(entry.requests for entry in self._files.values())

    # -- streams ---------------------------------------------------------------------------------

    def stream(self, stream: str, query: str = "") -> _StreamFile:
        """Register a stream of this unit (it gets a file and a manifest entry even if empty)."""
        entry = self._files.get(stream)
        if entry is None:
            relpath = f"{self.system}/{stream}/{self.run_id}/{self.slug}.jsonl.gz"
            entry = _StreamFile(stream, relpath, self.root / relpath, query)
            private_dirs(entry.path.parent, self.root)
            raw = private_open(_tmp(entry.path))
            entry.handle = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
            self._files[stream] = entry
        elif query and not entry.query:
            entry.query = query
        return entry

    def count_request(self, stream: str, n: int = 1) -> None:
        self.stream(stream).requests += n

    def count_already_landed(self, stream: str, n: int = 1) -> None:
        self.stream(stream).already_landed += n

    def envelope_prefix(self, extracted_at: str, source_url: str | None, context: Mapping[str, Any]) -> str:
        """The part of an envelope shared by every record of one page and context."""
        url = dumps(strip_userinfo(source_url)) if source_url else "null"
        return f'{{"extracted_at":{dumps(extracted_at)},"source_url":{url},"context":{dumps(dict(context))},"payload":'

    def write(self, stream: str, payload: Any, prefix: str) -> None:
        """Append one record; `prefix` comes from `envelope_prefix` (computed once per page)."""
        entry = self._files.get(stream) or self.stream(stream)
        # the record's own line number closes its envelope: the load numbers raw rows by it (in parallel)
        line = (prefix + dumps(payload) + f',"line":{entry.records + 1}}}\n').encode("utf-8")
        entry.buffer.append(line)
        entry.buffered += len(line)
        entry.records += 1
        if entry.buffered >= _FLUSH_BYTES:
            self._flush(entry)

    def write_record(
        self, stream: str, payload: Any, *, context: Mapping[str, Any],
        source_url: str | None, extracted_at: str | None = None,
    ) -> None:
        """Convenience for file sources: one record with its own envelope."""
        self.write(stream, payload, self.envelope_prefix(extracted_at or utc_now_iso(), source_url, context))

    def quarantine(self, stream: str, source: str, locator: str, reason: str, raw: Any = "") -> None:
        """Record input that could not be accepted; it is listed in the manifest, never dropped."""
        if not isinstance(raw, str):
            try:
                raw = dumps(raw)
            except (TypeError, ValueError):
                raw = repr(raw)
        self.stream(stream)
        self.quarantined.append({
            "stream": stream, "source": strip_userinfo(source), "locator": locator,
            "reason": reason, "raw": raw[:RAW_LIMIT],
        })

    def set_cursor(self, stream: str, value: Any) -> None:
        if value is not None:
            self.cursors[stream] = value

    # -- completion ------------------------------------------------------------------------------

    def _flush(self, entry: _StreamFile) -> None:
        if entry.buffer and entry.handle is not None:
            entry.handle.write(b"".join(entry.buffer))
            entry.buffer.clear()
            entry.buffered = 0
            checkpoint("landing.mid_file")

    def _close_files(self, complete: bool = True) -> None:
        for entry in self._files.values():
            if entry.handle is not None:
                self._flush(entry)
                fileobj = entry.handle.fileobj
                entry.handle.close()
                if fileobj is not None:
                    fileobj.flush()
                    os.fsync(fileobj.fileno())
                    fileobj.close()
                entry.handle = None
                if complete:
                    checkpoint("landing.before_rename")
                    os.replace(_tmp(entry.path), entry.path)

    def abort(self) -> None:
        """Close files without a manifest (they stay `.tmp`): the load step ignores a unit that has none."""
        self._close_files(complete=False)
        self._finished = True

    def finish(self) -> Path:
        """Close and hash every file, then write the manifest (last, atomically)."""
        if self._finished:
            raise RuntimeError(f"landing unit {self.system}/{self.unit} already finished")
        self._close_files()
        files = []
        for entry in self._files.values():
            files.append({
                "stream": entry.stream, "path": entry.relpath, "sha256": _sha256(entry.path),
                "records": entry.records, "numbered": True, "requests": entry.requests, "query": entry.query,
                **({"already_landed": entry.already_landed} if entry.already_landed else {}),
            })
        manifest = {
            "run_id": self.run_id, "system": self.system, "unit": self.unit,
            "started_at": self.started_at, "finished_at": utc_now_iso(),
            "base_url": self.base_url, "files": files,
            "quarantined": self.quarantined, "cursors": self.cursors,
        }
        if self.conditional is not None and (self.conditional.etags or self.conditional.unchanged):
            manifest["etags"] = self.conditional.etags          # url -> {stream, etag, records, next}
            manifest["unchanged"] = self.conditional.unchanged  # pages answered 304: asked, not re-landed
        path = self.root / self.system / "_manifests" / f"{self.run_id}__{self.slug}.json"
        private_dirs(path.parent, self.root)
        checkpoint("landing.before_manifest")
        tmp = _tmp(path)
        with private_open(tmp) as fh:
            fh.write(json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        checkpoint("landing.mid_manifest")
        os.replace(tmp, path)
        checkpoint("landing.after_manifest")
        self._finished = True
        return path


def private_dirs(folder: Path, root: Path) -> None:
    """Create `folder` (and `root`, and everything between) readable by the owner only (0700)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for part in [folder, *folder.parents]:
        os.chmod(part, 0o700)
        if part == root or root not in part.parents:
            break


def private_open(path: Path):
    """A new (or truncated) file for writing, readable by the owner only (0600) from creation."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
