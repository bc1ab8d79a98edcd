"""Suite-wide fixtures. Prefect gets one temporary test server for the whole session."""
from __future__ import annotations

import os
import stat

import pytest


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def open_umask():
    """The usual default umask (022): without care, new files would be world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def file_mode(path) -> int:
    """Permission bits of a file or folder (0o600, 0o700, ...)."""
    return stat.S_IMODE(os.stat(path).st_mode)


def loaded_demo(out, seed: int, scale: float = 0.05):
    """A generated organization in `out`, every source extracted in full and loaded; its Config."""
    from flows import pipeline
    from flows.config import load_config
    from flows.demo import generate

    generate(out, seed=seed, scale=scale)
    config = load_config(out / "changetrail.toml")
    for name in pipeline.configured_sources(config):
        pipeline.extract_source(config, name, pipeline.new_run_id(), full_refresh=True)
    pipeline.load(config)
    return config
