"""segment_migration built incrementally on top of the previous publish equals a full rebuild.

The new history differs from the published one on a day before the run (as when a run's segment
stage rewrote history but its publish was blocked) and gains two days past a month end.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from assets.publish.serving import PublishRequest, _build_migration, _build_segments
from assets.publish.tables import SEGMENT_HISTORY, SEGMENT_MIGRATION
from assets.segments.store import ensure_tables

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


def _work_db(path: Path, history: pl.DataFrame, days: list[date]) -> None:
    with duckdb.connect(str(path)) as conn:
        ensure_tables(conn)
        conn.register("h", history.to_arrow())
        conn.execute(f"insert into {SEGMENT_HISTORY.name} by name select * from h")
        conn.executemany("insert into segment_days_processed values (?)", [[d] for d in days])


def _migration(tmp_path: Path, name: str, request: PublishRequest, previous: Path | None) -> pl.DataFrame:
    with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as conn:
        conn.execute(f"attach '{request.work_db}' as work (read_only)")
        if previous is not None:
            conn.execute(f"attach '{previous}' as previous (read_only)")
        _build_segments(conn, request.days[-1])
        _build_migration(conn, request, previous is not None, request.days[-1])
        return pl.from_arrow(
            conn.sql(f"select * from {SEGMENT_MIGRATION.name} order by all").to_arrow_table()
        )


def _request(work_db: Path, days: list[date]) -> PublishRequest:
    return PublishRequest(
        serving_db=Path("unused"), work_db=work_db, run_id="test", days=days, kpi_files=[], kpi_long_files=[],
        retention_file=Path("unused"), experiments_file=Path("unused"), quality_files=[],
        catalog=pl.DataFrame(), campaigns_file=Path("unused"), clv_file=Path("unused"),
        clv_kpis_file=Path("unused"), memory_limit="1GB",
    )  # fmt: skip


def test_incremental_migration_equals_full_rebuild(tmp_path: Path) -> None:
    old_work, new_work = tmp_path / "old_work.duckdb", tmp_path / "new_work.duckdb"
    _work_db(old_work, PUBLISHED, JAN)
    _work_db(new_work, CURRENT, JAN + FEB)
    _migration(tmp_path, "previous", _request(old_work, JAN), previous=None)

    incremental = _migration(tmp_path, "incremental", _request(new_work, FEB), tmp_path / "previous.duckdb")
    full = _migration(tmp_path, "full", _request(new_work, FEB), previous=None)

    assert incremental.equals(full)
    # Hand-checked rows: b's move on Jan 27 (a day outside the run) and the January → February month.
    rows = set(incremental.iter_rows())
    assert ("day", "rfm", JAN_27, "Lost", "At Risk", 1) in rows
    assert ("month", "rfm", JAN_31, "Lost", "At Risk", 1) in rows
    assert ("month", "rfm", JAN_31, "New", "Loyal", 1) in rows
    assert ("day", "rfm", FEB[1], "Loyal", "Champions", 1) in rows
    assert ("day", "rfm", FEB[0], "(new)", "New", 1) in rows
