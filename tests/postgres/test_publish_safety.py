"""The live schema changes whole or not at all: failed, killed, stale or blocked publishes leave it alone."""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import sql

import assets.publish.postgres as pgpublish
from assets.publish.postgres import WarehouseTarget, newest_logged_counts, publish_to_postgres
from assets.publish.tables import PUBLISH_LOG, PUBLISHED_TABLES
from tests.postgres.conftest import SampleRun, Warehouse
from tests.postgres.helpers import fingerprint, schemas_like

pytestmark = pytest.mark.postgres


def make_variant(base: Path, out: Path, drop_rows: int) -> Path:
    """A serving file like `base` with `drop_rows` fewer rows per table and a newer publish_log row."""
    building = out.with_name(f".{out.name}.{uuid.uuid4().hex}.building")
    shutil.copyfile(base, building)
    with duckdb.connect(str(building)) as conn:
        counts = {}
        for table in PUBLISHED_TABLES:
            if table is PUBLISH_LOG:
                continue
            conn.execute(
                f"delete from {table.name} where rowid in (select rowid from {table.name} limit ?)",
                [drop_rows],
            )
            counts[table.name] = conn.execute(f"select count(*) from {table.name}").fetchall()[0][0]
        conn.execute(
            f"""insert into {PUBLISH_LOG.name} (publish_id, published_at, run_id, partition_start,
                partition_end, membership_as_of, row_counts)
            select ?, greatest(now(), max(published_at) + interval 1 millisecond), 'test-variant',
                max(partition_start), max(partition_end), max(membership_as_of), ?
            from {PUBLISH_LOG.name}""",
            [uuid.uuid4().hex, json.dumps(counts)],
        )
        conn.execute("checkpoint")
    building.replace(out)  # the serving file's own swap: build beside, then os.replace
    return out


@pytest.fixture
def schema() -> str:
    return f"s_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def target(warehouse: Warehouse, reader_role: str, schema: str) -> WarehouseTarget:
    return WarehouseTarget(url=warehouse.url, schema=schema, reader_role=reader_role, swap_wait_seconds=5)


@pytest.fixture
def published(sample_run: SampleRun, target: WarehouseTarget, tmp_path: Path) -> Iterator[Path]:
    """A first publish of the sample's serving file into the test's own schema."""
    serving = tmp_path / "segments.duckdb"
    shutil.copyfile(sample_run.serving_copy, serving)
    assert publish_to_postgres(serving, target).swapped
    yield serving


@pytest.fixture
def pg(warehouse: Warehouse) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse.url, autocommit=True) as conn:
        yield conn


def kill_publisher(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.admin_db_url, autocommit=True) as admin:
        killed = admin.execute(
            """select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = %s and datname = %s""",
            [pgpublish.APPLICATION_NAME, warehouse.database],
        ).fetchall()
    assert killed == [(True,)]


def failing_at(step_name: str, action: Callable[[], None]) -> Callable[[str], None]:
    def on_step(step: str) -> None:
        if step == step_name:
            action()

    return on_step


def test_exception_after_staging_load_leaves_the_live_schema(
    published: Path, target: WarehouseTarget, pg: psycopg.Connection, tmp_path: Path
) -> None:
    before = fingerprint(pg, target.schema)
    variant = make_variant(published, tmp_path / "v1.duckdb", 1)

    def boom() -> None:
        raise RuntimeError("injected after the staging load")

    with pytest.raises(RuntimeError, match="injected"):
        publish_to_postgres(variant, target, on_step=failing_at("staged", boom))
    assert fingerprint(pg, target.schema) == before
    assert schemas_like(pg, f"{target.schema}_") == []  # the staging schema was dropped


def test_failure_inside_the_swap_transaction_rolls_back(
    published: Path,
    target: WarehouseTarget,
    pg: psycopg.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = fingerprint(pg, target.schema)
    real_rename = pgpublish._refuse_older

    def fail_after_locking(*args: object) -> None:
        real_rename(*args)
        raise RuntimeError("injected inside the swap, live tables locked")

    monkeypatch.setattr(pgpublish, "_refuse_older", fail_after_locking)
    with pytest.raises(RuntimeError, match="inside the swap"):
        publish_to_postgres(make_variant(published, tmp_path / "v1.duckdb", 1), target)
    assert fingerprint(pg, target.schema) == before
    assert schemas_like(pg, f"{target.schema}_") == []


@pytest.mark.parametrize("kill_at", ["loaded segment_history", "staged"])
def test_publisher_killed_mid_publish_leaves_the_live_schema(
    published: Path,
    target: WarehouseTarget,
    warehouse: Warehouse,
    pg: psycopg.Connection,
    tmp_path: Path,
    kill_at: str,
) -> None:
    before = fingerprint(pg, target.schema)
    variant = make_variant(published, tmp_path / "v1.duckdb", 2)
    with pytest.raises(psycopg.OperationalError):
        publish_to_postgres(variant, target, on_step=failing_at(kill_at, lambda: kill_publisher(warehouse)))
    assert fingerprint(pg, target.schema) == before
    # Killed mid-load: the staging transaction rolled back. Killed after its commit: a leftover
    # staging schema, which BI cannot read and the next publish drops.
    leftovers = schemas_like(pg, f"{target.schema}_")
    assert len(leftovers) == (1 if kill_at == "staged" else 0)

    result = publish_to_postgres(variant, target)
    assert result.swapped
    assert schemas_like(pg, f"{target.schema}_") == []
    assert [n for n in result.notes if "leftover" in n] == [f"dropped leftover schema {s}" for s in leftovers]
    publish_id, logged = newest_logged_counts(pg, target.schema)
    assert publish_id == result.publish_id
    assert logged == {k: v for k, v in result.row_counts.items() if k != PUBLISH_LOG.name}


def test_an_older_serving_file_never_replaces_a_newer_publish(
    published: Path, target: WarehouseTarget, pg: psycopg.Connection, tmp_path: Path, sample_run: SampleRun
) -> None:
    newer = make_variant(published, tmp_path / "newer.duckdb", 1)
    assert publish_to_postgres(newer, target).swapped
    before = fingerprint(pg, target.schema)
    stale = publish_to_postgres(sample_run.serving_copy, target)
    assert not stale.swapped and "newer than the serving file" in stale.notes[-1]
    assert fingerprint(pg, target.schema) == before
    assert schemas_like(pg, f"{target.schema}_") == []


def test_swap_waits_for_a_running_bi_transaction_then_publishes(
    published: Path, target: WarehouseTarget, warehouse: Warehouse, tmp_path: Path, pg: psycopg.Connection
) -> None:
    variant = make_variant(published, tmp_path / "v1.duckdb", 3)
    outcome: dict[str, object] = {}
    with psycopg.connect(warehouse.url_as(target.reader_role), autocommit=True) as bi:
        with bi.transaction():
            bi.execute("set transaction isolation level repeatable read")
            first = bi.execute(
                sql.SQL("select count(*) from {}.segment_history").format(sql.Identifier(target.schema))
            )
            first_count = first.fetchone()[0]
            worker = threading.Thread(
                target=lambda: outcome.update(result=publish_to_postgres(variant, target))
            )
            worker.start()
            time.sleep(1.5)  # the publisher retries (NOWAIT) meanwhile, BI is not queued behind it
            again = bi.execute(
                sql.SQL("select count(*) from {}.publish_log").format(sql.Identifier(target.schema))
            )
            assert again.fetchone()[0] >= 1
            assert worker.is_alive()
            second = bi.execute(
                sql.SQL("select count(*) from {}.segment_history").format(sql.Identifier(target.schema))
            )
            assert second.fetchone()[0] == first_count
        worker.join(timeout=30)
    result = outcome["result"]
    assert result.swapped and any("attempts" in note for note in result.notes)
    assert newest_logged_counts(pg, target.schema)[0] == result.publish_id


def test_swap_gives_up_after_lock_timeout_and_leaves_the_live_schema(
    published: Path, target: WarehouseTarget, warehouse: Warehouse, tmp_path: Path, pg: psycopg.Connection
) -> None:
    impatient = WarehouseTarget(
        url=target.url,
        schema=target.schema,
        reader_role=target.reader_role,
        swap_wait_seconds=0.3,
        lock_timeout_seconds=0.5,
    )
    before = fingerprint(pg, target.schema)
    with psycopg.connect(warehouse.url_as(target.reader_role), autocommit=True) as bi, bi.transaction():
        bi.execute(sql.SQL("select count(*) from {}.customers").format(sql.Identifier(target.schema)))
        with pytest.raises(psycopg.errors.LockNotAvailable):
            publish_to_postgres(make_variant(published, tmp_path / "v1.duckdb", 1), impatient)
    assert fingerprint(pg, target.schema) == before
    assert schemas_like(pg, f"{target.schema}_") == []


def test_first_publish_into_an_empty_schema_a_dba_created(
    sample_run: SampleRun, target: WarehouseTarget, pg: psycopg.Connection
) -> None:
    pg.execute(sql.SQL("create schema {}").format(sql.Identifier(target.schema)))
    result = publish_to_postgres(sample_run.serving_copy, target)
    assert result.swapped
    assert newest_logged_counts(pg, target.schema)[0] == result.publish_id
    assert schemas_like(pg, f"{target.schema}_") == []
