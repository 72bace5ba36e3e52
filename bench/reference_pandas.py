"""Reference 1: RFM + lifecycle + KPIs for one day the way an analyst would write it in pandas.

Reads the same rows the pipeline reads (completed orders delivered by D, customers known by D,
the day's activity) with plain SQL selects, then does everything else in pandas: groupby/agg,
`rank(method="min")`, merges and `np.select`. The definitions are the ones in the docstring of
`bench/reference_duckdb.py`, written here independently of both other implementations.
"""

from __future__ import annotations

import time
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import polars as pl

from bench.outputs import ALL_SEGMENTS, CHURNED, KPI_SCHEMA, PROSPECT, SEGMENT_SCHEMA, Answer, conform
from orchestration.settings import Settings

SCORE_BINS = 5


def load(conn: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, pd.DataFrame]:
    return {
        "customers": conn.execute(
            "select customer_key, first_loaded_date from dim_customers where first_loaded_date <= ?", [as_of]
        ).df(),
        "orders": conn.execute(
            "select customer_key, order_date, loaded_date, net_amount_eur from fct_orders "
            "where is_completed and loaded_date <= ?",
            [as_of],
        ).df(),
        "activity": conn.execute(
            "select customer_key, sessions, orders_completed, net_revenue_eur from customer_daily_activity "
            "where activity_date = ?",
            [as_of],
        ).df(),
    }


def quantile_score(values: pd.Series, ascending: bool) -> pd.Series:
    """1..5 (5 best) from the min-rank among the buyers; ties share the lowest rank of their group."""
    rank = values.rank(method="min", ascending=ascending)
    return ((rank - 1) * SCORE_BINS // len(values) + 1).astype("int8")


def rfm_and_lifecycle(data: dict[str, pd.DataFrame], as_of: date, settings: Settings) -> pd.DataFrame:
    day = pd.Timestamp(as_of)
    customers = data["customers"][["customer_key"]]
    orders = data["orders"]
    orders = orders[orders["order_date"] <= day]

    # Lifetime: orders ever, latest and second-latest order date (duplicates counted).
    by_date = orders.sort_values(["customer_key", "order_date"], ascending=[True, False])
    position = by_date.groupby("customer_key").cumcount()
    lifetime = by_date.groupby("customer_key").agg(
        orders_ever=("order_date", "size"), last_order_date=("order_date", "first")
    )
    previous = by_date[position == 1].set_index("customer_key")["order_date"].rename("previous_order_date")
    lifetime = lifetime.join(previous)

    # RFM over the trailing window, buyers known by D only.
    window_start = day - pd.Timedelta(days=settings.rfm.window_days)
    in_window = orders[orders["order_date"] > window_start]
    in_window = in_window[in_window["customer_key"].isin(customers["customer_key"])]
    rfm = in_window.groupby("customer_key").agg(
        last_order_date=("order_date", "max"),
        frequency=("order_date", "size"),
        monetary_eur=("net_amount_eur", "sum"),
    )
    rfm["monetary_eur"] = rfm["monetary_eur"].round(2)
    rfm["recency_days"] = (day - rfm["last_order_date"]).dt.days
    rfm["recency_score"] = quantile_score(rfm["recency_days"], ascending=False)
    rfm["frequency_score"] = quantile_score(rfm["frequency"], ascending=True)
    rfm["monetary_score"] = quantile_score(rfm["monetary_eur"], ascending=True)

    grid = pd.DataFrame(
        [
            (r, f, rule.name)
            for rule in settings.rfm.segments
            for r in range(rule.recency[0], rule.recency[1] + 1)
            for f in range(rule.frequency[0], rule.frequency[1] + 1)
        ],
        columns=["recency_score", "frequency_score", "rfm_segment"],
    ).astype({"recency_score": "int8", "frequency_score": "int8"})
    rfm = rfm.reset_index().merge(grid, on=["recency_score", "frequency_score"], how="left")

    out = customers.merge(rfm.drop(columns="last_order_date"), on="customer_key", how="left")
    out = out.merge(lifetime.reset_index(), on="customer_key", how="left")
    out["rfm_segment"] = out["rfm_segment"].fillna(settings.rfm.no_purchase_segment)

    life = settings.behaviour.lifecycle
    since_last = (day - out["last_order_date"]).dt.days
    gap = (out["last_order_date"] - out["previous_order_date"]).dt.days
    orders_ever = out["orders_ever"].fillna(0)
    out["lifecycle"] = np.select(
        [
            orders_ever == 0,
            since_last > life.churn_after_days,
            since_last > life.dormant_after_days,
            since_last > life.active_days,
            orders_ever == 1,
            gap > life.resurrected_min_gap_days,
        ],
        [PROSPECT, CHURNED, "dormant", "at_risk", "new", "resurrected"],
        default="returning",
    )
    return out


def kpis(members: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    day = members[["customer_key", "rfm_segment", "lifecycle"]].merge(activity, on="customer_key", how="left")
    day[["sessions", "orders_completed", "net_revenue_eur"]] = day[
        ["sessions", "orders_completed", "net_revenue_eur"]
    ].fillna(0)
    day["visited"] = day["sessions"] > 0
    day["bought"] = day["orders_completed"] > 0
    day["visited_and_bought"] = day["visited"] & day["bought"]
    day["ever_bought"] = day["lifecycle"] != PROSPECT
    day["churned"] = day["lifecycle"] == CHURNED
    aggregations = {
        "customers": ("customer_key", "size"),
        "visitors": ("visited", "sum"),
        "buyers": ("bought", "sum"),
        "visitors_who_bought": ("visited_and_bought", "sum"),
        "orders": ("orders_completed", "sum"),
        "revenue_eur": ("net_revenue_eur", "sum"),
        "customers_with_purchase": ("ever_bought", "sum"),
        "churned_customers": ("churned", "sum"),
    }
    per_segment = day.groupby("rfm_segment").agg(**aggregations).reset_index(names="segment")
    overall = day.assign(rfm_segment=ALL_SEGMENTS).groupby("rfm_segment").agg(**aggregations)
    table = pd.concat([per_segment, overall.reset_index(names="segment")], ignore_index=True)
    table["conversion_rate"] = (table["visitors_who_bought"] / table["visitors"]).where(table["visitors"] > 0)
    table["churn_rate"] = (table["churned_customers"] / table["customers_with_purchase"]).where(
        table["customers_with_purchase"] > 0
    )
    table["revenue_per_customer_eur"] = (table["revenue_eur"] / table["customers"]).where(
        table["customers"] > 0
    )
    return table


def run(conn: duckdb.DuckDBPyConnection, as_of: date, settings: Settings) -> Answer:
    began = time.perf_counter()
    data = load(conn, as_of)
    loaded = time.perf_counter()
    members = rfm_and_lifecycle(data, as_of, settings)
    table = kpis(members, data["activity"])
    done = time.perf_counter()
    return Answer(
        segments=conform(pl.from_pandas(members), SEGMENT_SCHEMA, "customer_key"),
        kpis=conform(pl.from_pandas(table), KPI_SCHEMA, "segment"),
        seconds={"load": loaded - began, "compute": done - loaded, "total": done - began},
    )
