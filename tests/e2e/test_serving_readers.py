"""BI reading the DuckDB serving file while it is republished: every read sees one whole publish.

A reader *process* (`tests/readers.py`, sharing nothing with the publisher) opens
`serving/segments.duckdb` read-only in a loop, a fresh connection each time, and checks each read
against itself: the count of every table equals the newest publish_log row's `row_counts`, and the
tables listed are the tables present. Meanwhile this process republishes the same days again and
again with the real `serving_warehouse` asset (the job's publish step alone, on gold files and a work
DB from a real run), each publish swapping a new file in with `os.replace`.

Expected: no read fails, none is inconsistent, and the reader saw several publishes (at least two
distinct publish ids, so it did read across swaps). A BI connection opened before the publishes
keeps reading its old snapshot, consistent, after the file was replaced under it. (So does every
new connection *in the same process* while that one stays open: DuckDB reuses the open database
instance for the same path. BI that must see new publishes reconnects with no connection left open.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.settings import get_settings
from tests.e2e.landing_fixture import DAYS
from tests.e2e.pipeline_process import REPO_ROOT, Workspace
from tests.readers import observe_duckdb, observe_duckdb_connection

pytestmark = pytest.mark.e2e

PUBLISHES = 8
READER_LIMITS = ("--max-reads", "20000", "--max-seconds", "150")
READY_TIMEOUT_S = 60.0


def _start_reader(target: Path, work: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.readers", "--backend", "duckdb", "--target", str(target),
         "--ready", str(work / "ready"), "--stop", str(work / "stop"), "--report", str(work / "report.json"),
         *READER_LIMITS],
        cwd=REPO_ROOT,
        stdout=(work / "reader.log").open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_ready(reader: subprocess.Popen[bytes], work: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not (work / "ready").exists():
        log = (work / "reader.log").read_text(errors="replace")
        assert reader.poll() is None, f"reader exited early:\n{log}"
        assert time.monotonic() < deadline, f"reader not ready after {READY_TIMEOUT_S:.0f} s:\n{log}"
        time.sleep(0.05)


def test_concurrent_reader_sees_only_whole_publishes(
    published_two_days: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = published_two_days.copy_to(tmp_path / "ws")
    monkeypatch.setenv("SEGMENTS_DATA_DIR", str(workspace.data_dir))
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.serving_db == workspace.serving_db
    from orchestration.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def("daily_segmentation")
    range_tags = {
        "dagster/asset_partition_range_start": DAYS[0].isoformat(),
        "dagster/asset_partition_range_end": DAYS[1].isoformat(),
    }
    held = duckdb.connect(str(workspace.serving_db), read_only=True)  # BI that never reconnects
    before = observe_duckdb_connection(held)

    reader_dir = tmp_path / "reader"
    reader_dir.mkdir()
    reader = _start_reader(workspace.serving_db, reader_dir)
    try:
        _wait_ready(reader, reader_dir)
        with dg.instance_for_test() as instance:
            for _ in range(PUBLISHES):
                result = job.execute_in_process(
                    instance=instance,
                    asset_selection=[dg.AssetKey("serving_warehouse")],
                    tags=range_tags,
                    raise_on_error=False,
                )
                assert result.success, [e.message for e in result.all_events if e.is_failure]
        (reader_dir / "stop").touch()
        reader.wait(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait(timeout=10)
    report = json.loads((reader_dir / "report.json").read_text())

    # The old inode, still whole. Close it before looking at the new file: within one process DuckDB
    # hands a new connect() to the same path the database instance still open, i.e. the old file.
    after = observe_duckdb_connection(held)
    held.close()
    assert after == before and after.problems() == []

    assert report["errors"] == [], report["errors"][:5]
    assert report["inconsistent"] == [], report["inconsistent"][:5]
    assert report["reads"] >= PUBLISHES, report
    assert len(report["publish_ids"]) >= 2, report
    with duckdb.connect(str(workspace.serving_db), read_only=True) as conn:
        rows = conn.execute("select publish_id from publish_log order by published_at").fetchall()
    log = [publish_id for (publish_id,) in rows]
    assert len(log) == 1 + PUBLISHES  # the base run's publish and ours
    seen = [log.index(publish_id) for publish_id in report["publish_ids"]]  # every id seen was published
    assert seen == sorted(seen)  # and the reader never went back to an older publish
    assert observe_duckdb(str(workspace.serving_db)).publish_id == log[-1]
