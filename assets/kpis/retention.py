"""Cohort retention by first-purchase month (the classic triangle), and the repeat-purchase rate.

As of day D, using completed orders delivered by the end of D: a customer's cohort is the month of
their first order; they are retained in month k of the cohort when they ordered in the k-th month
after it (k = 0 is the cohort month itself, retention 1 by definition). The month containing D is
still running, so its cells are partial; `is_complete_month` says which cells are final.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from assets.kpis.rollups import safe_ratio

RETENTION_COLUMNS = (
    "as_of_date", "cohort_month", "months_since_first_order", "cohort_customers", "active_customers",
    "retention_rate", "is_complete_month",
)  # fmt: skip


def _month_index(day: pl.Expr) -> pl.Expr:
    return day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - 1


def cohort_retention(orders: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """`orders`: completed orders with customer_key, order_date, loaded_date."""
    known = orders.filter(pl.col("loaded_date") <= as_of, pl.col("order_date") <= as_of)
    months = known.select("customer_key", _month_index(pl.col("order_date")).alias("month")).unique()
    cohorts = months.group_by("customer_key").agg(pl.col("month").min().alias("cohort"))
    sizes = cohorts.group_by("cohort").agg(pl.len().cast(pl.Int64).alias("cohort_customers"))
    active = (
        months.join(cohorts, on="customer_key")
        .with_columns((pl.col("month") - pl.col("cohort")).alias("months_since_first_order"))
        .group_by("cohort", "months_since_first_order")
        .agg(pl.len().cast(pl.Int64).alias("active_customers"))
    )
    current_month = as_of.year * 12 + as_of.month - 1
    # Every cell of the triangle up to the current month, including months nobody came back in.
    grid = sizes.with_columns(
        pl.int_ranges(0, current_month - pl.col("cohort") + 1).alias("months_since_first_order")
    ).explode("months_since_first_order")
    return (
        grid.join(active, on=["cohort", "months_since_first_order"], how="left")
        .with_columns(
            pl.lit(as_of).alias("as_of_date"),
            pl.date(pl.col("cohort") // 12, pl.col("cohort") % 12 + 1, 1).alias("cohort_month"),
            pl.col("months_since_first_order").cast(pl.Int32),
            pl.col("active_customers").fill_null(0),
            (pl.col("cohort") + pl.col("months_since_first_order") < current_month).alias(
                "is_complete_month"
            ),
        )
        .with_columns(
            safe_ratio(pl.col("active_customers"), pl.col("cohort_customers")).alias("retention_rate")
        )
        .select(RETENTION_COLUMNS)
        .sort("cohort_month", "months_since_first_order")
    )


def repeat_purchase_rate(orders: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Share of customers with a known order who have ordered more than once."""
    known = orders.filter(pl.col("loaded_date") <= as_of, pl.col("order_date") <= as_of)
    per_customer = known.group_by("customer_key").agg(pl.len().alias("orders"))
    return per_customer.select(
        pl.lit(as_of).alias("as_of_date"),
        pl.len().cast(pl.Int64).alias("buyers"),
        (pl.col("orders") > 1).sum().cast(pl.Int64).alias("repeat_buyers"),
    ).with_columns(safe_ratio(pl.col("repeat_buyers"), pl.col("buyers")).alias("repeat_purchase_rate"))
