"""`kpi_daily`: the KPI rollups in long format (segment × day × window × metric), BI-friendly.

Rates over a rolling window are ratios of sums, never averages of daily ratios: conversion over 7
days is the week's visitors who bought over the week's visitors. Stocks (customers in a segment)
are averaged over the window. Every row carries its numerator and denominator; the value is null,
never NaN or an error, when the denominator is 0.
"""

from __future__ import annotations

import polars as pl

from assets.kpis.rollups import ALL_SEGMENTS, safe_ratio

WINDOWS = (1, 7, 28, 90)
LONG_COLUMNS = ("as_of_date", "segment", "window_days", "metric", "value", "numerator", "denominator")
# metric → (numerator, denominator) over the window's summed daily rollups.
RATIO_METRICS = {
    "conversion_rate": ("visitors_who_bought", "visitors"),
    "average_order_value_eur": ("revenue_eur", "orders"),
    "revenue_per_customer_eur": ("revenue_eur", "avg_customers"),
    "orders_per_customer": ("orders", "avg_customers"),
    "churn_rate": ("churned_customers", "customers_with_purchase"),
    "repeat_purchase_rate": ("repeat_buyers", "customers_with_purchase"),
    "avg_session_seconds": ("session_seconds", "sessions"),
    # Member-days with a visit over member-days: over 28 days, a member's active days / 28, averaged.
    "stickiness": ("visitors", "customer_days"),
    # Email events delivered in the window; opens can belong to sends of an earlier window, so these are
    # per-send ratios, not bounded rates (campaign_performance has the per-campaign open and click rates).
    "email_opens_per_send": ("email_opens", "emails_sent"),
    "email_clicks_per_send": ("email_clicks", "emails_sent"),
    "mean_csat": ("csat_sum", "survey_responses"),
    "csat_satisfied_share": ("csat_satisfied_responses", "survey_responses"),
}
FLOWS = (
    "visitors", "visitors_who_bought", "orders", "revenue_eur", "sessions", "session_seconds", "emails_sent",
    "email_opens", "email_clicks", "survey_responses", "csat_sum", "csat_satisfied_responses",
)  # fmt: skip
# Stocks describe a day, so over a window the last day's value is the one that counts.
STOCKS = ("churned_customers", "customers_with_purchase", "repeat_buyers")
# Metrics on stocks are published for the day itself only (window 1).
STOCK_METRICS = ("churn_rate", "repeat_purchase_rate")


def rolling_kpis(daily: pl.LazyFrame, window_days: int) -> pl.LazyFrame:
    """Window sums per segment ending on each day.

    A segment has no row on a day it was empty, so its flows count 0 then; its average size is
    divided by the days the pipeline processed inside the window (counted on the all-customer
    rows), so the first weeks of history are not diluted by days that were never processed.
    """
    period = f"{window_days}d"
    ordered = daily.sort("as_of_date")
    processed_days = (
        ordered.filter(pl.col("segment") == ALL_SEGMENTS)
        .rolling(index_column="as_of_date", period=period)
        .agg(pl.len().alias("days"))
    )
    return (
        ordered.rolling(index_column="as_of_date", period=period, group_by="segment")
        .agg(
            *[pl.col(c).sum() for c in FLOWS],
            pl.col("customers").sum().alias("customer_days"),
            *[pl.col(c).last() for c in STOCKS],
        )
        .join(processed_days, on="as_of_date", how="left")
        .with_columns(
            safe_ratio(pl.col("customer_days"), pl.col("days")).alias("avg_customers"),
            pl.lit(window_days, pl.Int16).alias("window_days"),
        )
    )


def kpi_long(daily: pl.LazyFrame, first_day: object, last_day: object) -> pl.LazyFrame:
    """Long rows for days in [first_day, last_day]; `daily` must reach 89 days further back."""
    windows = pl.concat([rolling_kpis(daily, w) for w in WINDOWS])
    rows = [
        windows.select(
            "as_of_date",
            "segment",
            "window_days",
            pl.lit(metric).alias("metric"),
            safe_ratio(pl.col(numerator), pl.col(denominator)).cast(pl.Float64).alias("value"),
            pl.col(numerator).cast(pl.Float64).alias("numerator"),
            pl.col(denominator).cast(pl.Float64).alias("denominator"),
        )
        for metric, (numerator, denominator) in RATIO_METRICS.items()
    ]
    return (
        pl.concat(rows)
        .filter(pl.col("as_of_date").is_between(first_day, last_day))
        .filter(~pl.col("metric").is_in(STOCK_METRICS) | (pl.col("window_days") == 1))
        .select(LONG_COLUMNS)
        .sort("as_of_date", "segment", "window_days", "metric")
    )
