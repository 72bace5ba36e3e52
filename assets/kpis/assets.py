"""`segment_kpis`: daily KPI rollups per segment, reconciled against the dbt marts before publish."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at definition time.
from datetime import date, timedelta

import dagster as dg
import great_expectations as gx
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.gates import gx_check_result
from assets.kpis.campaigns import campaign_performance
from assets.kpis.experiments import experiment_results
from assets.kpis.long_format import WINDOWS, kpi_long
from assets.kpis.retention import cohort_retention
from assets.kpis.rollups import ALL_SEGMENTS
from assets.kpis.rollups import segment_kpis as compute_segment_kpis
from assets.partition_store import partition_path, replace_partition
from assets.progress import Laps, memory_note
from assets.segments.assets import segment_history
from assets.segments.engine import chunks, days_per_chunk
from assets.segments.store import customer_numbers
from assets.transform.assets import WORK_DB_POOL
from assets.work_db import (
    daily_activity,
    daily_totals,
    exposure_outcomes,
    memory_limit,
    order_history,
    segments_by_day,
)
from orchestration.partitions import daily_partitions, partition_days
from orchestration.settings import get_settings

DATASET = "segment_kpis"
LONG_DATASET = "kpi_daily"
RETENTION_DATASET = "cohort_retention"
EXPERIMENTS_DATASET = "experiment_results"
CAMPAIGNS_DATASET = "campaign_performance"
# Revenue is summed in floating point on both sides; a cent of drift over a day is rounding, not loss.
RECONCILIATION_TOLERANCE_EUR = 0.01
KPI_COUNTS = (
    "customers", "visitors", "buyers", "orders", "revenue_eur", "sessions", "session_seconds",
    "avg_session_seconds", "emails_sent", "email_opens", "email_clicks", "survey_responses",
    "csat_satisfied_responses", "repeat_buyers",
)  # fmt: skip


@dg.asset(
    group_name="kpis",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WORK_DB_POOL,
    kinds={"polars", "parquet"},
    deps=[segment_history, "customer_daily_activity", "fct_campaign_exposures", "fct_campaign_responses"],
)
def segment_kpis(context: dg.AssetExecutionContext, work_db: DuckDBResource) -> dg.MaterializeResult:
    """Per day and segment: activity, revenue, conversion, churn, engagement and satisfaction KPIs;
    rolling windows, cohort retention, experiments and campaign performance as of the run's last day."""
    settings = get_settings()
    days = partition_days(context)
    operations = settings.operations
    with work_db.get_connection() as conn:
        with memory_limit(conn, operations, "segment_duckdb_memory_limit"):
            # One membership row per customer and day: chunk the range so memory follows the customer
            # base, not the length of the backfill.
            # Customers as numbers, as in the segment stage: a chunk is a million customers x 12 days.
            numbers = customer_numbers(conn, days[0])
            size = days_per_chunk(numbers.customers, operations.segment_chunk_memberships, len(days))
            daily_rows, revenue, order_count = 0, 0.0, 0
            for chunk in chunks(days, size):
                laps = Laps()
                activity = daily_activity(conn, chunk[0], chunk[-1], numbers)
                members = segments_by_day(conn, chunk[0], chunk[-1], numbers)
                kpis = compute_segment_kpis(members, activity).collect()
                laps.lap("rollups")
                for (day,), frame in kpis.group_by("as_of_date"):
                    replace_partition(frame, settings.gold_dir, DATASET, day)
                laps.lap("write")
                totals = kpis.filter(pl.col("segment") == ALL_SEGMENTS)
                daily_rows += kpis.height
                revenue += float(totals["revenue_eur"].sum())
                order_count += int(totals["orders"].sum())
                context.log.info(f"segment_kpis {chunk[0]}..{chunk[-1]}: {laps} ({memory_note(conn)})")
            del activity, members, kpis, totals
        # After the chunks the stage holds no frames beside DuckDB, and its two largest inputs come
        # next: every order known by the last day (cohorts) and every exposure with its RFM segment
        # on the exposure day (a range join over the whole segment_history). At two years of a
        # million customers that join ran out of the 1 GB cap, so these reads get the general one.
        with memory_limit(conn, operations, "duckdb_memory_limit"):
            laps = Laps()
            orders = order_history(conn, days[-1]).collect()
            laps.lap("orders")
            window_days = settings.experiments.conversion_window_days
            exposures = exposure_outcomes(conn, days[-1], window_days).collect()
            laps.lap("exposures")
            context.log.info(
                f"segment_kpis: {orders.height} orders, {exposures.height} exposures read in {laps} "
                f"({memory_note(conn)})"
            )
    retention = cohort_retention(orders.lazy(), days[-1]).collect()
    replace_partition(retention, settings.gold_dir, RETENTION_DATASET, days[-1])
    judged = exposures.lazy().filter(pl.col("is_judged"))
    experiments = experiment_results(judged, days[-1], settings.experiments)
    replace_partition(experiments, settings.gold_dir, EXPERIMENTS_DATASET, days[-1])
    campaigns = campaign_performance(exposures.lazy(), days[-1], settings.campaigns.cost_eur).collect()
    replace_partition(campaigns, settings.gold_dir, CAMPAIGNS_DATASET, days[-1])
    long = kpi_long(read_kpi_history(days[0], days[-1]), days[0], days[-1]).collect()
    for (day,), frame in long.group_by("as_of_date"):
        replace_partition(frame, settings.gold_dir, LONG_DATASET, day)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": daily_rows,
            "kpi_daily_rows": long.height,
            "cohort_retention_rows": retention.height,
            "experiment_result_rows": experiments.height,
            "campaign_performance_rows": campaigns.height,
            "days": len(days),
            "revenue_eur": revenue,
            "orders": order_count,
        }
    )


def read_kpi_history(first: date, last: date) -> pl.LazyFrame:
    """Daily rollups from the longest window before `first` through `last` (days that exist)."""
    gold = get_settings().gold_dir
    start = first - timedelta(days=max(WINDOWS) - 1)
    span = (last - start).days + 1
    paths = [partition_path(gold, DATASET, start + timedelta(days=i)) for i in range(span)]
    # Diagonal: days written before a KPI column existed read it as null, which the window sums skip.
    return pl.concat(
        [pl.scan_parquet(p, hive_partitioning=False) for p in paths if p.exists()], how="diagonal_relaxed"
    )


@dg.asset_check(asset=segment_kpis, blocking=True, partitions_def=daily_partitions)
def segment_kpis_gx_suite(
    context: dg.AssetCheckExecutionContext, work_db: DuckDBResource
) -> dg.AssetCheckResult:
    """GX: rates within [0, 1], CSAT within [1, 5], counts non-negative, and segment totals reconcile
    with the marts; campaign performance rates within [0, 1] and its counts consistent.

    Reconciliation: for every day, the sum of segment revenue, the all-customer row, and the sum of
    `customer_daily_activity.net_revenue_eur` must agree; likewise for orders.
    """
    days = partition_days(context)
    gold = get_settings().gold_dir
    kpis = pl.read_parquet([partition_path(gold, DATASET, day) for day in days])
    campaigns = pl.read_parquet(partition_path(gold, CAMPAIGNS_DATASET, days[-1]))
    with work_db.get_connection() as conn:
        marts = daily_totals(conn, days[0], days[-1])
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
                        for c in (
                            "conversion_rate",
                            "churn_rate",
                            "csat_satisfied_share",
                            "repeat_purchase_rate",
                        )
                    ],
                    gx.expectations.ExpectColumnValuesToBeBetween(
                        column="mean_csat", min_value=1, max_value=5
                    ),
                    *[
                        gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0)
                        for c in KPI_COUNTS
                    ],
                    gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A="survey_responses", column_B="csat_satisfied_responses", or_equal=True
                    ),
                    gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A="customers_with_purchase", column_B="repeat_buyers", or_equal=True
                    ),
                ],
            ),
            (
                "campaign_performance",
                campaigns,
                [
                    gx.expectations.ExpectCompoundColumnsToBeUnique(
                        column_list=["campaign_id", "variant", "segment"]
                    ),
                    *[
                        gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1)
                        for c in ("open_rate", "click_through_rate", "click_to_open_rate", "conversion_rate")
                    ],
                    *[
                        gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0)
                        for c in (
                            "exposures",
                            "judged_exposures",
                            "conversions",
                            "attributed_orders",
                            "attributed_revenue_eur",
                            "cost_eur",
                        )
                    ],
                    gx.expectations.ExpectColumnValuesToBeBetween(column="roi", min_value=-1),
                    gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A="exposures", column_B="judged_exposures", or_equal=True
                    ),
                ],
            ),
        ],
    )
