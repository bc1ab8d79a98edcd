"""The streaming JSON reader (extractors/core/jsonstream.py) and the scanner skeleton built on it
(extractors/scanners/lazy.py): same values as json.loads at every read-size boundary, clear errors
for broken documents, large arrays left in the file and read back item by item."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from extractors.core.jsonstream import JsonReader, JsonStreamError
from extractors.scanners import lazy
from extractors.scanners.lazy import LazyArray, materialize, read_skeleton

DOC = {"version": "2.1.0", "big": 12345678901234567890, "f": -1.5e-3, "t": True, "n": None, "s": "é \u2713 \\\" x",
       "runs": [{"tool": {"d": 1}, "results": [{"i": i, "msg": "m" * (i % 7)} for i in range(40)]}, {}], "e": [], "o": {}}


def _walk(reader: JsonReader):
    """Rebuild a value through members()/items() only."""
    kind = reader.kind()
    if kind == "dict":
        return {key: _walk(reader) for key in reader.members()}
    if kind == "list":
        return [_walk(reader) for _ in reader.items()]
    return reader.value()


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 64, 1 << 20])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32-le"])
def test_same_values_as_json_loads_at_every_boundary(chunk: int, encoding: str) -> None:
    data = json.dumps(DOC, ensure_ascii=False, indent=1).encode(encoding)
    reader = JsonReader(io.BytesIO(data), chunk=chunk)
    assert _walk(reader) == json.loads(data)
    reader.end()
    reader = JsonReader(io.BytesIO(data), chunk=chunk)
    reader.skip()
    reader.end()


@pytest.mark.parametrize("text, message", [
    (b'{"a": [1, 2', "Expecting ',' delimiter, found the end of the file"),
    (b'{"a": 1} x', "Extra data"),
    (b'{"a": 1,}', "Expecting property name enclosed in double quotes"),
    (b"", "Expecting value, found the end of the file"),
    (b'{"a": "caf\xe9"}', "not valid utf-8 text"),
    (b'{"a": tru}', "Expecting value"),
])
def test_broken_documents_are_errors(text: bytes, message: str) -> None:
    with pytest.raises(JsonStreamError, match=message):
        reader = JsonReader(io.BytesIO(text), chunk=3)
        reader.skip()
        reader.end()


def test_a_value_larger_than_the_bound_is_an_error() -> None:
    data = json.dumps({"a": "x" * 5000}).encode()
    with pytest.raises(JsonStreamError, match="larger than 1000 characters"):
        reader = JsonReader(io.BytesIO(data), chunk=100, max_value=1000)
        for _ in reader.members():
            reader.value()


def test_unread_members_and_items_are_skipped() -> None:
    reader = JsonReader(io.BytesIO(json.dumps(DOC).encode()), chunk=7)
    keys = []
    for key in reader.members():
        keys.append(key)
        if key == "runs":
            assert [i for i in reader.items()] == [0, 1]
    reader.end()
    assert keys == list(DOC)


def test_skeleton_leaves_large_arrays_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lazy, "KEEP_ARRAY", 200)
    doc = {"SchemaVersion": 2, "Results": [{"Target": f"t{t}", "Vulnerabilities": [
        {"id": f"CVE-{t}-{i}", "refs": ["r"] * (i % 3)} for i in range(50)]} for t in range(3)], "small": [1, 2]}
    for encoding in ("utf-8", "utf-16"):              # UTF-16: no byte offsets, found again by route
        path = tmp_path / f"{encoding}.json"
        path.write_bytes(json.dumps(doc).encode(encoding))
        skeleton = read_skeleton(path)
        assert isinstance(skeleton["Results"], LazyArray) and len(skeleton["Results"]) == 3
        assert skeleton["small"] == [1, 2] and not isinstance(skeleton["small"], LazyArray)
        first = skeleton["Results"][0]
        assert isinstance(first["Vulnerabilities"], LazyArray) and len(first["Vulnerabilities"]) == 50
        assert (skeleton["Results"][0]["Vulnerabilities"].offset is None) == (encoding == "utf-16")
        assert materialize(skeleton) == doc
        assert [v["id"] for r in skeleton["Results"] for v in r["Vulnerabilities"]][-1] == "CVE-2-49"
