"""Build the DuckDB serving file beside the live one, then swap it in atomically.

DuckDB allows one writer or many readers per file, never both, so BI must never share a file with
a writer. The new file is built under a temporary name, CHECKPOINTed and closed, then
`os.replace`d over the old one: a reader that has the old file open keeps reading the old inode,
a reader that opens afterwards sees the new one, and nobody ever sees a half-built table.

A publish starts from a copy of the live file and changes only what the run changed, so a daily
publish costs O(one day), not O(history):

- `segment_history` is copied from the working database, where the segment stage keeps one
  canonical, already gated history. Every rewrite there is logged with the first day it touched
  (assets/segments/store.py); the serving file remembers the last write it holds
  (`PUBLISH_STATE_TABLE`), so only stays that end on or after the earliest day rewritten since are
  replaced, also when a run's publish was blocked in between. An unknown store (a new work DB, the
  first publish) copies the history whole.
- `segment_migration` is recomputed from that day on; KPI and quality days are replaced by the
  run's (gated) gold files, so days from a run whose gates failed are never swept in by a later run.
- Current-state tables (membership, catalog, audiences, customers, retention, experiments,
  campaigns, CLV) are rebuilt: they are one day's worth of rows.

Without a live file everything is built from scratch, which gives the same tables (the e2e tests
compare a day-by-day history with one backfill).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from assets.kpis.clv import SEGMENT_METRICS as CLV_SEGMENT_METRICS
from assets.publish.stay_counts import stayed_counts_sql
from assets.publish.tables import (
    AUDIENCE_EXPORT,
    CAMPAIGN_PERFORMANCE,
    CLV_CUSTOMER,
    COHORT_RETENTION,
    CUSTOMERS,
    DATA_QUALITY_LOG,
    EXPERIMENT_RESULTS,
    KPI_DAILY,
    PUBLISH_LOG,
    PUBLISHED_TABLES,
    SEGMENT_CATALOG,
    SEGMENT_HISTORY,
    SEGMENT_KPIS_DAILY,
    SEGMENT_MEMBERSHIP,
    SEGMENT_MIGRATION,
    PublishedTable,
)
from assets.segments.store import STORE_ID_TABLE, TOUCHING_SQL, WRITES_TABLE
from assets.work_db import scalar

AUDIENCES_LINK = "audiences"
# Which history write of which work DB the file holds: bookkeeping, in its own schema beside the
# BI tables of `main` (BI readers and the PostgreSQL copy see only PUBLISHED_TABLES).
PUBLISH_STATE_SCHEMA = "pipeline"
PUBLISH_STATE_TABLE = f"{PUBLISH_STATE_SCHEMA}.publish_state"


@dataclass(frozen=True)
class PublishRequest:
    serving_db: Path
    work_db: Path
    run_id: str
    days: list[date]
    kpi_files: list[Path]
    kpi_long_files: list[Path]
    retention_file: Path
    experiments_file: Path
    quality_files: list[Path]
    catalog: pl.DataFrame  # family, segment, recommended_action
    campaigns_file: Path  # campaign_performance of the run's last day
    clv_file: Path  # clv_customer of the run's last day
    clv_kpis_file: Path  # per-segment CLV rows in kpi_daily's format, the run's last day
    memory_limit: str  # DuckDB's cap while building the file (operations.duckdb_memory_limit)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Gold paths contain `dt=YYYY-MM-DD`; DuckDB would turn that into an extra `dt` column unless told not to.
def _files_literal(paths: list[Path]) -> str:
    return "[" + ", ".join(_sql_literal(str(p)) for p in paths) + "]"


@dataclass(frozen=True)
class HistoryChange:
    """What differs between the history in the file being built and the work DB's."""

    rebuild: bool  # the file's history is not a known state of this work DB: replace it whole
    first_day: date | None  # else: stays ending on/after this day were rewritten (None: nothing was)
    write_no: int  # the last write of the work DB, recorded in the new file
    store_id: str  # the work DB's, recorded beside it


def publish(request: PublishRequest) -> dict[str, int]:
    """Write and swap in a new serving file (and audience CSVs); return row counts per table."""
    target = request.serving_db
    target.parent.mkdir(parents=True, exist_ok=True)
    publish_id = uuid.uuid4().hex
    _remove_dead_builds(target)
    building = target.with_name(f".{target.name}.{publish_id}.building")
    try:
        has_previous = target.exists()
        if has_previous:
            shutil.copyfile(target, building)  # the live file was checkpointed and closed: no WAL
        with duckdb.connect(str(building), config={"memory_limit": request.memory_limit}) as conn:
            conn.execute(f"attach {_sql_literal(str(request.work_db))} as work (read_only)")
            as_of = scalar(conn, "select max(as_of_date) from work.segment_days_processed")
            previous_is_newer = _previous_is_newer(conn, request)
            change = _history_change(conn)
            _build_segments(conn, as_of, change)
            _build_migration(conn, request, change, as_of)
            _build_current_state(conn, request, previous_is_newer)
            _build_catalog_and_audiences(conn, request.catalog)
            _build_incremental(conn, SEGMENT_KPIS_DAILY, request.kpi_files, request)
            _build_incremental(conn, KPI_DAILY, request.kpi_long_files, request)
            _replace_clv_snapshot(conn, request, previous_is_newer)
            _build_incremental(conn, DATA_QUALITY_LOG, request.quality_files, request, "delivery_day")
            counts = {t.name: _count(conn, t) for t in PUBLISHED_TABLES if t is not PUBLISH_LOG}
            _append_publish_log(conn, request, publish_id, as_of, counts)
            counts[PUBLISH_LOG.name] = _count(conn, PUBLISH_LOG)
            for table in PUBLISHED_TABLES:
                _describe(conn, table)
            conn.execute(
                f"""create or replace macro segments_as_of(d) as table
                select * from {SEGMENT_HISTORY.name}
                where valid_from <= d and (valid_to is null or valid_to > d)"""
            )
            _record_history_state(conn, change)
            audience_frame = pl.from_arrow(conn.sql(f"select * from {AUDIENCE_EXPORT.name}").to_arrow_table())
            conn.execute("detach work")
            conn.execute("checkpoint")
        audiences = _write_audience_files(audience_frame, target.parent, publish_id)
        os.replace(building, target)
        _point_link_at(target.parent / AUDIENCES_LINK, audiences)
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
    return counts


def _remove_dead_builds(target: Path) -> None:
    """Files a killed publish left behind. Publishes run one at a time (the `duckdb_writer` pool), so
    any build file present when one starts belongs to a publish that died."""
    for leftover in target.parent.glob(f".{target.name}.*.building*"):
        leftover.unlink(missing_ok=True)


def _count(conn: duckdb.DuckDBPyConnection, table: PublishedTable) -> int:
    return scalar(conn, f"select count(*) from {table.name}")


def _covers(alias: str, day: str) -> str:
    return f"{alias}.valid_from <= {day} and ({alias}.valid_to is null or {alias}.valid_to > {day})"


def _exists(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> bool:
    found = scalar(
        conn,
        """select count(*) from duckdb_tables()
        where database_name = current_database() and schema_name = ? and table_name = ?""",
        [schema, table],
    )
    return bool(found)


def _history_change(conn: duckdb.DuckDBPyConnection) -> HistoryChange:
    """Compare the history write the file holds with the work DB's log of writes."""
    store_id = scalar(conn, f"select any_value(store_id) from work.{STORE_ID_TABLE}")
    last_write = int(scalar(conn, f"select coalesce(max(write_no), 0) from work.{WRITES_TABLE}") or 0)
    held = (
        conn.execute(f"select store_id, history_write_no from {PUBLISH_STATE_TABLE}").fetchall()
        if _exists(conn, "publish_state", PUBLISH_STATE_SCHEMA) and _exists(conn, SEGMENT_HISTORY.name)
        else []
    )
    if not held or held[0][0] != store_id or held[0][1] > last_write:
        return HistoryChange(rebuild=True, first_day=None, write_no=last_write, store_id=store_id)
    first_day = scalar(
        conn, f"select min(first_day) from work.{WRITES_TABLE} where write_no > ?", [held[0][1]]
    )
    return HistoryChange(rebuild=False, first_day=first_day, write_no=last_write, store_id=store_id)


def _record_history_state(conn: duckdb.DuckDBPyConnection, change: HistoryChange) -> None:
    conn.execute(f"create schema if not exists {PUBLISH_STATE_SCHEMA}")
    conn.execute(
        f"""create or replace table {PUBLISH_STATE_TABLE} as
        select ?::varchar as store_id, ?::bigint as history_write_no""",
        [change.store_id, change.write_no],
    )


def _build_segments(conn: duckdb.DuckDBPyConnection, as_of: date, change: HistoryChange) -> None:
    """History: whole, or only the stays a rewrite since the last publish can have touched (those
    ending on or after its first day: every stay the segment stage can have rewritten, and the open
    stays it left in place)."""
    if change.rebuild:
        conn.execute(
            f"""create or replace table {SEGMENT_HISTORY.name} as
            select * from work.segment_history order by customer_key, family, valid_from"""
        )
    elif change.first_day is not None:
        conn.execute(f"delete from {SEGMENT_HISTORY.name} where {TOUCHING_SQL}", [change.first_day])
        conn.execute(
            f"insert into {SEGMENT_HISTORY.name} select * from work.segment_history where {TOUCHING_SQL}",
            [change.first_day],
        )
    conn.execute(
        f"""create or replace table {SEGMENT_MEMBERSHIP.name} as
        select ?::date as as_of_date, customer_key, family, segment, score, recency_score, frequency_score,
            monetary_score, valid_from as member_since, previous_segment
        from {SEGMENT_HISTORY.name} where valid_to is null order by customer_key, family""",
        [as_of],
    )


def _build_migration(
    conn: duckdb.DuckDBPyConnection, request: PublishRequest, change: HistoryChange, as_of: date
) -> None:
    """Day and month-end moves between segments, recomputed only over the days that can have changed.

    A 'day' row for D (the day before → D) depends on membership on D - 1 and D; a 'month' row on
    its month end and the previous one. Membership differs from the file's only on and after the
    first day rewritten since its publish (and on the run's days), so rows from that day on are
    recomputed and every other row is kept: a daily publish does not rescan the whole history.
    """
    incremental = not change.rebuild and _exists(conn, SEGMENT_MIGRATION.name)
    if incremental:
        first = min(d for d in (change.first_day, request.days[0]) if d is not None)
        last = max(as_of, request.days[-1]) + timedelta(days=1)  # the day after compares against it
        recompute_day = "d.as_of_date between $first and $last"
        recompute_month = "as_of_date >= $first and previous_end <= $last"
        stays_touching = "valid_from < $last and (valid_to is null or valid_to > $first)"
        params: dict[str, date] = {"first": first, "last": last}
    else:
        recompute_day = recompute_month = stays_touching = "true"
        params = {}
    conn.execute(
        f"""create or replace temp table recomputed_migration as
        with days as (select as_of_date from work.segment_days_processed as d where {recompute_day}),
        entries as (
            select family, valid_from as as_of_date, coalesce(previous_segment, '(new)') as from_segment,
                segment as to_segment, count(*) as customers
            from {SEGMENT_HISTORY.name}
            where valid_from in (select as_of_date from days)
            group by all
        ),
        stayed as ({stayed_counts_sql(SEGMENT_HISTORY.name, "days", stays_touching)}),
        all_month_ends as (
            select as_of_date, lag(as_of_date) over (order by as_of_date) as previous_end
            from work.segment_days_processed where as_of_date = last_day(as_of_date)
        ),
        recomputed_month_ends as (
            select * from all_month_ends where previous_end is not null and {recompute_month}
        ),
        at_end as (
            select m.as_of_date, m.previous_end, h.customer_key, h.family, h.segment
            from recomputed_month_ends as m
            join {SEGMENT_HISTORY.name} as h on {_covers("h", "m.as_of_date")}
        ),
        at_previous_end as (
            select m.as_of_date, h.customer_key, h.family, h.segment
            from recomputed_month_ends as m
            join {SEGMENT_HISTORY.name} as h on {_covers("h", "m.previous_end")}
        ),
        monthly as (
            select now.family, now.as_of_date, coalesce(was.segment, '(new)') as from_segment,
                now.segment as to_segment, count(*) as customers
            from at_end as now
            left join at_previous_end as was using (as_of_date, customer_key, family)
            group by all
        )
        select 'day' as period, family, as_of_date, from_segment, to_segment, customers::bigint as customers
        from (select * from entries union all select * from stayed)
        union all
        select 'month', family, as_of_date, from_segment, to_segment, customers::bigint from monthly
        union all
        -- a month end whose row is recomputed, even when it has no rows any more
        select 'month-end', null, as_of_date, null, null, null from recomputed_month_ends""",
        params,
    )
    if incremental:
        conn.execute(
            f"""delete from {SEGMENT_MIGRATION.name}
            where (period = 'day' and as_of_date between $first and $last)
                or (period = 'month' and as_of_date in
                    (select as_of_date from recomputed_migration where period = 'month-end'))""",
            params,
        )
        conn.execute(
            f"""insert into {SEGMENT_MIGRATION.name}
            select * from recomputed_migration where period <> 'month-end'
            order by period, family, as_of_date, from_segment, to_segment"""
        )
    else:
        conn.execute(
            f"""create or replace table {SEGMENT_MIGRATION.name} as
            select * from recomputed_migration where period <> 'month-end'
            order by period, family, as_of_date, from_segment, to_segment"""
        )
    conn.execute("drop table recomputed_migration")


CURRENT_CUSTOMERS = """
    select customer_key, signup_date, country, marketing_consent, first_loaded_date from work.dim_customers
"""


def _build_current_state(
    conn: duckdb.DuckDBPyConnection, request: PublishRequest, previous_is_newer: bool
) -> None:
    _newest_wins(conn, CUSTOMERS, CURRENT_CUSTOMERS, previous_is_newer)
    for table, gold_file in (
        (COHORT_RETENTION, request.retention_file),
        (EXPERIMENT_RESULTS, request.experiments_file),
        (CAMPAIGN_PERFORMANCE, request.campaigns_file),
        (CLV_CUSTOMER, request.clv_file),
    ):
        fresh = f"select * from read_parquet({_files_literal([gold_file])}, hive_partitioning = false)"
        _newest_wins(conn, table, fresh, previous_is_newer)


def _build_catalog_and_audiences(conn: duckdb.DuckDBPyConnection, catalog: pl.DataFrame) -> None:
    conn.register("configured_segments", catalog.to_arrow())
    conn.execute(
        f"""create or replace table {AUDIENCE_EXPORT.name} as
        select m.family, m.segment, m.customer_key
        from {SEGMENT_MEMBERSHIP.name} as m
        join {CUSTOMERS.name} as c using (customer_key)
        where c.marketing_consent
        order by m.family, m.segment, m.customer_key"""
    )
    conn.execute(
        f"""create or replace table {SEGMENT_CATALOG.name} as
        select s.family, s.segment, coalesce(sizes.customers, 0)::bigint as customers,
            coalesce(audience.customers, 0)::bigint as consenting_customers, s.recommended_action
        from configured_segments as s
        left join (select family, segment, count(*) as customers from {SEGMENT_MEMBERSHIP.name} group by all)
            as sizes using (family, segment)
        left join (select family, segment, count(*) as customers from {AUDIENCE_EXPORT.name} group by all)
            as audience using (family, segment)
        order by s.family, s.segment"""
    )
    conn.unregister("configured_segments")


def _previous_is_newer(conn: duckdb.DuckDBPyConnection, request: PublishRequest) -> bool:
    """True when the file being patched describes a later day than this run's last day (a backfill)."""
    if not _exists(conn, PUBLISH_LOG.name):
        return False
    previous_as_of = scalar(conn, f"select max(membership_as_of) from {PUBLISH_LOG.name}")
    return previous_as_of is not None and previous_as_of > request.days[-1]


def _newest_wins(
    conn: duckdb.DuckDBPyConnection, table: PublishedTable, fresh_sql: str, previous_is_newer: bool
) -> None:
    """Current-state tables describe the run's last day: a backfill of older days keeps the newer table."""
    if previous_is_newer and _exists(conn, table.name):
        return
    conn.execute(
        f"create or replace table {table.name} as {fresh_sql} order by {', '.join(table.primary_key)}"
    )


def _replace_clv_snapshot(
    conn: duckdb.DuckDBPyConnection, request: PublishRequest, previous_is_newer: bool
) -> None:
    """Per-segment CLV rows in kpi_daily exist for the newest processed day only.

    The models are fitted once per run, for its last day, so a daily series would depend on how
    days were grouped into runs; a snapshot of the newest day is the same however the history was
    built. A backfill of older days keeps the newer snapshot (already in the file).
    """
    if previous_is_newer:
        return
    metrics = ", ".join(_sql_literal(m) for m in CLV_SEGMENT_METRICS)
    conn.execute(f"delete from {KPI_DAILY.name} where metric in ({metrics})")
    files = _files_literal([request.clv_kpis_file])
    conn.execute(
        f"insert into {KPI_DAILY.name} by name select * from read_parquet({files}, hive_partitioning = false)"
    )


def _build_incremental(
    conn: duckdb.DuckDBPyConnection,
    table: PublishedTable,
    files: list[Path],
    request: PublishRequest,
    day_column: str = "as_of_date",
) -> None:
    """Published days, with this run's days replaced by its (gated) gold files."""
    fresh = f"select * from read_parquet({_files_literal(files)}, hive_partitioning = false)"
    order = ", ".join(table.primary_key)
    if _exists(conn, table.name):
        conn.execute(
            f"delete from {table.name} where {day_column} between ? and ?",
            [request.days[0], request.days[-1]],
        )
        conn.execute(f"insert into {table.name} by name {fresh} order by {order}")
    else:
        conn.execute(f"create table {table.name} as {fresh} order by {order}")


def _append_publish_log(
    conn: duckdb.DuckDBPyConnection,
    request: PublishRequest,
    publish_id: str,
    as_of: date,
    counts: dict[str, int],
) -> None:
    conn.execute(
        f"""create table if not exists {PUBLISH_LOG.name} (
            publish_id varchar, published_at timestamptz, run_id varchar, partition_start date,
            partition_end date, membership_as_of date, row_counts json)"""
    )
    conn.execute(
        f"insert into {PUBLISH_LOG.name} values (?, ?, ?, ?, ?, ?, ?)",
        [
            publish_id,
            datetime.now(UTC),
            request.run_id,
            request.days[0],
            request.days[-1],
            as_of,
            json.dumps(counts, sort_keys=True),
        ],
    )


def _describe(conn: duckdb.DuckDBPyConnection, table: PublishedTable) -> None:
    conn.execute(f"comment on table {table.name} is {_sql_literal(table.description)}")
    for column, description in table.columns.items():
        conn.execute(f"comment on column {table.name}.{column} is {_sql_literal(description)}")


def _write_audience_files(audience: pl.DataFrame, serving_dir: Path, publish_id: str) -> Path:
    """One CSV of customer keys per family and segment, in a fresh folder for this publish."""
    folder = serving_dir / f"{AUDIENCES_LINK}-{publish_id}"
    for (family, segment), members in audience.group_by("family", "segment"):
        path = folder / family / f"{segment.replace('/', '_')}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        members.select("customer_key").sort("customer_key").write_csv(path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _point_link_at(link: Path, folder: Path) -> None:
    """Swap the `audiences` symlink to the new folder atomically, then drop the folders it replaced."""
    staging = link.with_name(f".{link.name}.{folder.name}")
    staging.unlink(missing_ok=True)
    staging.symlink_to(folder.name)
    os.replace(staging, link)
    for old in link.parent.glob(f"{AUDIENCES_LINK}-*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
