"""BI processes polling during repeated publishes see old or new tables, never a mix, and never fail.

Each reader is `tests/readers.py`'s `poll` in its own spawned process: PostgreSQL through one session
kept open (one REPEATABLE READ, READ ONLY transaction per read), the DuckDB serving file through a
fresh read-only connection per read.
"""

from __future__ import annotations

import functools
import multiprocessing
import shutil
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import psycopg
import pytest

from assets.publish.postgres import WarehouseTarget, publish_to_postgres
from tests.postgres.conftest import SampleRun, Warehouse
from tests.postgres.test_publish_safety import make_variant
from tests.readers import ReaderReport, observe_duckdb, observe_postgres_connection, poll

pytestmark = pytest.mark.postgres

SCHEMA = "polled"
PUBLISHES = 10
MAX_READS, MAX_SECONDS = 10_000_000, 600.0  # only a safety net: `stop` ends the readers


def _read_postgres(url: str, stop: Event, out: Queue) -> None:
    with psycopg.connect(url, autocommit=True, application_name="segments-test-reader") as pg:
        observe = functools.partial(observe_postgres_connection, pg)  # schema -> Observation
        out.put(poll(observe, SCHEMA, stop.is_set, MAX_READS, MAX_SECONDS))


def _read_duckdb(path: str, stop: Event, out: Queue) -> None:
    out.put(poll(observe_duckdb, path, stop.is_set, MAX_READS, MAX_SECONDS))


def test_readers_see_whole_publishes_only(
    sample_run: SampleRun, warehouse: Warehouse, reader_role: str, tmp_path: Path
) -> None:
    serving = tmp_path / "serving" / "segments.duckdb"
    serving.parent.mkdir()
    shutil.copyfile(sample_run.serving_copy, serving)
    target = WarehouseTarget(url=warehouse.url, schema=SCHEMA, reader_role=reader_role)
    assert publish_to_postgres(serving, target).swapped

    spawn = multiprocessing.get_context("spawn")  # real separate processes, as BI tools are
    stop, out = spawn.Event(), spawn.Queue()
    readers = [
        spawn.Process(target=_read_postgres, args=(warehouse.url_as(reader_role), stop, out)),
        spawn.Process(target=_read_duckdb, args=(str(serving), stop, out)),
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
        assert report.reads >= PUBLISHES and len(report.publish_ids) >= 3, report
