"""Reading one large JSON document piece by piece, with bounded memory (standard library only).

`JsonReader` walks a document from a file: `members()` yields the keys of an object and
`items()` the indexes of an array, each time leaving the reader in front of that member's value,
which the caller then reads whole with `value()`, walks further with `members()`/`items()`, or
passes over with `skip()`. Only one value at a time (and a read buffer) is held in memory, so a
SARIF log of hundreds of MB with millions of results is read result by result.

    with JsonReader.open(path) as reader:
        for key in reader.members():          # the top-level object
            if key == "runs":
                for _ in reader.items():
                    run = reader.value()
            else:
                reader.skip()
        reader.end()                          # nothing but whitespace may follow

Values are decoded by `json.JSONDecoder.raw_decode` (the C scanner) from a sliding text buffer:
a value that reaches the end of the buffer is decoded again once more text is read, so a number
or literal split by a read is never cut. The text encoding is detected like `json.loads` does for
bytes (UTF-8, with or without a BOM, UTF-16, UTF-32); a byte sequence that is not valid in it is
a `JsonStreamError`, as is a document that is not JSON, is truncated, or holds a single value
larger than `max_value` characters (the bound on memory).
"""
from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any, BinaryIO, Iterator

CHUNK = 1 << 20                 # characters read at a time
MAX_VALUE = 64 << 20            # characters one value may take (one SARIF result, one run without results)
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_TYPE_OF = {"{": "dict", "[": "list", '"': "str", "t": "bool", "f": "bool", "n": "NoneType"}


class JsonStreamError(ValueError):
    """The document is not valid JSON (or not readable as text); names the character offset."""


class JsonReader:
    def __init__(self, binary: BinaryIO, *, chunk: int = CHUNK, max_value: int = MAX_VALUE,
                 offset: int = 0) -> None:
        head = binary.read(4)
        encoding = json.detect_encoding(head)
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        # byte offsets are known for UTF-8 (what scanners write); None for UTF-16/32
        self._utf8 = encoding in ("utf-8", "utf-8-sig")
        self._base_bytes = 3 if encoding == "utf-8-sig" else 0
        if offset:                    # start inside the document (a byte offset from `byte_offset()`)
            binary.seek(offset)
            head, self._base_bytes = b"", offset
            self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._binary, self._pending = binary, head
        self._chunk, self._max_value = chunk, max_value
        self._buf, self._pos, self._base, self._eof = "", 0, 0, False
        self._owned: BinaryIO | None = None

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> "JsonReader":
        fh = open(path, "rb")
        try:
            reader = cls(fh, **kwargs)
        except BaseException:
            fh.close()
            raise
        reader._owned = fh
        return reader

    def position(self) -> int:
        """Characters consumed so far."""
        return self._base + self._pos

    def byte_offset(self) -> int | None:
        """The byte offset of the next non-whitespace character (UTF-8 files only, else None):
        `JsonReader.open(path, offset=...)` starts reading there."""
        if not self._utf8:
            return None
        self.peek()
        return self._base_bytes + len(self._buf[:self._pos].encode("utf-8"))

    def small_value(self, limit: int) -> tuple[bool, Any]:
        """(True, value) when the next value lies within the buffer and takes at most `limit`
        characters (decoded at C speed); (False, None), nothing consumed, otherwise."""
        if not self.peek():
            return False, None
        try:
            obj, end = _DECODER.raw_decode(self._buf, self._pos)
        except json.JSONDecodeError:
            return False, None
        if self._complete(end) and end - self._pos <= limit:
            self._pos = end
            return True, obj
        return False, None

    def __enter__(self) -> "JsonReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    # -- buffer --------------------------------------------------------------------------------

    def _read(self, at_least: int) -> bool:
        """Append at least `at_least` more characters (fewer at the end); False when none came."""
        if self._eof:
            return False
        if self._pos > (1 << 16) and self._pos * 2 > len(self._buf):       # drop what was consumed
            if self._utf8:
                self._base_bytes += len(self._buf[:self._pos].encode("utf-8"))
            self._base += self._pos
            self._buf, self._pos = self._buf[self._pos:], 0
        added = 0
        while added < at_least and not self._eof:
            data = self._pending + self._binary.read(max(self._chunk, at_least - added))
            self._pending = b""
            final = not data
            try:
                text = self._decoder.decode(data, final=final)
            except UnicodeDecodeError as exc:
                raise JsonStreamError(f"not valid {exc.encoding} text near byte "
                                      f"{self._binary.tell() - len(data) + exc.start}: {exc.reason}") from None
            self._buf += text
            added += len(text)
            self._eof = final
        return added > 0

    def _error(self, message: str, pos: int | None = None) -> JsonStreamError:
        return JsonStreamError(f"{message} (char {self._base + (self._pos if pos is None else pos)})")

    def peek(self) -> str:
        """The next non-whitespace character ('' at the end of the document), not consumed."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._read(self._chunk):
                return ""

    def _expect(self, char: str, what: str) -> None:
        found = self.peek()
        if found != char:
            raise self._error(f"Expecting {what}" if found else f"Expecting {what}, found the end of the file")
        self._pos += 1

    # -- values ---------------------------------------------------------------------------------

    def value(self) -> Any:
        """Decode the next whole value."""
        if not self.peek():
            raise self._error("Expecting value, found the end of the file")
        want = self._chunk
        while True:
            try:
                obj, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise self._error(exc.msg, exc.pos) from None
                obj, end = None, None
            if end is not None and (self._eof or self._complete(end)):
                self._pos = end
                return obj
            if len(self._buf) - self._pos > self._max_value:
                raise self._error(f"a single value is larger than {self._max_value} characters")
            self._read(want)
            want *= 2          # a long value: read in growing steps, decode O(log n) times

    def _complete(self, end: int) -> bool:
        """Does a value decoded up to `end` certainly end there? Not when the buffer ends at `end`
        or just after a number's '.', 'e', 'e-' (the read may have split `1.5` as `1.`)."""
        if end >= len(self._buf):
            return False
        return not (end + 2 >= len(self._buf) and self._buf[end] in ".eE+-")

    def skip(self) -> None:
        """Pass over the next value: decoded at once when it lies within the buffer (the C scanner),
        else an array item by item and an object member by member, so it is never whole in memory."""
        first = self.peek()
        if first in ("[", "{"):
            try:
                _, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError:
                end = None
            if end is not None and end < len(self._buf):
                self._pos = end
                return
        if first == "[":
            for _ in self.items():
                self.skip()
        elif first == "{":
            for _ in self.members():
                self.skip()
        else:
            self.value()

    def kind(self) -> str:
        """The Python type name the next value decodes to ('dict', 'list', 'str', 'int'...)."""
        first = self.peek()
        return _TYPE_OF.get(first, "number" if first else "")

    def members(self) -> Iterator[str]:
        """The keys of the object ahead; after each, the caller reads or skips that key's value."""
        self._expect("{", "'{'")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self._error("Expecting property name enclosed in double quotes")
            key = self.value()
            self._expect(":", "':' delimiter")
            self.peek()
            start = self._base + self._pos
            yield key
            if self._base + self._pos == start:
                self.skip()              # the caller did not read the value: pass over it
            nxt = self.peek()
            if nxt == ",":
                self._pos += 1
            elif nxt == "}":
                self._pos += 1
                return
            else:
                raise self._error("Expecting ',' delimiter" if nxt else "Expecting ',' delimiter, found the end of the file")

    def items(self) -> Iterator[int]:
        """The indexes of the array ahead; after each, the caller reads or skips that item."""
        self._expect("[", "'['")
        if self.peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            self.peek()
            start = self._base + self._pos
            yield index
            if self._base + self._pos == start:
                self.skip()
            index += 1
            nxt = self.peek()
            if nxt == ",":
                self._pos += 1
            elif nxt == "]":
                self._pos += 1
                return
            else:
                raise self._error("Expecting ',' delimiter" if nxt else "Expecting ',' delimiter, found the end of the file")

    def end(self) -> None:
        """The document is complete: only whitespace may follow."""
        if self.peek():
            raise self._error("Extra data")
