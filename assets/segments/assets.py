"""`customer_segments`: every known customer's RFM scores and segment as of each day."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at definition time.
from datetime import date, timedelta

import dagster as dg
import great_expectations as gx
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.gates import gx_check_result
from assets.partition_store import partition_path, replace_partition
from assets.segments.rfm import rfm_segments
from assets.transform.assets import WORK_DB_POOL
from assets.work_db import completed_orders, known_customers
from orchestration.partitions import daily_partitions, partition_days
from orchestration.settings import get_settings

DATASET = "customer_segments"


@dg.asset(
    group_name="segments",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WORK_DB_POOL,
    kinds={"polars", "parquet"},
    deps=["fct_orders", "dim_customers"],
)
def customer_segments(context: dg.AssetExecutionContext, work_db: DuckDBResource) -> dg.MaterializeResult:
    """RFM recency/frequency/monetary, 1–5 quantile scores and the named segment, per customer and day."""
    settings = get_settings()
    days = partition_days(context)
    with work_db.get_connection() as conn:
        orders = completed_orders(
            conn, days[0] - timedelta(days=settings.rfm.window_days), days[-1]
        ).collect()
        customers = known_customers(conn, days[-1]).collect()
    rows = 0
    for day in days:
        frame = rfm_segments(customers.lazy(), orders.lazy(), day, settings.rfm).collect()
        replace_partition(frame, settings.gold_dir, DATASET, day)
        rows += frame.height
    latest_sizes = frame.group_by("segment").len().sort("len", descending=True)
    context.log.info(
        f"{DATASET}: {rows} rows over {len(days)} day(s); latest day sizes {latest_sizes.rows()}"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "days": len(days),
            "latest_day": days[-1].isoformat(),
            "latest_segment_sizes": dg.MetadataValue.json(dict(latest_sizes.rows())),
        }
    )


def known_customers_per_day(known: pl.DataFrame, days: list[date]) -> pl.DataFrame:
    """How many customers were known at the end of each day: a running count, not a cross join."""
    running = (
        known.group_by("first_loaded_date")
        .len()
        .sort("first_loaded_date")
        .select("first_loaded_date", pl.col("len").cum_sum().alias("known_customers"))
    )
    return (
        pl.DataFrame({"as_of_date": days})
        .sort("as_of_date")
        .join_asof(running, left_on="as_of_date", right_on="first_loaded_date", strategy="backward")
        .select("as_of_date", pl.col("known_customers").fill_null(0).cast(pl.UInt32))
    )


def read_days(context: dg.AssetCheckExecutionContext, dataset: str) -> pl.LazyFrame:
    settings = get_settings()
    paths = [partition_path(settings.gold_dir, dataset, day) for day in partition_days(context)]
    return pl.scan_parquet(paths, hive_partitioning=False)


@dg.asset_check(asset=customer_segments, blocking=True, partitions_def=daily_partitions)
def customer_segments_gx_suite(
    context: dg.AssetCheckExecutionContext, work_db: DuckDBResource
) -> dg.AssetCheckResult:
    """GX: one row per known customer and day, valid scores, every segment name from the config."""
    settings = get_settings()
    days = partition_days(context)
    segments = read_days(context, DATASET)
    with work_db.get_connection() as conn:
        known = known_customers(conn, days[-1]).collect()
    expected = known_customers_per_day(known, days)
    per_day = (
        segments.group_by("as_of_date")
        .agg(
            pl.len().cast(pl.UInt32).alias("rows"),
            pl.col("customer_key").n_unique().cast(pl.UInt32).alias("distinct_customers"),
        )
        .collect()
        .join(expected, on="as_of_date", how="full", coalesce=True)
        .with_columns(pl.col("rows", "distinct_customers", "known_customers").fill_null(0))
    )
    latest = segments.filter(pl.col("as_of_date") == days[-1]).collect()
    segment_names = [rule.name for rule in settings.rfm.segments] + [settings.rfm.no_purchase_segment]
    score_columns = ("recency_score", "frequency_score", "monetary_score")
    return gx_check_result(
        "customer_segments",
        [
            (
                "per_day",
                per_day,
                [
                    gx.expectations.ExpectTableRowCountToEqual(value=len(days)),
                    gx.expectations.ExpectColumnPairValuesToBeEqual(
                        column_A="rows", column_B="known_customers"
                    ),
                    gx.expectations.ExpectColumnPairValuesToBeEqual(
                        column_A="rows", column_B="distinct_customers"
                    ),
                ],
            ),
            (
                "latest_day",
                latest,
                [
                    gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_key"),
                    gx.expectations.ExpectColumnValuesToBeUnique(column="customer_key"),
                    gx.expectations.ExpectColumnValuesToBeInSet(column="segment", value_set=segment_names),
                    *[
                        gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=1, max_value=5)
                        for c in score_columns
                    ],
                    gx.expectations.ExpectColumnValuesToBeBetween(
                        column="recency_days", min_value=0, max_value=settings.rfm.window_days
                    ),
                    gx.expectations.ExpectColumnValuesToBeBetween(column="monetary_eur", min_value=0),
                ],
            ),
        ],
    )
