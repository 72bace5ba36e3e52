"""Build the DuckDB serving file beside the live one, then swap it in atomically.

DuckDB allows one writer or many readers per file, never both, so BI must never share a file with
a writer. The new file is built under a temporary name, CHECKPOINTed and closed, then
`os.replace`d over the old one: a reader that has the old file open keeps reading the old inode,
a reader that opens afterwards sees the new one, and nobody ever sees a half-built table.

Segment tables are copied whole from the working database, where the segment stage keeps one
canonical, already gated history. KPI days are published incrementally: the new file starts from
what was published before and replaces only this run's (gated) days, so days from a run whose
gates failed are never swept in by a later run.
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
from assets.work_db import scalar

AUDIENCES_LINK = "audiences"


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


def publish(request: PublishRequest) -> dict[str, int]:
    """Write and swap in a new serving file (and audience CSVs); return row counts per table."""
    target = request.serving_db
    target.parent.mkdir(parents=True, exist_ok=True)
    publish_id = uuid.uuid4().hex
    _remove_dead_builds(target)
    building = target.with_name(f".{target.name}.{publish_id}.building")
    try:
        with duckdb.connect(str(building), config={"memory_limit": request.memory_limit}) as conn:
            has_previous = target.exists()
            if has_previous:
                conn.execute(f"attach {_sql_literal(str(target))} as previous (read_only)")
            conn.execute(f"attach {_sql_literal(str(request.work_db))} as work (read_only)")
            as_of = scalar(conn, "select max(as_of_date) from work.segment_days_processed")
            _build_segments(conn, as_of)
            _build_migration(conn, request, has_previous, as_of)
            _build_current_state(conn, request, has_previous)
            _build_catalog_and_audiences(conn, request.catalog)
            _build_incremental(conn, SEGMENT_KPIS_DAILY, request.kpi_files, request, has_previous)
            _build_incremental(conn, KPI_DAILY, request.kpi_long_files, request, has_previous)
            _replace_clv_snapshot(conn, request, has_previous)
            _build_incremental(
                conn, DATA_QUALITY_LOG, request.quality_files, request, has_previous, "delivery_day"
            )
            counts = {t.name: _count(conn, t) for t in PUBLISHED_TABLES if t is not PUBLISH_LOG}
            _append_publish_log(conn, request, publish_id, has_previous, as_of, counts)
            counts[PUBLISH_LOG.name] = _count(conn, PUBLISH_LOG)
            for table in PUBLISHED_TABLES:
                _describe(conn, table)
            conn.execute(
                f"""create macro segments_as_of(d) as table
                select * from {SEGMENT_HISTORY.name}
                where valid_from <= d and (valid_to is null or valid_to > d)"""
            )
            audience_frame = pl.from_arrow(conn.sql(f"select * from {AUDIENCE_EXPORT.name}").to_arrow_table())
            conn.execute("detach work")
            if has_previous:
                conn.execute("detach previous")
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


def _build_segments(conn: duckdb.DuckDBPyConnection, as_of: date) -> None:
    conn.execute(
        f"""create table {SEGMENT_HISTORY.name} as
        select * from work.segment_history order by customer_key, family, valid_from"""
    )
    conn.execute(
        f"""create table {SEGMENT_MEMBERSHIP.name} as
        select ?::date as as_of_date, customer_key, family, segment, score, recency_score, frequency_score,
            monetary_score, valid_from as member_since, previous_segment
        from {SEGMENT_HISTORY.name} where valid_to is null order by customer_key, family""",
        [as_of],
    )


def _build_migration(
    conn: duckdb.DuckDBPyConnection, request: PublishRequest, has_previous: bool, as_of: date
) -> None:
    """Day and month-end moves between segments, recomputed only over the days that can have changed.

    A 'day' row for D (the day before → D) depends on membership on D - 1 and D; a 'month' row on
    its month end and the previous one. Membership differs from the previous publish only inside
    the stays that differ between the two histories (the run's days, and any day a run whose
    publish was blocked rewrote), and on days the previous publish did not have. Those days are
    recomputed; every other row is kept, so a daily publish does not rescan the whole history.
    """
    incremental = has_previous and _published(conn, SEGMENT_MIGRATION)
    if incremental:
        first, last = _changed_span(conn, request, as_of)
        recompute_day = "d.as_of_date between $first and $last"
        recompute_month = "as_of_date >= $first and previous_end <= $last"
        kept = f"""union all select * from previous.{SEGMENT_MIGRATION.name}
        where not (period = 'day' and as_of_date between $first and $last)
            and not (period = 'month' and as_of_date in (select as_of_date from recomputed_month_ends))"""
        params: dict[str, date] = {"first": first, "last": last}
    else:
        recompute_day = recompute_month = "true"
        kept, params = "", {}
    conn.execute(
        f"""create table {SEGMENT_MIGRATION.name} as
        with days as (select as_of_date from work.segment_days_processed as d where {recompute_day}),
        entries as (
            select family, valid_from as as_of_date, coalesce(previous_segment, '(new)') as from_segment,
                segment as to_segment, count(*) as customers
            from {SEGMENT_HISTORY.name}
            where valid_from in (select as_of_date from days)
            group by all
        ),
        stayed as (
            select h.family, d.as_of_date, h.segment as from_segment, h.segment as to_segment,
                count(*) as customers
            from {SEGMENT_HISTORY.name} as h
            join days as d
                on h.valid_from < d.as_of_date and (h.valid_to is null or h.valid_to > d.as_of_date)
            group by all
        ),
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
        select * from (
            select 'day' as period, family, as_of_date, from_segment, to_segment,
                customers::bigint as customers
            from (select * from entries union all select * from stayed)
            union all
            select 'month', family, as_of_date, from_segment, to_segment, customers::bigint from monthly
            {kept}
        )
        order by period, family, as_of_date, from_segment, to_segment""",
        params,
    )


def _changed_span(conn: duckdb.DuckDBPyConnection, request: PublishRequest, as_of: date) -> tuple[date, date]:
    """First and last day whose migration rows may differ from the previous publish's."""
    changed = conn.execute(
        f"""with changed as (
            (select * from {SEGMENT_HISTORY.name} except select * from previous.{SEGMENT_HISTORY.name})
            union all
            (select * from previous.{SEGMENT_HISTORY.name} except select * from {SEGMENT_HISTORY.name})
        )
        select min(valid_from), max(coalesce(valid_to, ?::date + 1)) from changed""",
        [as_of],
    ).fetchall()[0]
    first = min(d for d in (changed[0], request.days[0]) if d is not None)
    # + 1: the day after a changed day compares against it.
    last = max(d for d in (changed[1], request.days[-1] + timedelta(days=1)) if d is not None)
    return first, last


CURRENT_CUSTOMERS = """
    select customer_key, signup_date, country, marketing_consent, first_loaded_date from work.dim_customers
"""


def _build_current_state(
    conn: duckdb.DuckDBPyConnection, request: PublishRequest, has_previous: bool
) -> None:
    _newest_wins(conn, CUSTOMERS, CURRENT_CUSTOMERS, request, has_previous)
    for table, gold_file in (
        (COHORT_RETENTION, request.retention_file),
        (EXPERIMENT_RESULTS, request.experiments_file),
        (CAMPAIGN_PERFORMANCE, request.campaigns_file),
        (CLV_CUSTOMER, request.clv_file),
    ):
        fresh = f"select * from read_parquet({_files_literal([gold_file])}, hive_partitioning = false)"
        _newest_wins(conn, table, fresh, request, has_previous)


def _build_catalog_and_audiences(conn: duckdb.DuckDBPyConnection, catalog: pl.DataFrame) -> None:
    conn.register("configured_segments", catalog.to_arrow())
    conn.execute(
        f"""create table {AUDIENCE_EXPORT.name} as
        select m.family, m.segment, m.customer_key
        from {SEGMENT_MEMBERSHIP.name} as m
        join {CUSTOMERS.name} as c using (customer_key)
        where c.marketing_consent
        order by m.family, m.segment, m.customer_key"""
    )
    conn.execute(
        f"""create table {SEGMENT_CATALOG.name} as
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


def _previous_is_newer(conn: duckdb.DuckDBPyConnection, request: PublishRequest, has_previous: bool) -> bool:
    """True when the last publish described a later day than this run's last day (a backfill)."""
    if not has_previous:
        return False
    previous_as_of = scalar(conn, f"select max(membership_as_of) from previous.{PUBLISH_LOG.name}")
    return previous_as_of is not None and previous_as_of > request.days[-1]


def _newest_wins(
    conn: duckdb.DuckDBPyConnection,
    table: PublishedTable,
    fresh_sql: str,
    request: PublishRequest,
    has_previous: bool,
) -> None:
    """Current-state tables describe the run's last day: a backfill of older days keeps the newer table."""
    if _published(conn, table) and _previous_is_newer(conn, request, has_previous):
        conn.execute(f"create table {table.name} as select * from previous.{table.name}")
        return
    conn.execute(f"create table {table.name} as {fresh_sql} order by {', '.join(table.primary_key)}")


def _replace_clv_snapshot(
    conn: duckdb.DuckDBPyConnection, request: PublishRequest, has_previous: bool
) -> None:
    """Per-segment CLV rows in kpi_daily exist for the newest processed day only.

    The models are fitted once per run, for its last day, so a daily series would depend on how
    days were grouped into runs; a snapshot of the newest day is the same however the history was
    built. A backfill of older days keeps the newer snapshot.
    """
    metrics = ", ".join(_sql_literal(m) for m in CLV_SEGMENT_METRICS)
    conn.execute(f"delete from {KPI_DAILY.name} where metric in ({metrics})")
    if _published(conn, KPI_DAILY) and _previous_is_newer(conn, request, has_previous):
        source = f"select * from previous.{KPI_DAILY.name} where metric in ({metrics})"
    else:
        files = _files_literal([request.clv_kpis_file])
        source = f"select * from read_parquet({files}, hive_partitioning = false)"
    conn.execute(f"insert into {KPI_DAILY.name} by name {source}")


def _build_incremental(
    conn: duckdb.DuckDBPyConnection,
    table: PublishedTable,
    files: list[Path],
    request: PublishRequest,
    has_previous: bool,
    day_column: str = "as_of_date",
) -> None:
    """Previously published days, with this run's days replaced by its (gated) gold files."""
    fresh = f"select * from read_parquet({_files_literal(files)}, hive_partitioning = false)"
    params: list[object] = []
    source = fresh
    if has_previous and _published(conn, table):
        kept = f"select * from previous.{table.name} where {day_column} not between ? and ?"
        source = f"{kept} union all by name {fresh}"
        params = [request.days[0], request.days[-1]]
    order = ", ".join(table.primary_key)
    conn.execute(f"create table {table.name} as select * from ({source}) order by {order}", params)


def _published(conn: duckdb.DuckDBPyConnection, table: PublishedTable) -> bool:
    found = scalar(
        conn,
        "select count(*) from duckdb_tables() where database_name = 'previous' and table_name = ?",
        [table.name],
    )
    return bool(found)


def _append_publish_log(
    conn: duckdb.DuckDBPyConnection,
    request: PublishRequest,
    publish_id: str,
    has_previous: bool,
    as_of: date,
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
