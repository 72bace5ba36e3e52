"""The pipeline's own answer for one day D, two ways.

`run`: the pipeline's polars code (assets/segments features → RFM and lifecycle families →
assets/kpis rollups) for the single day D, read with the pipeline's own work-DB readers. This is
what is timed against the references. Cart sessions are not read: they feed only the browsing
family, which none of the compared outputs needs (an empty frame of their shape goes in). The
KPI rollup is the pipeline's whole rollup (newer versions add engagement and satisfaction columns);
only the columns of `bench.outputs.KPI_SCHEMA` are compared.

`stored`: what the pipeline stored for D — `segment_history` as of D (RFM and lifecycle) and the
gold `segment_kpis` partition of D. The recomputation must agree with it, so the timed code is
known to be the code that produced the published answer.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from assets.kpis.rollups import segment_kpis
from assets.partition_store import partition_path
from assets.segments.behaviour import lifecycle, loyalty
from assets.segments.engine import feature_windows
from assets.segments.features import features_as_of
from assets.segments.rfm import rfm_family
from assets.work_db import activity_window, customer_profiles, daily_activity, order_history
from bench.outputs import KPI_SCHEMA, SEGMENT_SCHEMA, Answer, conform
from orchestration.settings import Settings

EMPTY_CART_SESSIONS = pl.LazyFrame(
    schema={
        "customer_key": pl.String,
        "session_date": pl.Date,
        "session_end": pl.Datetime("us", "UTC"),
        "loaded_date": pl.Date,
        "converted_loaded_date": pl.Date,
    }
)
KPI_DATASET = "segment_kpis"


def run(conn: duckdb.DuckDBPyConnection, as_of: date, settings: Settings) -> Answer:
    windows = feature_windows(settings)
    began = time.perf_counter()
    # Read eagerly, as the segment asset does (read_inputs), so load and compute are timed apart.
    customers = customer_profiles(conn, as_of).collect().lazy()
    orders = order_history(conn, as_of).collect().lazy()
    activity = activity_window(conn, as_of - timedelta(days=windows.engagement_days), as_of).collect().lazy()
    day_activity = daily_activity(conn, as_of, as_of).collect().lazy()
    loaded = time.perf_counter()

    features = features_as_of(customers, orders, activity, EMPTY_CART_SESSIONS, as_of, windows)
    rfm = rfm_family(features, settings.rfm).select(
        "customer_key", "as_of_date", "recency_score", "frequency_score", "monetary_score",
        pl.col("segment").alias("rfm_segment"),
    )  # fmt: skip
    life = lifecycle(features, settings.behaviour).select(
        "customer_key", pl.col("segment").alias("lifecycle")
    )
    # Newer rollups count repeat buyers from the loyalty family; older ones ignore the column.
    loyal = loyalty(features, settings.behaviour).select("customer_key", pl.col("segment").alias("loyalty"))
    values = features.select(
        "customer_key",
        pl.when(pl.col("frequency") > 0).then(pl.col("days_since_last_order")).alias("recency_days"),
        pl.when(pl.col("frequency") > 0).then(pl.col("frequency")).alias("frequency"),
        pl.when(pl.col("frequency") > 0).then(pl.col("monetary_eur")).alias("monetary_eur"),
    )
    # One query: polars evaluates the shared feature plan once (common subplan elimination).
    segments = (
        rfm.join(life, on="customer_key")
        .join(loyal, on="customer_key")
        .join(values, on="customer_key")
        .collect()
    )
    members = segments.lazy().select(
        "as_of_date", "customer_key", pl.col("rfm_segment").alias("segment"), "lifecycle", "loyalty"
    )
    kpis = segment_kpis(members, day_activity).collect()
    done = time.perf_counter()
    return Answer(
        segments=conform(segments, SEGMENT_SCHEMA, "customer_key"),
        kpis=conform(kpis, KPI_SCHEMA, "segment"),
        seconds={"load": loaded - began, "compute": done - loaded, "total": done - began},
    )


STORED_SEGMENTS = """
    select customer_key,
        any_value(segment) filter (where family = 'rfm') as rfm_segment,
        any_value(segment) filter (where family = 'lifecycle') as lifecycle
    from segment_history
    where family in ('rfm', 'lifecycle') and valid_from <= $as_of and (valid_to is null or valid_to > $as_of)
    group by customer_key
"""


def stored(conn: duckdb.DuckDBPyConnection, as_of: date, gold_dir: Path) -> Answer:
    """What the pipeline stored for `as_of` (scores are not compared: a stay keeps its first day's)."""
    segments = pl.from_arrow(conn.sql(STORED_SEGMENTS, params={"as_of": as_of}).to_arrow_table())
    kpis = pl.read_parquet(partition_path(gold_dir, KPI_DATASET, as_of))
    return Answer(
        segments=conform(segments, SEGMENT_SCHEMA, "customer_key"),
        kpis=conform(kpis, KPI_SCHEMA, "segment"),
    )
