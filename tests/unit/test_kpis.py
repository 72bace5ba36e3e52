"""KPI rollups by hand, including zero denominators and empty segments."""

from __future__ import annotations

from datetime import date

import polars as pl

from assets.kpis.rollups import ACTIVITY_COUNTS, ALL_SEGMENTS, safe_ratio, segment_kpis

D = date(2025, 11, 1)


def activity_rows(rows: list[dict[str, object]]) -> pl.LazyFrame:
    """customer_daily_activity rows; counts not given are 0 (csat_sum null: no survey that day)."""
    defaults: dict[str, object] = dict.fromkeys(ACTIVITY_COUNTS, 0) | {
        "csat_sum": None,
        "net_revenue_eur": 0.0,
    }
    schema = {"customer_key": pl.String, "activity_date": pl.Date, "net_revenue_eur": pl.Float64}
    schema |= dict.fromkeys(ACTIVITY_COUNTS, pl.Int64)
    return pl.LazyFrame([defaults | row for row in rows], schema=schema)


def test_segment_kpis_by_hand() -> None:
    segments = pl.LazyFrame(
        {
            "as_of_date": [D] * 4,
            "customer_key": ["a", "b", "c", "d"],
            "segment": ["Champions", "Champions", "Lost", "No Recent Purchase"],
            "lifecycle": ["returning", "new", "churned", "prospect"],
            "loyalty": ["regular", "one_time", "switcher_prone", "none"],
        }
    )
    activity = activity_rows(
        [
            {"customer_key": "a", "activity_date": D, "sessions": 2, "session_seconds": 300,
             "orders_completed": 1, "net_revenue_eur": 30.0, "emails_sent": 1, "email_opens": 1,
             "survey_responses": 1, "csat_sum": 5, "csat_satisfied_responses": 1},
            {"customer_key": "b", "activity_date": D, "sessions": 1, "session_seconds": 60, "emails_sent": 1,
             "survey_responses": 2, "csat_sum": 5, "csat_satisfied_responses": 0},  # scores 3 and 2
            # c opens and clicks an email sent on an earlier day
            {"customer_key": "c", "activity_date": D, "orders_completed": 1, "net_revenue_eur": 12.5,
             "email_opens": 1, "email_clicks": 1},
        ]
    )  # fmt: skip
    out = segment_kpis(segments, activity).collect()
    rows = {r["segment"]: r for r in out.to_dicts()}
    champions = rows["Champions"]
    assert (champions["customers"], champions["visitors"], champions["buyers"]) == (2, 2, 1)
    assert champions["conversion_rate"] == 0.5 and champions["revenue_eur"] == 30.0
    assert champions["churn_rate"] == 0.0 and champions["revenue_per_customer_eur"] == 15.0
    assert (champions["sessions"], champions["session_seconds"], champions["avg_session_seconds"]) == (
        3,
        360,
        120,
    )
    assert (champions["survey_responses"], champions["csat_sum"]) == (3, 10)
    assert champions["mean_csat"] == 10 / 3 and champions["csat_satisfied_share"] == 1 / 3
    assert (champions["repeat_buyers"], champions["repeat_purchase_rate"]) == (1, 0.5)  # a of a, b
    lost = rows["Lost"]
    assert lost["visitors"] == 0 and lost["conversion_rate"] is None  # zero denominator → null
    assert lost["churn_rate"] == 1.0 and lost["orders"] == 1
    assert lost["sessions"] == 0 and lost["avg_session_seconds"] is None  # no sessions → null, not NaN
    assert (
        lost["survey_responses"] == 0 and lost["mean_csat"] is None and lost["csat_satisfied_share"] is None
    )
    assert lost["repeat_purchase_rate"] == 1.0
    nobody = rows["No Recent Purchase"]
    assert nobody["churn_rate"] is None and nobody["revenue_eur"] == 0.0 and nobody["customers"] == 1
    assert nobody["repeat_buyers"] == 0 and nobody["repeat_purchase_rate"] is None  # never bought
    assert nobody["csat_sum"] == 0 and nobody["emails_sent"] == 0  # no activity row: counts are 0
    total = rows[ALL_SEGMENTS]
    assert total["customers"] == 4 and total["revenue_eur"] == 42.5 and total["orders"] == 2
    assert total["conversion_rate"] == 0.5  # a bought of visitors a, b
    assert total["churn_rate"] == 1 / 3
    assert (total["emails_sent"], total["email_opens"], total["email_clicks"]) == (2, 2, 1)
    assert total["avg_session_seconds"] == 120 and total["mean_csat"] == 10 / 3
    assert total["repeat_purchase_rate"] == 2 / 3  # a and c of the three who ever bought


def test_empty_input_gives_empty_output_not_an_error() -> None:
    segments = pl.LazyFrame(
        schema={
            "as_of_date": pl.Date,
            "customer_key": pl.String,
            "segment": pl.String,
            "lifecycle": pl.String,
            "loyalty": pl.String,
        }
    )
    assert segment_kpis(segments, activity_rows([])).collect().height == 0


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
    last_day = pl.col("as_of_date") == days[-1]
    in_a = pl.col("segment") != "B"  # "A" and the all-customer row carry the same activity
    daily = pl.LazyFrame(
        rows,
        schema=["as_of_date", "segment", "customers", "visitors", "visitors_who_bought", "orders",
                "revenue_eur", "churned_customers", "customers_with_purchase"],
        orient="row",
    ).with_columns(
        # "A" per day: 2 sessions of 120 s in all, 4 sends, 1 open, 1 survey scoring 4 (1 on the last day)
        *[pl.when(in_a).then(v).otherwise(0).alias(c) for c, v in (
            ("sessions", 2), ("session_seconds", 240), ("emails_sent", 4), ("email_opens", 1),
            ("email_clicks", 0), ("survey_responses", 1), ("repeat_buyers", 2))],
        pl.when(in_a).then(pl.when(last_day).then(1).otherwise(4)).otherwise(0).alias("csat_sum"),
        pl.when(in_a & ~last_day).then(1).otherwise(0).alias("csat_satisfied_responses"),
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
    assert value("A", 7, "avg_session_seconds") == (120.0, 1680.0, 14.0)
    assert value("B", 7, "avg_session_seconds") == (None, 0.0, 0.0)
    assert value("A", 7, "stickiness") == (0.2, 14.0, 70.0)  # 2 visitors of 10 members, every day
    assert value("A", 28, "stickiness") == (0.2, 20.0, 100.0)  # 10 processed days
    assert value("B", 7, "stickiness") == (0.0, 0.0, 12.0)  # 3 member-days of 4, none active
    assert value("A", 7, "email_opens_per_send") == (0.25, 7.0, 28.0)
    assert value("A", 7, "email_clicks_per_send") == (0.0, 0.0, 28.0)
    assert value("A", 7, "mean_csat") == (25 / 7, 25.0, 7.0)  # 6 × 4 + 1
    assert value("A", 7, "csat_satisfied_share") == (6 / 7, 6.0, 7.0)
    assert value("B", 28, "mean_csat") == (None, 0.0, 0.0)
    assert value("A", 1, "repeat_purchase_rate") == (0.5, 2.0, 4.0)
    assert value("B", 1, "repeat_purchase_rate") == (None, 0.0, 0.0)
    stocks = out.filter(pl.col("metric").is_in(["churn_rate", "repeat_purchase_rate"]))
    assert stocks["window_days"].unique().to_list() == [1]


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
