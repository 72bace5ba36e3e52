"""The segment stage's store in the working DuckDB: what a chunk's write leaves behind, and what a
range that restarts the stored history reads and writes."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings

from assets.segments.history import STAY_COLUMNS, rebuild_stays
from assets.segments.store import (
    CLOSED_TABLE,
    HISTORY_TABLE,
    OPEN_TABLE,
    WRITES_TABLE,
    Restart,
    checkpoint,
    ensure_tables,
    processed_through,
    replace_stays,
    stays_touching,
)
from tests.unit.test_history import D0, Store, daily_frame, scenarios


def _wal_bytes(db: Path) -> int:
    wal = db.with_name(db.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_a_checkpoint_moves_the_written_stays_from_the_log_into_the_file(tmp_path: Path) -> None:
    db = tmp_path / "work.duckdb"
    conn = duckdb.connect(str(db))
    ensure_tables(conn)
    conn.execute("checkpoint")
    conn.execute(
        f"""insert into {OPEN_TABLE} (customer_key, family, segment, valid_from)
        select 'c' || range, 'rfm', 'champions', date '2025-01-01' from range(50000)"""
    )
    assert _wal_bytes(db) > 0
    assert checkpoint(conn)
    assert _wal_bytes(db) == 0
    conn.close()
    reopened = duckdb.connect(str(db), read_only=True)
    assert reopened.execute(f"select count(*) from {HISTORY_TABLE}").fetchall() == [(50000,)]


def _run_range(
    conn: duckdb.DuckDBPyConnection, daily: pl.DataFrame, first: date, last: date
) -> Restart | None:
    """What the segment asset does with one range, in one chunk, customers as keys."""
    restart = Restart.for_range(conn, first, last)
    touched = restart.open_stays(conn, None) if restart else stays_touching(conn, first)
    processed = restart.before if restart else processed_through(conn)
    days = daily.filter(pl.col("as_of_date").is_between(first, last))
    replace_stays(conn, first, last, rebuild_stays(touched, days, first, last, processed), None, restart)
    return restart


def _stored(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    rows = conn.execute(f"select {', '.join(STAY_COLUMNS)} from {HISTORY_TABLE}").fetchall()
    return sorted(rows, key=repr)


@hyp_settings(max_examples=40, deadline=None)
@given(scenarios())
def test_ranges_in_any_order_through_the_store_give_the_one_backfill_history(
    scenario: tuple[pl.DataFrame, int, list],
) -> None:
    """Ranges that reach the end of the stored history restart it (`Restart`), the others are
    stitched into it; either way the stored rows are those of one backfill of every day."""
    daily, days, ranges = scenario
    last = D0 + timedelta(days=days - 1)
    expected = sorted(Store().apply(daily, D0, last).history.rows(), key=repr)
    conn = duckdb.connect()
    ensure_tables(conn)
    for start, end in ranges:
        _run_range(conn, daily, D0 + timedelta(days=start), D0 + timedelta(days=end))
    assert _stored(conn) == expected
    assert processed_through(conn) == last
    tail = D0 + timedelta(days=days // 2)
    rerun = _run_range(conn, daily, tail, last)  # a lookback rerun of the last days
    assert rerun == (Restart(before=tail - timedelta(days=1)) if tail > D0 else Restart(before=None))
    assert _stored(conn) == expected
    rerun = _run_range(conn, daily, D0, last)  # an analyst's backfill of everything, again
    assert rerun == Restart(before=None)
    assert _stored(conn) == expected


def test_a_restart_reads_only_the_open_stays_and_logs_the_first_day_it_forgets() -> None:
    daily = daily_frame({"a": ["x", "y", "y", "x", "x"], "b": ["z", "z", "z", "z", "z"]})
    conn = duckdb.connect()
    ensure_tables(conn)
    day = lambda n: D0 + timedelta(days=n)  # noqa: E731
    _run_range(conn, daily, day(0), day(1))
    _run_range(conn, daily, day(3), day(4))  # day 2 never processed: the stays open on day 1 close
    restart = Restart.for_range(conn, day(3), day(4))
    assert restart == Restart(before=day(1))
    assert Restart.for_range(conn, day(2), day(3)) is None  # the stored history goes on after it
    assert Restart.for_range(conn, day(5), day(6)) is None  # nothing stored after its first day
    # As processed through day 1: a in y since day 1, b in z since day 0, both open.
    open_stays = restart.open_stays(conn, None).sort("customer_key")
    assert open_stays.select("customer_key", "segment", "valid_from", "valid_to").rows() == [
        ("a", "y", day(1), None),
        ("b", "z", day(0), None),
    ]
    _run_range(conn, daily, day(3), day(4))
    first_day = conn.execute(
        f"select first_day from {WRITES_TABLE} order by write_no desc limit 1"
    ).fetchall()
    assert first_day == [(day(2),)]  # the stays closed on day 2 (the gap) were opened again
    expected = Store().apply(daily, day(0), day(1)).apply(daily, day(3), day(4)).history
    assert _stored(conn) == sorted(expected.rows(), key=repr)


def test_a_store_written_as_one_table_is_split_into_open_and_closed_stays_once(tmp_path: Path) -> None:
    db = tmp_path / "work.duckdb"
    conn = duckdb.connect(str(db))
    conn.execute(
        f"""create table {HISTORY_TABLE} (customer_key varchar not null, family varchar not null,
        segment varchar not null, score double, recency_score tinyint, frequency_score tinyint,
        monetary_score tinyint, valid_from date not null, valid_to date, previous_segment varchar)"""
    )
    rows = [
        ("a", "rfm", "x", 1.0, 1, 2, 3, D0, D0 + timedelta(days=4), None),
        ("a", "rfm", "y", 2.0, 3, 2, 1, D0 + timedelta(days=4), None, "x"),
        ("b", "rfm", "z", None, None, None, None, D0, None, None),
    ]
    conn.executemany(f"insert into {HISTORY_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    ensure_tables(conn)
    ensure_tables(conn)  # a second run finds the view and leaves it
    assert sorted(conn.execute(f"select * from {HISTORY_TABLE}").fetchall(), key=repr) == sorted(
        rows, key=repr
    )
    assert conn.execute(f"select customer_key, segment from {OPEN_TABLE} order by 1").fetchall() == [
        ("a", "y"),
        ("b", "z"),
    ]
    assert conn.execute(f"select customer_key, segment from {CLOSED_TABLE}").fetchall() == [("a", "x")]
    with pytest.raises(duckdb.ConstraintException):
        conn.execute(f"insert into {OPEN_TABLE} select * from {CLOSED_TABLE}")
