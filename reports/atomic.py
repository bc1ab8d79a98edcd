"""Every report file is written atomically: under a temporary name, then renamed over the target.

A run killed mid-write (or a row iterator that raises) leaves the previous file, or none, never
half a file; the temporary is removed when the write fails. The temporary is a dot file in the
same folder (`.<name>.tmp`), so the rename never crosses a file system and `verify`, the evidence
pack and the readers of the output folder skip it.

    with atomic_path(out) as tmp:            # a writer that wants a path (WeasyPrint, zipfile)
        document.write_pdf(tmp)
    with atomic_open(out, "w", encoding="utf-8", newline="") as fh:   # or a file object
        csv.writer(fh).writerows(rows)
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from extractors.core.faults import checkpoint


def tmp_path(path: Path) -> Path:
    """The temporary name a report file is written under before its atomic rename."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp")


@contextmanager
def atomic_path(path: Path, *, fault: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success fsync and rename it to `path`, on failure
    remove it and leave `path` as it was. `fault` names a crash-test kill point
    (extractors/core/faults.py) between the write and the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if fault:
            checkpoint(fault)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: Path, mode: str = "w", *, fault: str | None = None, **kwargs) -> Iterator[IO]:
    """`open(tmp, mode, **kwargs)`, renamed to `path` when the block completes without error."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes a new file; mode {mode!r} is not a write mode")
    with atomic_path(path, fault=fault) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh


def write_text_atomic(path: Path, text: str, *, fault: str | None = None) -> Path:
    """`path.write_text(text)` (UTF-8), atomically."""
    with atomic_open(path, "w", encoding="utf-8", fault=fault) as fh:
        fh.write(text)
    return Path(path)
