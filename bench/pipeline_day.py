"""The pipeline's own answer for one day D, three ways.

`run`: the pipeline's polars code for the single day D, as a daily run executes it — the lifetime
state through D - 1 (`customer_lifetime_state`, which the bench saves before the daily run) plus
the orders of the purchase window (`orders_for_run`, the segment asset's own reader), the feature
groups the compared families read (`FAMILY_FEATURES` of rfm, lifecycle and loyalty: the
references compute RFM and lifecycle; loyalty feeds the repeat-purchase KPI), those families, and
the whole `assets/kpis` rollup. This is what is timed against the references. Only the columns of
`bench.outputs` are compared.

`run` without a state (implementation `pipeline_full_scan`): every order is read and the lifetime
features are computed from them, as the first run of a backfill does — the like-for-like
comparison with the references, which scan all orders.

`stored`: what the pipeline stored for D — `segment_history` as of D (RFM and lifecycle) and the
gold `segment_kpis` partition of D. The recomputations must agree with it, so the timed code is
known to be the code that produced the published answer.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from assets.kpis.rollups import segment_kpis
from assets.partition_store import partition_path
from assets.segments.assets import orders_for_run
from assets.segments.behaviour import lifecycle, loyalty
from assets.segments.engine import Inputs, family_features, feature_windows
from assets.segments.features import LIFETIME_COLUMNS, LifetimeBase
from assets.segments.rfm import rfm_family
from assets.work_db import customer_profiles, daily_activity
from bench.outputs import KPI_SCHEMA, SEGMENT_SCHEMA, Answer, conform
from orchestration.settings import Settings

COMPARED_FAMILIES = ["rfm", "lifecycle", "loyalty"]
# The compared families read no engagement or cart feature (FAMILY_FEATURES): nothing of the kind is read.
NO_ACTIVITY = pl.LazyFrame(schema={"customer_key": pl.String, "activity_date": pl.Date})
NO_CART_SESSIONS = pl.LazyFrame(schema={"customer_key": pl.String})
KPI_DATASET = "segment_kpis"


def save_lifetime_state(conn: duckdb.DuckDBPyConnection, path: Path) -> date | None:
    """Keep the stored lifetime state (before a daily run replaces it) for `run`; its day goes along."""
    from assets.segments.store import read_lifetime_base

    base = read_lifetime_base(conn)
    if base is None:
        return None
    base.lifetime.with_columns(pl.lit(base.through).alias("through")).collect().write_parquet(path)
    return base.through


def load_lifetime_state(path: Path) -> LifetimeBase:
    frame = pl.read_parquet(path)
    return LifetimeBase(through=frame["through"][0], lifetime=frame.select(LIFETIME_COLUMNS).lazy())


def run(
    conn: duckdb.DuckDBPyConnection, as_of: date, settings: Settings, state: Path | None = None
) -> Answer:
    windows = feature_windows(settings)
    began = time.perf_counter()
    # Read eagerly, as the segment asset does, so load and compute are timed apart.
    stored_state = load_lifetime_state(state) if state is not None else None
    if state is not None and (stored_state is None or stored_state.through >= as_of):
        raise ValueError(f"lifetime state {state} does not end before {as_of}")
    customers = customer_profiles(conn, as_of).collect().lazy()
    orders, base = orders_for_run(conn, [as_of], windows.purchase_days, stored_state)
    day_activity = daily_activity(conn, as_of, as_of).collect().lazy()
    loaded = time.perf_counter()

    inputs = Inputs(customers, orders.lazy(), NO_ACTIVITY, NO_CART_SESSIONS, base)
    features = family_features(inputs, as_of, windows, COMPARED_FAMILIES)
    rfm = rfm_family(features, settings.rfm).select(
        "customer_key", "as_of_date", "recency_score", "frequency_score", "monetary_score",
        pl.col("segment").alias("rfm_segment"),
    )  # fmt: skip
    life = lifecycle(features, settings.behaviour).select(
        "customer_key", pl.col("segment").alias("lifecycle")
    )
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
