"""One run at a time per warehouse: a lock file beside it, and recovery from a run that was killed.

`<warehouse>.lock` (e.g. `changetrail.duckdb.lock`) is created with O_EXCL and holds JSON
`{"pid", "host", "started", "run_id", "stage", "evaluation_run_id"}`. A second run waits up to
`wait` seconds, then refuses with `RunLocked` naming the holder. A lock whose holder is gone
(same host, process no longer running) is *stale*: the next run takes it over (an atomic rename,
so two runs cannot both take it) and `run_pipeline` recovers the killed run first:

- killed before its load committed (no manifest of its run_id in `raw._manifests`): its landing
  output (complete manifests, finished and `.tmp` files) was never loaded and its cursors never
  advanced, so it is moved aside to `<landing>.abandoned/<run_id>/` (kept, never loaded) and the
  new run extracts the same data again;
- killed after its load committed: the new run resumes it - same run_id, no second extraction
  (which would land the overlap twice) - at reconcile, or at the reports with the evaluation the
  killed run had already committed.
A lock held on another host cannot be checked and is never taken over automatically.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


class RunLocked(RuntimeError):
    """Another run holds the warehouse's lock; the message names it."""


@dataclass
class Holder:
    pid: int
    host: str
    started: str
    run_id: str
    stage: str = "start"
    evaluation_run_id: str | None = None

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, started {self.started}, at {self.stage})"


def lock_path(warehouse_path: Path) -> Path:
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(warehouse_path.name + ".lock")


def read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["host"]), str(data["started"]), str(data["run_id"]),
                      str(data.get("stage", "start")), data.get("evaluation_run_id"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunLocked(f"{path}: unreadable run lock ({exc}); if no run is going on, remove the file") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(holder: Holder) -> bool:
    """True when the holder's process is known to be gone (only checkable on this host)."""
    return holder.host == socket.gethostname() and holder.pid != os.getpid() and not _alive(holder.pid)


class RunLock:
    """`with RunLock(warehouse, run_id, wait=60) as lock:` - `lock.stale` is the killed run taken over."""

    def __init__(self, warehouse_path: Path, run_id: str, wait: float = 0.0, poll: float = 0.5) -> None:
        self.path = lock_path(warehouse_path)
        self.holder = Holder(os.getpid(), socket.gethostname(), datetime.now(timezone.utc).isoformat(), run_id)
        self.wait, self.poll = wait, poll
        self.stale: Holder | None = None
        self._held = False

    def acquire(self) -> "RunLock":
        deadline = time.monotonic() + self.wait
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            if self._create():
                return self
            holder = read_holder(self.path)
            if holder is not None and is_stale(holder):
                aside = self.path.with_name(f"{self.path.name}.stale-{os.getpid()}")
                try:
                    os.rename(self.path, aside)       # only one run wins the takeover
                except FileNotFoundError:
                    continue
                self.stale = read_holder(aside)
                aside.unlink(missing_ok=True)
                continue
            if holder is not None and time.monotonic() >= deadline:
                raise RunLocked(f"{self.path}: the warehouse is in use by {holder.describe()}; "
                                "wait for it to finish (a lock whose process is gone is taken over "
                                "automatically; one held on another host must be removed by hand)")
            time.sleep(self.poll)

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.holder.__dict__, fh)
        self._held = True
        return True

    def stage(self, stage: str, evaluation_run_id: str | None = None) -> None:
        """Record how far the run got (read back when a killed run is recovered)."""
        self.holder.stage = stage
        if evaluation_run_id:
            self.holder.evaluation_run_id = evaluation_run_id
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.holder.__dict__), encoding="utf-8")
        os.replace(tmp, self.path)

    def release(self) -> None:
        if self._held:
            current = read_holder(self.path)
            if current is not None and current.pid == self.holder.pid and current.run_id == self.holder.run_id:
                self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def set_aside_unloaded(landing: Path, run_id: str) -> list[Path]:
    """Move a killed run's landing output (never loaded) to `<landing>.abandoned/<run_id>/`."""
    landing = Path(landing)
    target = landing.with_name(landing.name + ".abandoned") / run_id
    moved = []
    if not landing.is_dir():
        return moved
    found = [p for p in landing.glob(f"*/_manifests/{run_id}__*") if p.is_file()]
    found += [p for p in landing.glob(f"*/*/{run_id}") if p.is_dir()]
    for path in found:
        dest = target / path.relative_to(landing)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(dest))
        moved.append(dest)
    return moved
