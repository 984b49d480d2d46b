"""Shared fixtures: the real data in ../shared/data, read once per test session, never the network."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FEDCUT_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()

os.environ["FEDCUT_OFFLINE"] = "1"  # no test may touch the network
# nor read the user's download cache: an empty folder that is never created (tests that need a
# cache make their own)
os.environ["FEDCUT_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / f"fedcut-tests-no-cache-{os.getpid()}")
os.environ.setdefault("MPLBACKEND", "Agg")
# `fedcut now` warns when its call is older than the inputs' release rules allow, against today's
# date: the tests run as on the next trading day after the shared data ends, so what they print
# does not depend on the day they run (the age tests set their own clock)
os.environ["FEDCUT_TODAY"] = "2025-09-29"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "prices" / "IWM.csv").is_file():
        pytest.fail(f"real data not found at {SHARED_DATA}: set FEDCUT_DATA_DIR=../shared/data")
    return SHARED_DATA


@pytest.fixture(scope="session")
def source(shared_data):
    from fedcut.data.sources import DataSource

    return DataSource(data_dir=shared_data, cache_dir=shared_data / "no-cache", offline=True)
