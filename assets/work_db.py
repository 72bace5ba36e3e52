"""Reads from the pipeline's working DuckDB (the dbt marts) into polars, one query per input.

Queries select only the columns and the date range a stage needs; DuckDB hands the result over as
Arrow, which polars adopts without a copy, and the stages stay lazy from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
import polars as pl

from assets.customer_ids import CustomerNumbers, read_frame

if TYPE_CHECKING:
    from orchestration.settings import OperationsSettings

COMPLETED_ORDERS = """
    select customer_key, order_date, loaded_date, is_completed, net_amount_eur::double as net_amount_eur
    from fct_orders
    where is_completed and order_date >= ? and loaded_date <= ?
"""
KNOWN_CUSTOMERS = "select customer_key, first_loaded_date from dim_customers where first_loaded_date <= ?"
DAILY_ACTIVITY = """
    select customer_key, activity_date, sessions, session_seconds, orders_completed,
        net_revenue_eur::double as net_revenue_eur, emails_sent, email_opens, email_clicks, survey_responses,
        csat_sum, csat_satisfied_responses
    from customer_daily_activity
    where activity_date between ? and ?
"""


CUSTOMER_PROFILES = """
    select customer_key, first_loaded_date, birth_month, birth_day
    from dim_customers
    where first_loaded_date <= ?
"""
# All completed orders known by the last day: lifetime features (first/previous/last order) need them.
ORDER_HISTORY = """
    select customer_key, order_date, loaded_date, product_category,
        net_amount_eur::double as net_amount_eur,
        gross_amount_eur::double as gross_amount_eur,
        discount_amount_eur::double as discount_amount_eur
    from fct_orders
    where is_completed and loaded_date <= ?
"""
ACTIVITY_WINDOW = """
    select customer_key, activity_date, orders_placed, sessions, session_seconds, page_views, product_views,
        add_to_cart_events, checkout_started_events, emails_sent, email_opens, email_clicks, app_opens,
        social_interactions
    from customer_daily_activity
    where activity_date between ? and ?
"""
# A session with a cart step, and when (if ever) an order following it within the horizon was delivered.
CART_SESSIONS = """
    select s.customer_key, s.session_date, s.session_end, s.loaded_date,
        min(o.loaded_date) as converted_loaded_date
    from fct_sessions as s
    left join fct_orders as o
        on o.customer_key = s.customer_key
        and o.is_completed
        and o.order_ts >= s.session_start
        and o.order_ts < s.session_end + to_hours(?::integer)
    where (s.add_to_cart_events > 0 or s.checkout_started_events > 0)
        and s.session_date between ? and ?
    group by all
"""


# Each customer's RFM, lifecycle and loyalty segment on every day of a range, expanded from the stays.
# The stays are cut to the range first: range-joined as stored, every chunk of a backfill scanned
# the whole history three times, and a 12-day chunk at a million customers grew from 16 s to 27 s
# over two years.
SEGMENTS_BY_DAY = """
    with days as (
        select unnest(generate_series($first_day::date, $last_day::date, interval 1 day))::date as as_of_date
    ),
    stays as materialized (
        select family, customer_key, segment, valid_from, valid_to
        from segment_history
        where family in ('rfm', 'lifecycle', 'loyalty')
            and valid_from <= $last_day and (valid_to is null or valid_to > $first_day)
    )
    select days.as_of_date, rfm.customer_key, rfm.segment, lifecycle.segment as lifecycle,
        loyalty.segment as loyalty
    from days
    join stays as rfm
        on rfm.family = 'rfm'
        and rfm.valid_from <= days.as_of_date
        and (rfm.valid_to is null or rfm.valid_to > days.as_of_date)
    left join stays as lifecycle
        on lifecycle.family = 'lifecycle'
        and lifecycle.customer_key = rfm.customer_key
        and lifecycle.valid_from <= days.as_of_date
        and (lifecycle.valid_to is null or lifecycle.valid_to > days.as_of_date)
    left join stays as loyalty
        on loyalty.family = 'loyalty'
        and loyalty.customer_key = rfm.customer_key
        and loyalty.valid_from <= days.as_of_date
        and (loyalty.valid_to is null or loyalty.valid_to > days.as_of_date)
"""


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    """First value of a query. fetchall() drains the result: DuckDB 2 refuses new work on a
    connection while a result is only partly fetched."""
    return conn.execute(sql, params or []).fetchall()[0][0]


# Every exposure delivered by the end of the day, with the customer's RFM segment on the exposure day and
# what is known about it by then: opened / clicked (fct_campaign_responses), and the completed orders placed
# within the conversion window. `is_judged`: the window has closed, so conversion and revenue are final.
# Experiments use only judged exposures; campaign performance also reports open and click rates of the rest.
EXPOSURE_OUTCOMES = """
    with known as (
        select campaign_id, variant, customer_key, exposed_at, exposure_date,
            exposed_at + to_days($window_days::integer) as window_end
        from fct_campaign_exposures
        where loaded_date <= $as_of
    ),
    attributed as (
        select known.campaign_id, known.customer_key, count(*) as attributed_orders,
            sum(o.net_amount_eur)::double as attributed_revenue_eur
        from known
        join fct_orders as o
            on o.customer_key = known.customer_key and o.is_completed and o.loaded_date <= $as_of
            and o.order_ts >= known.exposed_at and o.order_ts < known.window_end
        group by all
    ),
    responses as (
        select campaign_id, customer_key, bool_or(response = 'click') as clicked
        from fct_campaign_responses
        where loaded_date <= $as_of
        group by all
    ),
    -- Each exposure day's RFM segment, found once per (customer, day) on these two columns: the
    -- range join over the whole history then builds its hash table on them, not on every exposure
    -- with its outcome columns (docs/performance.md: 7.1 -> 5.9 s on the one-year L store).
    exposure_days as (
        select distinct customer_key, exposure_date from known
    ),
    exposure_segments as (
        select days.customer_key, days.exposure_date, rfm.segment
        from exposure_days as days
        join segment_history as rfm
            on rfm.family = 'rfm' and rfm.customer_key = days.customer_key
            and rfm.valid_from <= days.exposure_date
            and (rfm.valid_to is null or rfm.valid_to > days.exposure_date)
    )
    select known.campaign_id, known.variant, known.customer_key,
        coalesce(exposure_segments.segment, '(unknown)') as segment,
        known.window_end <= timezone('UTC', ($as_of + 1)::timestamp) as is_judged,
        attributed.customer_key is not null as converted,
        coalesce(attributed.attributed_orders, 0)::bigint as attributed_orders,
        coalesce(attributed.attributed_revenue_eur, 0.0) as attributed_revenue_eur,
        -- a click counts as an open: mail clients that block images never report the open itself
        responses.customer_key is not null as opened,
        coalesce(responses.clicked, false) as clicked
    from known
    left join attributed
        on attributed.campaign_id = known.campaign_id and attributed.customer_key = known.customer_key
    left join responses
        on responses.campaign_id = known.campaign_id and responses.customer_key = known.customer_key
    left join exposure_segments
        on exposure_segments.customer_key = known.customer_key
        and exposure_segments.exposure_date = known.exposure_date
"""


def _query(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[object] | dict[str, object],
    numbers: CustomerNumbers | None = None,
    source: str = "",
) -> pl.LazyFrame:
    frame = read_frame(conn, sql, params, numbers, source).lazy()
    # DuckDB labels UTC as "Etc/UTC"; polars compares time zones by name, so normalise once here.
    return frame.with_columns(pl.col(pl.Datetime("us", "Etc/UTC")).dt.convert_time_zone("UTC"))


def completed_orders(
    conn: duckdb.DuckDBPyConnection, first_order_date: date, last_known: date
) -> pl.LazyFrame:
    """Orders of `fct_orders` placed on/after `first_order_date` and delivered by `last_known`."""
    return _query(conn, COMPLETED_ORDERS, [first_order_date, last_known])


def known_customers(conn: duckdb.DuckDBPyConnection, last_known: date) -> pl.LazyFrame:
    return _query(conn, KNOWN_CUSTOMERS, [last_known])


DAILY_TOTALS = """
    select activity_date as as_of_date, sum(net_revenue_eur)::double as mart_revenue_eur,
        sum(orders_completed)::bigint as mart_orders
    from customer_daily_activity
    where activity_date between ? and ?
    group by all
"""


def daily_totals(conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> pl.DataFrame:
    """Revenue and completed orders per day of the mart, summed in DuckDB (one row a day)."""
    return _query(conn, DAILY_TOTALS, [first_day, last_day]).collect()


def daily_activity(
    conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date, numbers: CustomerNumbers | None = None
) -> pl.LazyFrame:
    return _query(conn, DAILY_ACTIVITY, [first_day, last_day], numbers, "customer_daily_activity")


# The readers below take the segment or KPI stage's `CustomerNumbers`: with them, `customer_key` is a number.


def customer_profiles(
    conn: duckdb.DuckDBPyConnection, last_known: date, numbers: CustomerNumbers | None = None
) -> pl.LazyFrame:
    return _query(conn, CUSTOMER_PROFILES, [last_known], numbers, "dim_customers")


def order_history(
    conn: duckdb.DuckDBPyConnection, last_known: date, numbers: CustomerNumbers | None = None
) -> pl.LazyFrame:
    return _query(conn, ORDER_HISTORY, [last_known], numbers, "fct_orders")


def recent_order_history(
    conn: duckdb.DuckDBPyConnection,
    last_known: date,
    dated_after: date,
    state_through: date,
    numbers: CustomerNumbers | None = None,
) -> pl.LazyFrame:
    """Orders dated after `dated_after` (a purchase window) or delivered after `state_through`: what a
    run needs when running lifetime state through `state_through` stands in for older orders."""
    sql = f"{ORDER_HISTORY} and (order_date > ? or loaded_date > ?)"
    return _query(conn, sql, [last_known, dated_after, state_through], numbers, "fct_orders")


def activity_window(
    conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date, numbers: CustomerNumbers | None = None
) -> pl.LazyFrame:
    return _query(conn, ACTIVITY_WINDOW, [first_day, last_day], numbers, "customer_daily_activity")


def cart_sessions(
    conn: duckdb.DuckDBPyConnection,
    first_day: date,
    last_day: date,
    horizon_hours: int,
    numbers: CustomerNumbers | None = None,
) -> pl.LazyFrame:
    return _query(conn, CART_SESSIONS, [horizon_hours, first_day, last_day], numbers, "fct_sessions")


def segments_by_day(
    conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date, numbers: CustomerNumbers | None = None
) -> pl.LazyFrame:
    params = {"first_day": first_day, "last_day": last_day}
    return _query(conn, SEGMENTS_BY_DAY, params, numbers, "segment_history")


def exposure_outcomes(conn: duckdb.DuckDBPyConnection, as_of: date, window_days: int) -> pl.LazyFrame:
    frame = conn.sql(EXPOSURE_OUTCOMES, params={"as_of": as_of, "window_days": window_days}).to_arrow_table()
    return pl.from_arrow(frame).lazy()


@contextmanager
def memory_limit(
    conn: duckdb.DuckDBPyConnection, operations: OperationsSettings, setting: str
) -> Iterator[None]:
    """DuckDB capped at `operations.<setting>` inside the block and at `operations.duckdb_memory_limit`
    after: the cap belongs to the database instance, which the run's other steps share.

    Running out of the cap is final for the step: a retry would start its range again at the first
    day (hours into a long backfill) and meet the same cap, so it fails naming the setting to raise.
    """
    limit = getattr(operations, setting)
    conn.execute(f"set memory_limit = '{limit}'")
    try:
        yield
    except duckdb.OutOfMemoryException as error:
        raise dg.Failure(
            description=f"DuckDB needed more than its {limit} cap (operations.{setting}, env "
            f"SEGMENTS_OPERATIONS__{setting.upper()}); raise it and rerun the range: {error}",
            allow_retries=False,
        ) from error
    finally:
        conn.execute(f"set memory_limit = '{operations.duckdb_memory_limit}'")
