"""A publish that patches the previous file equals one built from scratch.

The work DB's history is written through the segment stage's own `replace_stays`, so its write
log is real: after the previous publish, a run rewrote history from Jan 27 but its publish was
blocked, then a run for Feb 1-2 went past a month end. The patched history, membership and
migration must equal a fresh build's.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from assets.publish.serving import (
    HistoryChange,
    PublishRequest,
    _build_migration,
    _build_segments,
    _history_change,
    _record_history_state,
)
from assets.publish.tables import SEGMENT_HISTORY, SEGMENT_MEMBERSHIP, SEGMENT_MIGRATION
from assets.segments.history import KEYS, StayRewrite
from assets.segments.store import ensure_tables, replace_stays, stays_touching

# Processed days Dec 28 .. Jan 31 (two month ends: a 'month' row for January), then Feb 1 and 2.
JAN = [date(2025, 12, 28) + timedelta(days=i) for i in range(35)]
FEB = [date(2026, 2, 1), date(2026, 2, 2)]
JAN_27, JAN_28, JAN_31 = date(2026, 1, 27), date(2026, 1, 28), date(2026, 1, 31)


def _stays(rows: list[tuple[str, str, date, date | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "customer_key": c, "family": "rfm", "segment": seg, "score": None, "recency_score": None,
                "frequency_score": None, "monetary_score": None, "valid_from": start, "valid_to": end,
                "previous_segment": prev,
            }
            for c, seg, start, end, prev in rows
        ],
        schema_overrides={"score": pl.Float64, "recency_score": pl.Int8, "frequency_score": pl.Int8,
                          "monetary_score": pl.Int8, "valid_to": pl.Date, "previous_segment": pl.String},
    )  # fmt: skip


PUBLISHED = _stays(
    [
        ("a", "New", JAN[0], JAN_28, None),
        ("a", "Loyal", JAN_28, None, "New"),
        ("b", "Lost", JAN[0], None, None),
    ]
)
# Jan 27 now moves b to "At Risk" (a blocked run's rewrite), Feb 2 moves a to "Champions".
CURRENT = _stays(
    [
        ("a", "New", JAN[0], JAN_28, None),
        ("a", "Loyal", JAN_28, FEB[1], "New"),
        ("a", "Champions", FEB[1], None, "Loyal"),
        ("b", "Lost", JAN[0], JAN_27, None),
        ("b", "At Risk", JAN_27, None, "Lost"),
        ("c", "New", FEB[0], None, None),
    ]
)


BLOCKED_RUN = _stays(
    [
        ("a", "New", JAN[0], JAN_28, None),
        ("a", "Loyal", JAN_28, None, "New"),
        ("b", "Lost", JAN[0], JAN_27, None),
        ("b", "At Risk", JAN_27, None, "Lost"),
    ]
)
TABLES = {
    SEGMENT_HISTORY.name: "customer_key, family, valid_from",
    SEGMENT_MEMBERSHIP.name: "customer_key, family",
    SEGMENT_MIGRATION.name: "all",
}


def _write(work_db: Path, first: date, last: date, stays: pl.DataFrame) -> None:
    """What the segment stage writes for [first, last]: the stays touching `first` onwards."""
    touching = stays.filter(pl.col("valid_to").is_null() | (pl.col("valid_to") >= first))
    with duckdb.connect(str(work_db)) as conn:
        ensure_tables(conn)
        pairs = pl.concat([stays_touching(conn, first).select(KEYS), touching.select(KEYS)]).unique()
        replace_stays(conn, first, last, StayRewrite(pairs=pairs, stays=touching, kept=touching.clear()))


def _publish(
    work_db: Path, days: list[date], path: Path, previous: Path | None
) -> tuple[HistoryChange, dict[str, pl.DataFrame]]:
    """The segment part of `publish`: patch a copy of `previous`, or build from scratch."""
    if previous is not None:
        shutil.copyfile(previous, path)
    request = _request(work_db, days)
    with duckdb.connect(str(path)) as conn:
        conn.execute(f"attach '{work_db}' as work (read_only)")
        change = _history_change(conn)
        _build_segments(conn, days[-1], change)
        _build_migration(conn, request, change, days[-1])
        _record_history_state(conn, change)
        tables = {
            name: pl.from_arrow(conn.sql(f"select * from {name} order by {order}").to_arrow_table())
            for name, order in TABLES.items()
        }
    return change, tables


def _request(work_db: Path, days: list[date]) -> PublishRequest:
    return PublishRequest(
        serving_db=Path("unused"), work_db=work_db, run_id="test", days=days, kpi_files=[], kpi_long_files=[],
        retention_file=Path("unused"), experiments_file=Path("unused"), quality_files=[],
        catalog=pl.DataFrame(), campaigns_file=Path("unused"), clv_file=Path("unused"),
        clv_kpis_file=Path("unused"), memory_limit="1GB",
    )  # fmt: skip


def test_patched_publish_equals_a_fresh_build(tmp_path: Path) -> None:
    work = tmp_path / "work.duckdb"
    _write(work, JAN[0], JAN[-1], PUBLISHED)
    first, _ = _publish(work, JAN, tmp_path / "previous.duckdb", previous=None)
    assert first.rebuild
    _write(work, JAN_27, JAN[-1], BLOCKED_RUN)  # its publish was blocked
    _write(work, FEB[0], FEB[-1], CURRENT)

    change, patched = _publish(work, FEB, tmp_path / "patched.duckdb", tmp_path / "previous.duckdb")
    _, fresh = _publish(work, FEB, tmp_path / "fresh.duckdb", previous=None)

    assert not change.rebuild and change.first_day == JAN_27  # the earliest rewrite since the publish
    for name in TABLES:
        assert patched[name].equals(fresh[name]), name
    assert (
        patched[SEGMENT_HISTORY.name]
        .sort("customer_key", "valid_from")
        .equals(CURRENT.sort("customer_key", "valid_from"))
    )
    # Hand-checked rows: b's move on Jan 27 (a day outside the run) and the January → February month.
    rows = set(patched[SEGMENT_MIGRATION.name].iter_rows())
    assert ("day", "rfm", JAN_27, "Lost", "At Risk", 1) in rows
    assert ("month", "rfm", JAN_31, "Lost", "At Risk", 1) in rows
    assert ("month", "rfm", JAN_31, "New", "Loyal", 1) in rows
    assert ("day", "rfm", FEB[1], "Loyal", "Champions", 1) in rows
    assert ("day", "rfm", FEB[0], "(new)", "New", 1) in rows


def test_republishing_without_a_new_write_changes_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work.duckdb"
    _write(work, JAN[0], JAN[-1], PUBLISHED)
    _, before = _publish(work, JAN, tmp_path / "first.duckdb", previous=None)
    change, again = _publish(work, JAN, tmp_path / "again.duckdb", tmp_path / "first.duckdb")
    assert not change.rebuild and change.first_day is None
    for name in TABLES:
        assert again[name].equals(before[name]), name


def test_a_different_work_db_rebuilds_the_history(tmp_path: Path) -> None:
    """A work DB built anew (another store id) may share write numbers with the old one: start over."""
    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    _write(old, JAN[0], JAN[-1], BLOCKED_RUN)
    _publish(old, JAN, tmp_path / "previous.duckdb", previous=None)
    _write(new, JAN[0], JAN[-1], PUBLISHED)
    change, patched = _publish(new, JAN, tmp_path / "patched.duckdb", tmp_path / "previous.duckdb")
    assert change.rebuild
    assert (
        patched[SEGMENT_HISTORY.name]
        .sort("customer_key", "valid_from")
        .equals(PUBLISHED.sort("customer_key", "valid_from"))
    )
