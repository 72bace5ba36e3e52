"""Daily KPIs per segment: size, activity, orders, revenue, conversion and churn.

Every rate has an explicit denominator column next to it and is null (never NaN, never a division
error) when that denominator is zero. One extra row per day, segment `ALL_SEGMENTS`, carries the
totals, so BI can reconcile segment rows against it and against the dbt marts.
"""

from __future__ import annotations

import polars as pl

ALL_SEGMENTS = "All customers"
# Lifecycle segments the KPIs rely on (assets/segments/families/lifecycle.py emits them).
PROSPECT = "prospect"
CHURNED = "churned"
KPI_COLUMNS = (
    "as_of_date", "segment", "customers", "visitors", "buyers", "visitors_who_bought",
    "orders", "revenue_eur", "conversion_rate", "customers_with_purchase", "churned_customers",
    "churn_rate", "revenue_per_customer_eur",
)  # fmt: skip


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)


def _rollup(members: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    visited = pl.col("sessions") > 0
    bought = pl.col("orders_completed") > 0
    return members.group_by(by).agg(
        pl.len().cast(pl.Int64).alias("customers"),
        visited.sum().cast(pl.Int64).alias("visitors"),
        bought.sum().cast(pl.Int64).alias("buyers"),
        (visited & bought).sum().cast(pl.Int64).alias("visitors_who_bought"),
        pl.col("orders_completed").sum().cast(pl.Int64).alias("orders"),
        pl.col("net_revenue_eur").sum().cast(pl.Float64).alias("revenue_eur"),
        (pl.col("lifecycle") != PROSPECT).sum().cast(pl.Int64).alias("customers_with_purchase"),
        pl.col("is_churned").sum().cast(pl.Int64).alias("churned_customers"),
    )


def segment_kpis(segments: pl.LazyFrame, activity: pl.LazyFrame) -> pl.LazyFrame:
    """KPIs per (as_of_date, segment) plus the all-customer total per day.

    `segments`: as_of_date, customer_key, segment (RFM) and lifecycle (the lifecycle segment that
    day): churn is the lifecycle family's "churned", buyers-ever are everyone but its "prospect".
    `activity`: customer_key, activity_date, sessions, orders_completed, net_revenue_eur
    (the dbt mart `customer_daily_activity`); a customer without a row was inactive that day.
    """
    day_activity = activity.select(
        "customer_key",
        pl.col("activity_date").alias("as_of_date"),
        "sessions",
        "orders_completed",
        "net_revenue_eur",
    )
    members = (
        segments.select("as_of_date", "customer_key", "segment", "lifecycle")
        .join(day_activity, on=["as_of_date", "customer_key"], how="left")
        .with_columns(
            pl.col("sessions", "orders_completed").fill_null(0),
            pl.col("net_revenue_eur").fill_null(0.0),
            (pl.col("lifecycle") == CHURNED).alias("is_churned"),
        )
    )
    per_segment = _rollup(members, ["as_of_date", "segment"])
    overall = _rollup(members, ["as_of_date"]).with_columns(pl.lit(ALL_SEGMENTS).alias("segment"))
    return (
        pl.concat([per_segment, overall], how="diagonal")
        .with_columns(
            safe_ratio(pl.col("visitors_who_bought"), pl.col("visitors")).alias("conversion_rate"),
            safe_ratio(pl.col("churned_customers"), pl.col("customers_with_purchase")).alias("churn_rate"),
            safe_ratio(pl.col("revenue_eur"), pl.col("customers")).alias("revenue_per_customer_eur"),
        )
        .select(KPI_COLUMNS)
        .sort("as_of_date", "segment")
    )
