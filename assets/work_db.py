"""Reads from the pipeline's working DuckDB (the dbt marts) into polars, one query per input.

Queries select only the columns and the date range a stage needs, and DuckDB hands the result to
polars through Arrow without a copy; the stages then stay lazy from there.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl


def completed_orders(
    conn: duckdb.DuckDBPyConnection, first_order_date: date, last_known: date
) -> pl.LazyFrame:
    """Orders of `fct_orders` placed on/after `first_order_date` and delivered by `last_known`."""
    return (
        conn.execute(
            """
        select customer_key, order_date, loaded_date, is_completed, net_amount_eur::double as net_amount_eur
        from fct_orders
        where is_completed and order_date >= ? and loaded_date <= ?
        """,
            [first_order_date, last_known],
        )
        .pl()
        .lazy()
    )


def known_customers(conn: duckdb.DuckDBPyConnection, last_known: date) -> pl.LazyFrame:
    return (
        conn.execute(
            "select customer_key, first_loaded_date from dim_customers where first_loaded_date <= ?",
            [last_known],
        )
        .pl()
        .lazy()
    )


def daily_activity(conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> pl.LazyFrame:
    return (
        conn.execute(
            """
        select customer_key, activity_date, sessions, orders_completed,
            net_revenue_eur::double as net_revenue_eur
        from customer_daily_activity
        where activity_date between ? and ?
        """,
            [first_day, last_day],
        )
        .pl()
        .lazy()
    )
