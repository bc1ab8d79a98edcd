"""File sources read only inside their configured folder: a symlink (or any path) that resolves
outside it is refused with a reason, which the extractor records as a quarantine entry."""
from __future__ import annotations

from pathlib import Path


def escapes(root: Path, path: Path) -> str | None:
    """Why `path` (found under `root`) must not be read, or None when it resolves inside `root`."""
    real_root = Path(root).resolve()
    try:
        target = Path(path).resolve(strict=True)
    except (OSError, RuntimeError) as exc:      # a dangling or looping symlink
        return f"cannot be resolved inside the input folder {real_root}: {exc}"
    if target != real_root and real_root not in target.parents:
        return f"path escapes the input folder {real_root} (resolves to {target})"
    return None
