"""Fixtures for the interop tests (run with the venv's pytest: see README.md)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


@pytest.fixture
def panelsim() -> Path:
    """Path to the panelsim binary; skips the test when it is not built."""
    reason = harness.panelsim_missing_reason()
    if reason:
        pytest.skip(reason)
    return harness.panelsim_path()


@pytest.fixture
def netns():
    """A throw-away network namespace (only lo, 224.0.0.0/4 via lo); deleted afterwards."""
    reason = harness.netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    ns = harness.Netns()
    try:
        ns.__enter__()
    except harness.NetnsError as e:
        pytest.skip(f"cannot create a network namespace here: {e}")
    try:
        yield ns
    finally:
        ns.close()


@pytest.fixture(scope="session")
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed (apt-get install tshark)")
    return path
