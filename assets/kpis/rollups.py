"""Daily KPIs per segment: size, activity, orders, revenue, conversion, churn, engagement and satisfaction.

Every rate has an explicit numerator and denominator column next to it and is null (never NaN, never a
division error) when that denominator is zero. One extra row per day, segment `ALL_SEGMENTS`, carries
the totals, so BI can reconcile segment rows against it and against the dbt marts.
"""

from __future__ import annotations

import polars as pl

ALL_SEGMENTS = "All customers"
# Lifecycle and loyalty segments the KPIs rely on (assets/segments/behaviour.py emits them).
PROSPECT = "prospect"
CHURNED = "churned"
# Loyalty segments of customers with at most one completed order ever; every other one is a repeat buyer.
SINGLE_OR_NO_ORDER = ("none", "one_time")
# Summed per segment and day; absent activity counts 0.
ACTIVITY_COUNTS = (
    "sessions", "session_seconds", "orders_completed", "emails_sent", "email_opens", "email_clicks",
    "survey_responses", "csat_sum", "csat_satisfied_responses",
)  # fmt: skip
KPI_COLUMNS = (
    "as_of_date", "segment", "customers", "visitors", "buyers", "visitors_who_bought",
    "orders", "revenue_eur", "conversion_rate", "customers_with_purchase", "churned_customers",
    "churn_rate", "revenue_per_customer_eur",
    "sessions", "session_seconds", "avg_session_seconds", "emails_sent", "email_opens", "email_clicks",
    "survey_responses", "csat_sum", "csat_satisfied_responses", "mean_csat", "csat_satisfied_share",
    "repeat_buyers", "repeat_purchase_rate",
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
        pl.col("is_repeat_buyer").sum().cast(pl.Int64).alias("repeat_buyers"),
        *[pl.col(c).sum().cast(pl.Int64) for c in ACTIVITY_COUNTS if c != "orders_completed"],
    )


def kpi_ratios() -> list[pl.Expr]:
    """The day's rates from the summed counts (the same numerators and denominators as kpi_daily)."""
    return [
        safe_ratio(pl.col("visitors_who_bought"), pl.col("visitors")).alias("conversion_rate"),
        safe_ratio(pl.col("churned_customers"), pl.col("customers_with_purchase")).alias("churn_rate"),
        safe_ratio(pl.col("revenue_eur"), pl.col("customers")).alias("revenue_per_customer_eur"),
        safe_ratio(pl.col("session_seconds"), pl.col("sessions")).alias("avg_session_seconds"),
        safe_ratio(pl.col("csat_sum"), pl.col("survey_responses")).alias("mean_csat"),
        safe_ratio(pl.col("csat_satisfied_responses"), pl.col("survey_responses")).alias(
            "csat_satisfied_share"
        ),
        safe_ratio(pl.col("repeat_buyers"), pl.col("customers_with_purchase")).alias("repeat_purchase_rate"),
    ]


def segment_kpis(segments: pl.LazyFrame, activity: pl.LazyFrame) -> pl.LazyFrame:
    """KPIs per (as_of_date, segment) plus the all-customer total per day.

    `segments`: as_of_date, customer_key, segment (RFM), lifecycle and loyalty (those families'
    segments that day): churn is the lifecycle family's "churned", buyers-ever are everyone but its
    "prospect", repeat buyers are loyalty segments other than "none" and "one_time".
    `activity`: customer_key, activity_date, net_revenue_eur and the `ACTIVITY_COUNTS` (the dbt mart
    `customer_daily_activity`); a customer without a row was inactive that day.
    """
    day_activity = activity.select(
        "customer_key",
        pl.col("activity_date").alias("as_of_date"),
        *ACTIVITY_COUNTS,
        "net_revenue_eur",
    )
    members = (
        segments.select("as_of_date", "customer_key", "segment", "lifecycle", "loyalty")
        .join(day_activity, on=["as_of_date", "customer_key"], how="left")
        .with_columns(
            # csat_sum is null on days without a survey answer: 0 is its neutral element in the sums
            pl.col(list(ACTIVITY_COUNTS)).fill_null(0),
            pl.col("net_revenue_eur").fill_null(0.0),
            (pl.col("lifecycle") == CHURNED).alias("is_churned"),
            (pl.col("loyalty").is_not_null() & ~pl.col("loyalty").is_in(SINGLE_OR_NO_ORDER)).alias(
                "is_repeat_buyer"
            ),
        )
    )
    per_segment = _rollup(members, ["as_of_date", "segment"])
    overall = _rollup(members, ["as_of_date"]).with_columns(pl.lit(ALL_SEGMENTS).alias("segment"))
    return (
        pl.concat([per_segment, overall], how="diagonal")
        .with_columns(kpi_ratios())
        .select(KPI_COLUMNS)
        .sort("as_of_date", "segment")
    )
