"""BI processes polling during repeated publishes see old or new tables, never a mix, and never fail."""

from __future__ import annotations

import multiprocessing
import shutil
import time
from pathlib import Path

import pytest

from assets.publish.postgres import WarehouseTarget, publish_to_postgres
from assets.publish.tables import PUBLISH_LOG, PUBLISHED_TABLES
from tests.postgres.conftest import SampleRun, Warehouse
from tests.postgres.readers import ReaderReport, poll_duckdb, poll_postgres
from tests.postgres.test_publish_safety import make_variant

pytestmark = pytest.mark.postgres

SCHEMA = "polled"
PUBLISHES = 20


def test_readers_see_whole_publishes_only(
    sample_run: SampleRun, warehouse: Warehouse, reader_role: str, tmp_path: Path
) -> None:
    serving = tmp_path / "serving" / "segments.duckdb"
    serving.parent.mkdir()
    shutil.copyfile(sample_run.serving_copy, serving)
    target = WarehouseTarget(url=warehouse.url, schema=SCHEMA, reader_role=reader_role)
    assert publish_to_postgres(serving, target).swapped

    tables = [t.name for t in PUBLISHED_TABLES if t is not PUBLISH_LOG]
    spawn = multiprocessing.get_context("spawn")  # real separate processes, as BI tools are
    stop, out = spawn.Event(), spawn.Queue()
    readers = [
        spawn.Process(target=poll_postgres, args=(warehouse.url_as(reader_role), SCHEMA, tables, stop, out)),
        spawn.Process(target=poll_duckdb, args=(str(serving), tables, stop, out)),
    ]
    for reader in readers:
        reader.start()
    try:
        time.sleep(3)  # let both readers import and start polling before the first swap
        swapped = 0
        for i in range(PUBLISHES):
            # Each publish has different row counts, so a read mixing two publishes cannot match the log.
            make_variant(sample_run.serving_copy, serving, drop_rows=1 + i % 5)
            swapped += publish_to_postgres(serving, target).swapped
        time.sleep(0.5)
    finally:
        stop.set()
        reports: list[ReaderReport] = [out.get(timeout=60) for _ in readers]
        for reader in readers:
            reader.join(timeout=30)
    assert swapped == PUBLISHES
    for report in reports:
        assert report.errors == []
        assert report.inconsistent == []
        assert report.reads >= PUBLISHES and len(report.publishes_seen) >= 3, report
