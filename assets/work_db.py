"""Reads from the pipeline's working DuckDB (the dbt marts) into polars, one query per input.

Queries select only the columns and the date range a stage needs; DuckDB hands the result over as
Arrow, which polars adopts without a copy, and the stages stay lazy from there.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

COMPLETED_ORDERS = """
    select customer_key, order_date, loaded_date, is_completed, net_amount_eur::double as net_amount_eur
    from fct_orders
    where is_completed and order_date >= ? and loaded_date <= ?
"""
KNOWN_CUSTOMERS = "select customer_key, first_loaded_date from dim_customers where first_loaded_date <= ?"
DAILY_ACTIVITY = """
    select customer_key, activity_date, sessions, orders_completed, net_revenue_eur::double as net_revenue_eur
    from customer_daily_activity
    where activity_date between ? and ?
"""


def _query(conn: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pl.LazyFrame:
    return pl.from_arrow(conn.sql(sql, params=params).to_arrow_table()).lazy()


def completed_orders(
    conn: duckdb.DuckDBPyConnection, first_order_date: date, last_known: date
) -> pl.LazyFrame:
    """Orders of `fct_orders` placed on/after `first_order_date` and delivered by `last_known`."""
    return _query(conn, COMPLETED_ORDERS, [first_order_date, last_known])


def known_customers(conn: duckdb.DuckDBPyConnection, last_known: date) -> pl.LazyFrame:
    return _query(conn, KNOWN_CUSTOMERS, [last_known])


def daily_activity(conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> pl.LazyFrame:
    return _query(conn, DAILY_ACTIVITY, [first_day, last_day])
