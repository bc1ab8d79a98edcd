"""Serve PyGithub ReplayData recordings (real api.github.com exchanges) as an httpx transport.

A replay file is a sequence of 10-line blocks - scheme, verb, host, port, path+query, request
headers, request body, status, response headers (a Python list of tuples), response body - each
followed by a blank line. Requests are matched on path and query, else on the path alone
(preferring the recording without a query, i.e. the complete listing).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import httpx

_DROP = {"content-length", "transfer-encoding", "content-encoding", "status"}


@dataclass(frozen=True)
class Exchange:
    verb: str
    path: str
    query: str
    status: int
    headers: dict[str, str]
    body: bytes


def parse_replay(path: Path) -> list[Exchange]:
    lines = path.read_text(encoding="utf-8").split("\n")
    exchanges: list[Exchange] = []
    i = 0
    while i + 9 < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block = lines[i:i + 10]
        target = block[4]
        path_part, _, query = target.partition("?")
        headers = {k: v for k, v in ast.literal_eval(block[8]) if k.lower() not in _DROP}
        exchanges.append(Exchange(block[1], path_part, query, int(block[7]), headers, block[9].encode("utf-8")))
        i += 10
    return exchanges


class ReplayTransport(httpx.BaseTransport):
    """Answers GETs from recorded exchanges; `rewrite` maps a request path to a recorded one."""

    def __init__(self, exchanges: list[Exchange], rewrite: dict[str, str] | None = None) -> None:
        self.exchanges = exchanges
        self.rewrite = rewrite or {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = self.rewrite.get(request.url.path, request.url.path)
        query = request.url.query.decode()
        candidates = [e for e in self.exchanges if e.path == path]
        exact = [e for e in candidates if e.query == query]
        chosen = (exact or sorted(candidates, key=lambda e: e.query != ""))[:1]
        if not chosen:
            return httpx.Response(404, json={"message": "Not Found"}, request=request)
        e = chosen[0]
        status = 200 if e.verb != "GET" and e.status < 300 else e.status   # a PUT/POST answer served as a read
        return httpx.Response(status, headers=e.headers, content=e.body, request=request)
