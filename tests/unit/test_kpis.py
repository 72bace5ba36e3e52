"""KPI rollups by hand, including zero denominators and empty segments."""

from __future__ import annotations

from datetime import date

import polars as pl

from assets.kpis.rollups import ALL_SEGMENTS, safe_ratio, segment_kpis

D = date(2025, 11, 1)


def test_segment_kpis_by_hand() -> None:
    segments = pl.LazyFrame(
        {
            "as_of_date": [D] * 4,
            "customer_key": ["a", "b", "c", "d"],
            "segment": ["Champions", "Champions", "Lost", "No Recent Purchase"],
            "lifecycle": ["returning", "new", "churned", "prospect"],
        }
    )
    activity = pl.LazyFrame(
        {
            "customer_key": ["a", "b", "c"],
            "activity_date": [D, D, D],
            "sessions": [2, 1, 0],
            "orders_completed": [1, 0, 1],
            "net_revenue_eur": [30.0, 0.0, 12.5],
        }
    )
    out = segment_kpis(segments, activity).collect()
    rows = {r["segment"]: r for r in out.to_dicts()}
    champions = rows["Champions"]
    assert (champions["customers"], champions["visitors"], champions["buyers"]) == (2, 2, 1)
    assert champions["conversion_rate"] == 0.5 and champions["revenue_eur"] == 30.0
    assert champions["churn_rate"] == 0.0 and champions["revenue_per_customer_eur"] == 15.0
    lost = rows["Lost"]
    assert lost["visitors"] == 0 and lost["conversion_rate"] is None  # zero denominator → null
    assert lost["churn_rate"] == 1.0 and lost["orders"] == 1
    nobody = rows["No Recent Purchase"]
    assert nobody["churn_rate"] is None and nobody["revenue_eur"] == 0.0 and nobody["customers"] == 1
    total = rows[ALL_SEGMENTS]
    assert total["customers"] == 4 and total["revenue_eur"] == 42.5 and total["orders"] == 2
    assert total["conversion_rate"] == 0.5  # a bought of visitors a, b
    assert total["churn_rate"] == 1 / 3


def test_empty_input_gives_empty_output_not_an_error() -> None:
    segments = pl.LazyFrame(
        schema={
            "as_of_date": pl.Date,
            "customer_key": pl.String,
            "segment": pl.String,
            "lifecycle": pl.String,
        }
    )
    activity = pl.LazyFrame(
        schema={
            "customer_key": pl.String,
            "activity_date": pl.Date,
            "sessions": pl.Int64,
            "orders_completed": pl.Int64,
            "net_revenue_eur": pl.Float64,
        }
    )
    assert segment_kpis(segments, activity).collect().height == 0


def test_safe_ratio_never_divides_by_zero() -> None:
    frame = pl.DataFrame({"n": [1, 0, 3], "d": [0, 0, 4]})
    assert frame.select(safe_ratio(pl.col("n"), pl.col("d")))["n"].to_list() == [None, None, 0.75]


def test_kpi_long_rolling_windows_by_hand() -> None:
    from datetime import timedelta

    from assets.kpis.long_format import kpi_long

    days = [D + timedelta(days=i) for i in range(10)]
    rows = []
    for i, day in enumerate(days):
        # "A" exists every day; "B" only on the last 3 days; the all-customer row every day.
        rows.append((day, "A", 10, 2, 1, 1, 5.0, 1, 4))
        if i >= 7:
            rows.append((day, "B", 4, 0, 0, 0, 0.0, 0, 0))
        rows.append((day, ALL_SEGMENTS, 14 if i >= 7 else 10, 2, 1, 1, 5.0, 1, 4))
    daily = pl.LazyFrame(
        rows,
        schema=["as_of_date", "segment", "customers", "visitors", "visitors_who_bought", "orders",
                "revenue_eur", "churned_customers", "customers_with_purchase"],
        orient="row",
    )  # fmt: skip
    out = kpi_long(daily, days[-1], days[-1]).collect()

    def value(segment: str, window: int, metric: str) -> tuple[float | None, float, float]:
        row = out.filter(
            (pl.col("segment") == segment) & (pl.col("window_days") == window) & (pl.col("metric") == metric)
        ).row(0, named=True)
        return row["value"], row["numerator"], row["denominator"]

    assert value("A", 7, "conversion_rate") == (0.5, 7.0, 14.0)  # 7 days × (1 of 2)
    assert value("A", 7, "average_order_value_eur") == (5.0, 35.0, 7.0)
    assert value("A", 28, "revenue_per_customer_eur") == (5.0, 50.0, 10.0)  # only 10 days processed
    assert value("B", 7, "conversion_rate") == (None, 0.0, 0.0)  # zero denominator → null
    assert value("B", 7, "revenue_per_customer_eur") == (0.0, 0.0, 12 / 7)  # 3 days × 4 over 7 days
    assert value("A", 1, "churn_rate") == (0.25, 1.0, 4.0)
    assert out.filter(pl.col("metric") == "churn_rate")["window_days"].unique().to_list() == [1]


def test_cohort_retention_triangle_by_hand() -> None:
    from assets.kpis.retention import cohort_retention, repeat_purchase_rate

    def order(customer: str, day: date, loaded: date | None = None) -> tuple[str, date, date]:
        return customer, day, loaded or day

    orders = pl.LazyFrame(
        [
            order("a", date(2025, 9, 3)), order("a", date(2025, 10, 9)), order("a", date(2025, 11, 2)),
            order("b", date(2025, 9, 20)), order("b", date(2025, 11, 30)),
            order("c", date(2025, 10, 1)),
            order("d", date(2025, 11, 1), loaded=date(2025, 11, 3)),  # known only after as_of
        ],
        schema=["customer_key", "order_date", "loaded_date"],
        orient="row",
    )  # fmt: skip
    out = cohort_retention(orders, date(2025, 11, 2)).collect()
    cells = {(r["cohort_month"].month, r["months_since_first_order"]): r for r in out.to_dicts()}
    assert sorted(cells) == [(9, 0), (9, 1), (9, 2), (10, 0), (10, 1)]
    assert (cells[(9, 0)]["cohort_customers"], cells[(9, 0)]["retention_rate"]) == (2, 1.0)
    assert cells[(9, 1)]["active_customers"] == 1 and cells[(9, 1)]["retention_rate"] == 0.5
    assert cells[(9, 2)]["active_customers"] == 1  # a on Nov 2; b's Nov 30 order is in the future
    assert cells[(9, 2)]["is_complete_month"] is False and cells[(9, 1)]["is_complete_month"] is True
    assert cells[(10, 1)]["active_customers"] == 0 and cells[(10, 1)]["retention_rate"] == 0.0
    rate = repeat_purchase_rate(orders, date(2025, 11, 2)).collect().row(0, named=True)
    assert (rate["buyers"], rate["repeat_buyers"], rate["repeat_purchase_rate"]) == (3, 1, 1 / 3)
    empty = orders.filter(pl.lit(False))
    assert cohort_retention(empty, date(2025, 11, 2)).collect().height == 0
    assert repeat_purchase_rate(empty, date(2025, 11, 2)).collect()["repeat_purchase_rate"].to_list() == [
        None
    ]
