"""Reference 2: RFM + lifecycle + KPIs for one day as DuckDB SQL over the dbt marts (the one-scan floor).

One statement reads each mart once and builds the per-customer table (a temporary table, so the
KPI rollup does not scan the marts again); a second statement rolls it up per segment with
GROUPING SETS. Definitions, written independently of the pipeline's polars code:

- known customers: `dim_customers.first_loaded_date <= D`;
- orders: completed, delivered by D (`loaded_date <= D`), placed by D; the RFM window is
  `(D - window_days, D]`; lifetime (last, previous order, orders ever) uses all of them;
- scores: `floor((rank - 1) * 5 / buyers) + 1` with SQL `rank()` (ties share the lowest rank) among
  window buyers, ordered so that 5 is best; money summed exactly as DECIMAL, hence to the cent;
- segment: the first `[[rfm.segments]]` rule covering (R, F); lifecycle: the rules of
  docs/segments.md with the thresholds of `[behaviour.lifecycle]`;
- KPIs: the day's `customer_daily_activity` row of each member (none = inactive).
"""

from __future__ import annotations

import time
from datetime import date

import duckdb
import polars as pl

from bench.outputs import ALL_SEGMENTS, CHURNED, KPI_SCHEMA, PROSPECT, SEGMENT_SCHEMA, Answer, conform
from orchestration.settings import Settings

MEMBERS_TABLE = "bench_members"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def segment_case(settings: Settings) -> str:
    """The (recency score, frequency score) grid of the config as one CASE expression."""
    rfm = settings.rfm
    branches = [
        f"when recency_score between {rule.recency[0]} and {rule.recency[1]} "
        f"and frequency_score between {rule.frequency[0]} and {rule.frequency[1]} then {_literal(rule.name)}"
        for rule in rfm.segments
    ]
    return (
        f"case when recency_score is null then {_literal(rfm.no_purchase_segment)} {' '.join(branches)} end"
    )


def members_sql(settings: Settings) -> str:
    life = settings.behaviour.lifecycle
    return f"""
    create or replace temp table {MEMBERS_TABLE} as
    with known as (
        select customer_key from dim_customers where first_loaded_date <= $as_of
    ),
    orders as (
        select customer_key, order_date, net_amount_eur,
            order_date > $as_of - $window_days::integer as in_window
        from fct_orders
        where is_completed and loaded_date <= $as_of and order_date <= $as_of
    ),
    per_customer as (
        select customer_key,
            count(*) as orders_ever,
            max(order_date) as last_order_date,
            -- second-latest order date, duplicates counted: two orders on one day mean a gap of 0
            max(order_date, 2)[2] as previous_order_date,
            count(*) filter (where in_window) as frequency,
            sum(net_amount_eur) filter (where in_window) as monetary_eur
        from orders
        group by customer_key
    ),
    buyers as (
        select known.customer_key, frequency, monetary_eur, $as_of - last_order_date as recency_days
        from known join per_customer using (customer_key)
        where frequency > 0
    ),
    scored as (
        select *,
            ((rank() over (order by recency_days desc) - 1) * 5 // count(*) over () + 1) as recency_score,
            ((rank() over (order by frequency) - 1) * 5 // count(*) over () + 1) as frequency_score,
            ((rank() over (order by monetary_eur) - 1) * 5 // count(*) over () + 1) as monetary_score
        from buyers
    ),
    customers as (
        select known.customer_key,
            scored.recency_days, scored.frequency, scored.monetary_eur,
            scored.recency_score, scored.frequency_score, scored.monetary_score,
            coalesce(per_customer.orders_ever, 0) as orders_ever,
            $as_of - per_customer.last_order_date as since_last,
            per_customer.last_order_date - per_customer.previous_order_date as gap_before_last
        from known
        left join per_customer using (customer_key)
        left join scored using (customer_key)
    )
    select customers.customer_key, recency_days, frequency, monetary_eur::double as monetary_eur,
        recency_score, frequency_score, monetary_score,
        {segment_case(settings)} as rfm_segment,
        case
            when orders_ever = 0 then '{PROSPECT}'
            when since_last > {life.churn_after_days} then '{CHURNED}'
            when since_last > {life.dormant_after_days} then 'dormant'
            when since_last > {life.active_days} then 'at_risk'
            when orders_ever = 1 then 'new'
            when gap_before_last > {life.resurrected_min_gap_days} then 'resurrected'
            else 'returning'
        end as lifecycle,
        coalesce(activity.sessions, 0) as sessions,
        coalesce(activity.orders_completed, 0) as orders_completed,
        coalesce(activity.net_revenue_eur, 0) as net_revenue_eur
    from customers
    left join customer_daily_activity as activity
        on activity.customer_key = customers.customer_key and activity.activity_date = $as_of
    """


KPI_SQL = f"""
    with rollup as (
        select
            case when grouping(rfm_segment) = 1 then {_literal(ALL_SEGMENTS)} else rfm_segment end as segment,
            count(*) as customers,
            count(*) filter (where sessions > 0) as visitors,
            count(*) filter (where orders_completed > 0) as buyers,
            count(*) filter (where sessions > 0 and orders_completed > 0) as visitors_who_bought,
            sum(orders_completed) as orders,
            sum(net_revenue_eur)::double as revenue_eur,
            count(*) filter (where lifecycle <> '{PROSPECT}') as customers_with_purchase,
            count(*) filter (where lifecycle = '{CHURNED}') as churned_customers
        from {MEMBERS_TABLE}
        group by grouping sets ((rfm_segment), ())
    )
    select *,
        case when visitors > 0 then visitors_who_bought / visitors end as conversion_rate,
        case when customers_with_purchase > 0 then churned_customers / customers_with_purchase end
            as churn_rate,
        case when customers > 0 then revenue_eur / customers end as revenue_per_customer_eur
    from rollup
"""


def run(conn: duckdb.DuckDBPyConnection, as_of: date, settings: Settings) -> Answer:
    """Both statements run on `conn` (a read-only connection to the work DB is enough)."""
    params = {"as_of": as_of, "window_days": settings.rfm.window_days}
    began = time.perf_counter()
    conn.execute(members_sql(settings), params)
    kpis = conn.sql(KPI_SQL).to_arrow_table()
    segments = conn.sql(
        f"select * exclude (sessions, orders_completed, net_revenue_eur) from {MEMBERS_TABLE}"
    )
    segments = segments.to_arrow_table()
    elapsed = time.perf_counter() - began
    conn.execute(f"drop table {MEMBERS_TABLE}")
    return Answer(
        segments=conform(pl.from_arrow(segments), SEGMENT_SCHEMA, "customer_key"),
        kpis=conform(pl.from_arrow(kpis), KPI_SCHEMA, "segment"),
        seconds={"load": 0.0, "compute": elapsed, "total": elapsed},
    )
