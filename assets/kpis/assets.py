"""`segment_kpis`: daily KPI rollups per segment, reconciled against the dbt marts before publish."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at definition time.
from datetime import date, timedelta

import dagster as dg
import great_expectations as gx
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.gates import gx_check_result
from assets.kpis.experiments import experiment_results
from assets.kpis.long_format import WINDOWS, kpi_long
from assets.kpis.retention import cohort_retention
from assets.kpis.rollups import ALL_SEGMENTS
from assets.kpis.rollups import segment_kpis as compute_segment_kpis
from assets.partition_store import partition_path, replace_partition
from assets.segments.assets import segment_history
from assets.transform.assets import WORK_DB_POOL
from assets.work_db import daily_activity, exposure_outcomes, order_history, segments_by_day
from orchestration.partitions import daily_partitions, partition_days
from orchestration.settings import get_settings

DATASET = "segment_kpis"
LONG_DATASET = "kpi_daily"
RETENTION_DATASET = "cohort_retention"
EXPERIMENTS_DATASET = "experiment_results"
# Revenue is summed in floating point on both sides; a cent of drift over a day is rounding, not loss.
RECONCILIATION_TOLERANCE_EUR = 0.01


@dg.asset(
    group_name="kpis",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WORK_DB_POOL,
    kinds={"polars", "parquet"},
    deps=[segment_history, "customer_daily_activity", "fct_campaign_exposures"],
)
def segment_kpis(context: dg.AssetExecutionContext, work_db: DuckDBResource) -> dg.MaterializeResult:
    """Per day and segment: customers, visitors, buyers, orders, revenue, conversion and churn rates."""
    settings = get_settings()
    days = partition_days(context)
    with work_db.get_connection() as conn:
        activity = daily_activity(conn, days[0], days[-1]).collect()
        members = segments_by_day(conn, days[0], days[-1]).collect()
        orders = order_history(conn, days[-1]).collect()
        exposures = exposure_outcomes(conn, days[-1], settings.experiments.conversion_window_days).collect()
    retention = cohort_retention(orders.lazy(), days[-1]).collect()
    replace_partition(retention, settings.gold_dir, RETENTION_DATASET, days[-1])
    experiments = experiment_results(exposures.lazy(), days[-1], settings.experiments)
    replace_partition(experiments, settings.gold_dir, EXPERIMENTS_DATASET, days[-1])
    kpis = compute_segment_kpis(members.lazy(), activity.lazy()).collect()
    for (day,), frame in kpis.group_by("as_of_date"):
        replace_partition(frame, settings.gold_dir, DATASET, day)
    long = kpi_long(read_kpi_history(days[0], days[-1]), days[0], days[-1]).collect()
    for (day,), frame in long.group_by("as_of_date"):
        replace_partition(frame, settings.gold_dir, LONG_DATASET, day)
    totals = kpis.filter(pl.col("segment") == ALL_SEGMENTS)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": kpis.height,
            "kpi_daily_rows": long.height,
            "cohort_retention_rows": retention.height,
            "experiment_result_rows": experiments.height,
            "days": len(days),
            "revenue_eur": float(totals["revenue_eur"].sum()),
            "orders": int(totals["orders"].sum()),
        }
    )


def read_kpi_history(first: date, last: date) -> pl.LazyFrame:
    """Daily rollups from the longest window before `first` through `last` (days that exist)."""
    gold = get_settings().gold_dir
    start = first - timedelta(days=max(WINDOWS) - 1)
    span = (last - start).days + 1
    paths = [partition_path(gold, DATASET, start + timedelta(days=i)) for i in range(span)]
    return pl.scan_parquet([p for p in paths if p.exists()], hive_partitioning=False)


@dg.asset_check(asset=segment_kpis, blocking=True, partitions_def=daily_partitions)
def segment_kpis_gx_suite(
    context: dg.AssetCheckExecutionContext, work_db: DuckDBResource
) -> dg.AssetCheckResult:
    """GX: rates within [0, 1], counts non-negative, and segment totals reconcile with the marts.

    Reconciliation: for every day, the sum of segment revenue, the all-customer row, and the sum of
    `customer_daily_activity.net_revenue_eur` must agree; likewise for orders.
    """
    days = partition_days(context)
    kpis = pl.read_parquet([partition_path(get_settings().gold_dir, DATASET, day) for day in days])
    with work_db.get_connection() as conn:
        marts = (
            daily_activity(conn, days[0], days[-1])
            .group_by(pl.col("activity_date").alias("as_of_date"))
            .agg(
                pl.col("net_revenue_eur").sum().alias("mart_revenue_eur"),
                pl.col("orders_completed").sum().cast(pl.Int64).alias("mart_orders"),
            )
            .collect()
        )
    per_segment = kpis.filter(pl.col("segment") != ALL_SEGMENTS)
    reconciliation = (
        per_segment.group_by("as_of_date")
        .agg(
            pl.col("revenue_eur").sum().alias("segment_revenue_eur"),
            pl.col("orders").sum().alias("segment_orders"),
        )
        .join(
            kpis.filter(pl.col("segment") == ALL_SEGMENTS).select(
                "as_of_date",
                pl.col("revenue_eur").alias("total_revenue_eur"),
                pl.col("orders").alias("total_orders"),
            ),
            on="as_of_date",
            how="full",
            coalesce=True,
        )
        .join(marts, on="as_of_date", how="left")
        .with_columns(
            pl.col("mart_revenue_eur").fill_null(0.0),
            pl.col("mart_orders").fill_null(0),
        )
        .with_columns(
            (pl.col("segment_revenue_eur") - pl.col("mart_revenue_eur")).abs().alias("segment_vs_mart_eur"),
            (pl.col("total_revenue_eur") - pl.col("mart_revenue_eur")).abs().alias("total_vs_mart_eur"),
        )
    )
    tolerance = RECONCILIATION_TOLERANCE_EUR
    return gx_check_result(
        "segment_kpis",
        [
            (
                "reconciliation",
                reconciliation,
                [
                    gx.expectations.ExpectTableRowCountToEqual(value=len(days)),
                    gx.expectations.ExpectColumnValuesToBeBetween(
                        column="segment_vs_mart_eur", max_value=tolerance
                    ),
                    gx.expectations.ExpectColumnValuesToBeBetween(
                        column="total_vs_mart_eur", max_value=tolerance
                    ),
                    gx.expectations.ExpectColumnPairValuesToBeEqual(
                        column_A="segment_orders", column_B="mart_orders"
                    ),
                    gx.expectations.ExpectColumnPairValuesToBeEqual(
                        column_A="total_orders", column_B="mart_orders"
                    ),
                ],
            ),
            (
                "kpis",
                kpis,
                [
                    gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["as_of_date", "segment"]),
                    *[
                        gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1)
                        for c in ("conversion_rate", "churn_rate")
                    ],
                    *[
                        gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0)
                        for c in ("customers", "visitors", "buyers", "orders", "revenue_eur")
                    ],
                ],
            ),
        ],
    )
