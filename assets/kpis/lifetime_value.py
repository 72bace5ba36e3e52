"""`clv_customer`: historical and predicted customer lifetime value as of each run's last day."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at definition time.
import dagster as dg
import great_expectations as gx
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.gates import gx_check_result
from assets.kpis.clv import customer_clv, segment_clv_kpis
from assets.partition_store import partition_path, replace_partition
from assets.segments.assets import segment_history
from assets.transform.assets import WORK_DB_POOL
from assets.work_db import order_history, segments_by_day
from orchestration.partitions import daily_partitions, partition_days
from orchestration.settings import get_settings

DATASET = "clv_customer"
KPI_DATASET = "clv_kpis"
# Revenue is summed in floating point on both sides; a cent of drift is rounding, not loss.
RECONCILIATION_TOLERANCE_EUR = 0.01
# The same orders rfm_summary counts: completed, delivered by the end of D, placed by D.
KNOWN_REVENUE = """
    select count(distinct customer_key) as customers, coalesce(sum(net_amount_eur::double), 0) as revenue
    from fct_orders
    where is_completed and loaded_date <= $as_of and order_date <= $as_of
"""


@dg.asset(
    group_name="kpis",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WORK_DB_POOL,
    kinds={"polars", "pymc", "parquet"},
    deps=[segment_history, "fct_orders"],
)
def clv_customer(context: dg.AssetExecutionContext, work_db: DuckDBResource) -> dg.MaterializeResult:
    """Per customer as of the run's last day: historical CLV, P(alive), expected purchases and spend,
    predicted CLV (BG/NBD + Gamma-Gamma, pymc-marketing), with the RFM and lifecycle segment that day.
    Also writes the per-segment CLV KPIs (`clv_kpis`, kpi_daily's long format)."""
    settings = get_settings()
    as_of = partition_days(context)[-1]
    with work_db.get_connection() as conn:
        orders = order_history(conn, as_of).collect()
        segments = segments_by_day(conn, as_of, as_of).collect()
    customers, fit = customer_clv(orders.lazy(), segments.lazy(), as_of, settings.clv)
    if fit.skipped_reason:
        context.log.warning(f"clv: {fit.skipped_reason}")
    replace_partition(customers, settings.gold_dir, DATASET, as_of)
    kpis = segment_clv_kpis(customers.lazy(), settings.clv.horizon_days).collect()
    replace_partition(kpis, settings.gold_dir, KPI_DATASET, as_of)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": customers.height,
            "as_of_date": as_of.isoformat(),
            "repeat_customers": int((customers["frequency"] > 0).sum()),
            "fitted_parameters": dg.MetadataValue.json(fit.parameters),
            "fit_seconds": round(fit.fit_seconds, 2),
            "fit_skipped": fit.skipped_reason or "",
            "historical_clv_eur": float(customers["historical_clv_eur"].sum()),
            "predicted_clv_eur": float(customers["predicted_clv_eur"].sum()),
            "clv_kpi_rows": kpis.height,
        }
    )


@dg.asset_check(asset=clv_customer, blocking=True, partitions_def=daily_partitions)
def clv_customer_gx_suite(
    context: dg.AssetCheckExecutionContext, work_db: DuckDBResource
) -> dg.AssetCheckResult:
    """GX: one row per customer, P(alive) in [0, 1], expected purchases, spend and CLV >= 0, and the
    historical revenue (hence historical CLV) reconciles with `fct_orders`.

    The table can have a million rows, so GX validates a one-row aggregate computed in polars
    (the edge conversion stays small); the aggregate carries every bound the expectations test.
    """
    settings = get_settings()
    as_of = partition_days(context)[-1]
    customers = pl.scan_parquet(partition_path(settings.gold_dir, DATASET, as_of), hive_partitioning=False)
    with work_db.get_connection() as conn:
        # fetchall() drains the result (DuckDB 2 refuses new work on a half-read connection).
        mart_customers, mart_revenue = conn.execute(KNOWN_REVENUE, {"as_of": as_of}).fetchall()[0]
    summary = customers.select(
        pl.len().alias("rows"),
        pl.col("customer_key").n_unique().alias("customers"),
        pl.lit(mart_customers, pl.Int64).alias("mart_customers"),
        pl.col("p_alive").min().alias("p_alive_min"),
        pl.col("p_alive").max().alias("p_alive_max"),
        pl.col("expected_purchases").min().alias("expected_purchases_min"),
        pl.col("expected_spend_eur").min().alias("expected_spend_min"),
        pl.col("predicted_clv_eur").min().alias("predicted_clv_min"),
        (pl.col("net_revenue_eur").sum() - mart_revenue).abs().alias("revenue_vs_mart_eur"),
        (pl.col("historical_clv_eur").sum() - pl.col("net_revenue_eur").sum() * settings.clv.margin_share)
        .abs()
        .alias("historical_clv_vs_margin_eur"),
    ).collect()
    tolerance = RECONCILIATION_TOLERANCE_EUR
    return gx_check_result(
        "clv_customer",
        [
            (
                "clv_customer_summary",
                summary,
                [
                    gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="rows", column_B="customers"),
                    gx.expectations.ExpectColumnPairValuesToBeEqual(
                        column_A="customers", column_B="mart_customers"
                    ),
                    gx.expectations.ExpectColumnValuesToBeBetween(column="p_alive_min", min_value=0),
                    gx.expectations.ExpectColumnValuesToBeBetween(column="p_alive_max", max_value=1),
                    *[
                        gx.expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0)
                        for c in ("expected_purchases_min", "expected_spend_min", "predicted_clv_min")
                    ],
                    *[
                        gx.expectations.ExpectColumnValuesToBeBetween(column=c, max_value=tolerance)
                        for c in ("revenue_vs_mart_eur", "historical_clv_vs_margin_eur")
                    ],
                ],
            )
        ],
    )
