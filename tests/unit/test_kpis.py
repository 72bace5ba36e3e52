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
