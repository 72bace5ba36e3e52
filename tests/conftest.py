"""Shared fixtures: an isolated data_dir per test, and the dbt manifest parsed once per session."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.settings import get_settings


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings are cached per process; every test starts from the defaults and its own env."""
    # WAREHOUSE_URL too: a developer's real warehouse must never receive test publishes (tests/postgres
    # sets its own, pointing at a throwaway database).
    for name in (
        "SEGMENTS_CONFIG_FILE",
        "SEGMENTS_PSEUDONYMISATION_KEY",
        "SEGMENTS_ENVIRONMENT",
        "WAREHOUSE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """`dbt parse` once per test process: Definitions cannot load without the manifest.

    `make test` runs pytest-xdist workers; the lock keeps one worker from reading the manifest while
    another rewrites it.
    """
    from orchestration import prepare

    target = Path(__file__).resolve().parents[1] / "dbt_project" / "target"
    target.mkdir(exist_ok=True)
    with (target / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepare.main()
        fcntl.flock(lock, fcntl.LOCK_UN)
    manifest = target / "manifest.json"
    assert manifest.is_file()
    return manifest
