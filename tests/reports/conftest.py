"""Fixtures of the report tests: in-memory warehouses built by quarterly_fixture."""
from __future__ import annotations

import duckdb
import pytest
from quarterly_fixture import GENERATED_AT, make_demo, make_small

from reports.quarterly import build_context



@pytest.fixture
def small_con():
    con = duckdb.connect()
    make_small(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def small_context():
    con = duckdb.connect()
    make_small(con)
    context = build_context(con, "2026Q3", "Acme Corp", generated_at=GENERATED_AT)
    con.close()
    return context


@pytest.fixture(scope="module")
def demo_con():
    con = duckdb.connect()
    make_demo(con)
    yield con
    con.close()
