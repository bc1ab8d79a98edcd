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
