"""Build the DuckDB serving file beside the live one, then swap it in atomically.

DuckDB allows one writer or many readers per file, never both, so BI must never share a file with
a writer. The new file is built under a temporary name, CHECKPOINTed and closed, then
`os.replace`d over the old one: a reader that has the old file open keeps reading the old inode,
a reader that opens afterwards sees the new one, and nobody ever sees a half-built table.

Publishing is incremental: the new file starts from what was published before and replaces only
the days of this run. Data that failed a gate in some earlier run is therefore never swept in by
a later run, and the previous publish stays as it was whenever this one does not complete.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from assets.publish.tables import (
    CUSTOMERS,
    PUBLISH_LOG,
    PUBLISHED_TABLES,
    SEGMENT_KPIS_DAILY,
    SEGMENT_MEMBERSHIP,
    PublishedTable,
)


@dataclass(frozen=True)
class PublishRequest:
    serving_db: Path
    work_db: Path
    run_id: str
    days: list[date]
    kpi_files: list[Path]
    latest_segment_file: Path


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Gold paths contain `dt=YYYY-MM-DD`; DuckDB would turn that into an extra `dt` column unless told not to.
def _files_literal(paths: list[Path]) -> str:
    return "[" + ", ".join(_sql_literal(str(p)) for p in paths) + "]"


def publish(request: PublishRequest) -> dict[str, int]:
    """Write and swap in a new serving file; return row counts per table."""
    target = request.serving_db
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.{uuid.uuid4().hex}.building")
    try:
        with duckdb.connect(str(building)) as conn:
            has_previous = target.exists()
            if has_previous:
                conn.execute(f"attach {_sql_literal(str(target))} as previous (read_only)")
            conn.execute(f"attach {_sql_literal(str(request.work_db))} as work (read_only)")
            _build_kpis(conn, request, has_previous)
            membership_as_of = _build_snapshots(conn, request, has_previous)
            counts = {
                table.name: conn.execute(f"select count(*) from {table.name}").fetchone()[0]
                for table in PUBLISHED_TABLES
                if table is not PUBLISH_LOG
            }
            _append_publish_log(conn, request, has_previous, membership_as_of, counts)
            counts[PUBLISH_LOG.name] = conn.execute(f"select count(*) from {PUBLISH_LOG.name}").fetchone()[0]
            for table in PUBLISHED_TABLES:
                _describe(conn, table)
            conn.execute("detach work")
            if has_previous:
                conn.execute("detach previous")
            conn.execute("checkpoint")
        os.replace(building, target)
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
    return counts


def _build_kpis(conn: duckdb.DuckDBPyConnection, request: PublishRequest, has_previous: bool) -> None:
    fresh = f"select * from read_parquet({_files_literal(request.kpi_files)}, hive_partitioning = false)"
    if has_previous:
        kept = f"""select * from previous.{SEGMENT_KPIS_DAILY.name}
            where as_of_date not between ? and ?"""
        source = f"{kept} union all by name {fresh}"
        params = [request.days[0], request.days[-1]]
    else:
        source, params = fresh, []
    conn.execute(
        f"create table {SEGMENT_KPIS_DAILY.name} as select * from ({source}) order by as_of_date, segment",
        params,
    )


def _build_snapshots(conn: duckdb.DuckDBPyConnection, request: PublishRequest, has_previous: bool) -> date:
    """Current-state tables follow the newest processed day: a backfill of old days keeps them."""
    run_as_of = request.days[-1]
    if has_previous:
        previous_as_of = conn.execute(
            f"select max(membership_as_of) from previous.{PUBLISH_LOG.name}"
        ).fetchone()[0]
        if previous_as_of is not None and previous_as_of > run_as_of:
            for table in (SEGMENT_MEMBERSHIP, CUSTOMERS):
                conn.execute(f"create table {table.name} as select * from previous.{table.name}")
            return previous_as_of
    conn.execute(
        f"""create table {SEGMENT_MEMBERSHIP.name} as
        select * from read_parquet({_files_literal([request.latest_segment_file])}, hive_partitioning = false)
        order by customer_key"""
    )
    conn.execute(
        f"""create table {CUSTOMERS.name} as
        select customer_key, signup_date, country, marketing_consent, first_loaded_date
        from work.dim_customers order by customer_key"""
    )
    return run_as_of


def _append_publish_log(
    conn: duckdb.DuckDBPyConnection,
    request: PublishRequest,
    has_previous: bool,
    membership_as_of: date,
    counts: dict[str, int],
) -> None:
    conn.execute(
        f"""create table {PUBLISH_LOG.name} (
            publish_id varchar, published_at timestamptz, run_id varchar, partition_start date,
            partition_end date, membership_as_of date, row_counts json)"""
    )
    if has_previous:
        conn.execute(f"insert into {PUBLISH_LOG.name} by name select * from previous.{PUBLISH_LOG.name}")
    conn.execute(
        f"insert into {PUBLISH_LOG.name} values (?, ?, ?, ?, ?, ?, ?)",
        [
            uuid.uuid4().hex,
            datetime.now(UTC),
            request.run_id,
            request.days[0],
            request.days[-1],
            membership_as_of,
            json.dumps(counts, sort_keys=True),
        ],
    )


def _describe(conn: duckdb.DuckDBPyConnection, table: PublishedTable) -> None:
    conn.execute(f"comment on table {table.name} is {_sql_literal(table.description)}")
    for column, description in table.columns.items():
        conn.execute(f"comment on column {table.name}.{column} is {_sql_literal(description)}")
