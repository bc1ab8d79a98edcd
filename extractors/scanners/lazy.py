"""A scanner report as a skeleton: the document with its large arrays left in the file.

`read_skeleton(path)` reads the whole file once (so a file that is not JSON, or is truncated, is
rejected before anything of it lands) and returns the document with every array larger than a
threshold replaced by a `LazyArray`: a list whose `len()` is its item count and whose iteration
reads its items from the file again, one at a time (skeletons themselves). The format modules'
`detect` and `split` work on the skeleton as on the parsed document, so memory follows the
largest single finding, not the file.

A `LazyArray` is a list only to the `isinstance` checks and loops of the format modules: json
cannot serialise it (it would see an empty list), so a payload goes through `materialize()`
before it is landed.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Iterator

from extractors.core.jsonstream import JsonReader

KEEP_ARRAY = 1 << 20           # characters an array may take and still be kept in the skeleton
KEEP_TOTAL = 16 << 20          # ...until the arrays kept add up to this; then KEEP_SMALL
KEEP_SMALL = 64 << 10


@dataclass
class _Budget:
    kept: int = 0

    def limit(self) -> int:
        return KEEP_ARRAY if self.kept < KEEP_TOTAL else KEEP_SMALL


class LazyArray(list):
    """A JSON array still in the file (`path`, from byte `offset`, or found by `route`)."""

    def __init__(self, path: Path, offset: int | None, route: tuple, count: int) -> None:
        super().__init__()
        self.path, self.offset, self.route, self.count = path, offset, route, count

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self) -> Iterator[Any]:
        with JsonReader.open(self.path, offset=self.offset or 0) as reader:
            if self.offset is None:
                _walk_to(reader, self.route)
            budget = _Budget()
            for index in reader.items():
                yield _build(reader, self.path, self.route + (index,), budget)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(islice(iter(self), index.start, index.stop, index.step))
        if index < 0:
            index += self.count
        for item in islice(iter(self), index, None):
            return item
        raise IndexError("LazyArray index out of range")

    def __eq__(self, other: object) -> bool:
        return list(iter(self)) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazyArray({self.path.name}, {self.count} items)"


def read_skeleton(path: Path) -> Any:
    """The document, its large arrays left in the file. Raises JsonStreamError when not JSON."""
    path = Path(path)
    with JsonReader.open(path) as reader:
        doc = _build(reader, path, (), _Budget())
        reader.end()
    return doc


def materialize(value: Any) -> Any:
    """Plain JSON data: every LazyArray inside `value` read into a list."""
    if isinstance(value, LazyArray):
        return [materialize(v) for v in value]
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v) for v in value]
    return value


def _build(reader: JsonReader, path: Path, route: tuple, budget: _Budget) -> Any:
    fits, value = reader.small_value(budget.limit())
    if fits:
        return value
    kind = reader.kind()
    if kind == "dict":
        return {key: _build(reader, path, route + (key,), budget) for key in reader.members()}
    if kind != "list":
        return reader.value()
    offset, start = reader.byte_offset(), reader.position()
    items: list[Any] | None = []
    count = 0
    for index in reader.items():
        if items is None:
            reader.skip()
        else:
            items.append(_build(reader, path, route + (index,), budget))
            if reader.position() - start > budget.limit():
                items = None            # too large to keep: counted, left in the file
        count += 1
    if items is None:
        return LazyArray(path, offset, route, count)
    budget.kept += reader.position() - start
    return items


def _walk_to(reader: JsonReader, route: tuple) -> None:
    """Position `reader` (at the document's start) in front of the value at `route`."""
    for step in route:
        found = False
        members = reader.members() if isinstance(step, str) else reader.items()
        for key in members:
            if key == step:
                found = True
                break
        if not found:
            raise LookupError(f"{route}: not in the document any more")
