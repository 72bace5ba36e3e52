"""RFM scores and segments on hand-made frames, with hand-computed expectations."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from assets.segments.rfm import quantile_score, rfm_segments
from orchestration.settings import get_settings

AS_OF = date(2025, 10, 31)


def _orders(rows: list[tuple[str, date, date, bool, float]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows,
        schema={
            "customer_key": pl.String,
            "order_date": pl.Date,
            "loaded_date": pl.Date,
            "is_completed": pl.Boolean,
            "net_amount_eur": pl.Float64,
        },
        orient="row",
    )


def _customers(keys_first_seen: dict[str, date]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {"customer_key": list(keys_first_seen), "first_loaded_date": list(keys_first_seen.values())}
    )


def test_quantile_score_ties_share_the_lowest_rank() -> None:
    frame = pl.DataFrame({"v": [1, 1, 1, 1, 2, 3, 4, 5, 6, 7]})
    scores = frame.select(quantile_score(pl.col("v"), pl.len()))["v"].to_list()
    # min-rank of the four 1s is 1 → score 1; then ranks 5..10 → floor((r-1)*5/10)+1
    assert scores == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]


def test_rfm_values_scores_and_segments_by_hand() -> None:
    rfm = get_settings().rfm
    d = AS_OF
    orders = _orders(
        [
            # a: 3 orders, last one today → best recency, best frequency
            ("a", d, d, True, 10.0),
            ("a", d - timedelta(days=5), d - timedelta(days=5), True, 20.0),
            ("a", d - timedelta(days=9), d - timedelta(days=9), True, 30.0),
            # b: one order 200 days ago
            ("b", d - timedelta(days=200), d - timedelta(days=200), True, 500.0),
            # c: one order 10 days ago, plus a cancelled one that must not count
            ("c", d - timedelta(days=10), d - timedelta(days=10), True, 5.0),
            ("c", d - timedelta(days=1), d - timedelta(days=1), False, 999.0),
            # d: its only order was delivered AFTER as_of → not known yet (point in time)
            ("d", d, d + timedelta(days=1), True, 50.0),
            # e: order older than the 365-day window
            ("e", d - timedelta(days=400), d - timedelta(days=400), True, 70.0),
        ]
    )
    customers = _customers({k: d - timedelta(days=500) for k in "abcde"} | {"f": d + timedelta(days=1)})
    out = rfm_segments(customers, orders, d, rfm).collect()
    assert out["customer_key"].to_list() == ["a", "b", "c", "d", "e"]  # f is not known yet
    by_key = {row["customer_key"]: row for row in out.to_dicts()}
    assert (
        by_key["a"]["frequency"] == 3
        and by_key["a"]["monetary_eur"] == 60.0
        and by_key["a"]["recency_days"] == 0
    )
    assert (
        by_key["c"]["frequency"] == 1
        and by_key["c"]["monetary_eur"] == 5.0
        and by_key["c"]["recency_days"] == 10
    )
    # three buyers (a, b, c): recency ranks a=1st best..., n = 3 → scores floor((rank-1)*5/3)+1
    # goodness = -recency: b(-200) rank1 → 1, c(-10) rank2 → 2, a(0) rank3 → 4
    assert (by_key["b"]["recency_score"], by_key["c"]["recency_score"], by_key["a"]["recency_score"]) == (
        1,
        2,
        4,
    )
    # frequency: b=1, c=1 tie at min-rank 1 → 1; a=3 rank 3 → 4
    assert (
        by_key["b"]["frequency_score"],
        by_key["c"]["frequency_score"],
        by_key["a"]["frequency_score"],
    ) == (1, 1, 4)
    # monetary: c=5 → 1, a=60 → 2, b=500 → 4
    assert (by_key["c"]["monetary_score"], by_key["a"]["monetary_score"], by_key["b"]["monetary_score"]) == (
        1,
        2,
        4,
    )
    assert by_key["a"]["segment"] == "Loyal"  # r=4, f=4
    assert by_key["b"]["segment"] == "Lost"  # r=1, f=1
    assert by_key["c"]["segment"] == "Hibernating"  # r=2, f=1
    for key in ("d", "e"):
        assert by_key[key]["segment"] == rfm.no_purchase_segment
        assert by_key[key]["recency_score"] is None


def test_window_boundary_is_exclusive_at_start_inclusive_at_end() -> None:
    rfm = get_settings().rfm
    d = AS_OF
    start = d - timedelta(days=rfm.window_days)
    orders = _orders([("x", start, start, True, 1.0), ("y", start + timedelta(days=1), start, True, 2.0)])
    out = rfm_segments(_customers({"x": start, "y": start}), orders, d, rfm).collect()
    assert out.filter(pl.col("customer_key") == "x")["frequency"].item() is None
    assert out.filter(pl.col("customer_key") == "y")["frequency"].item() == 1


@hyp_settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("abcdefgh"),
            st.integers(0, 400),
            st.integers(0, 3),
            st.integers(0, 100_000).map(lambda cents: cents / 100),
        ),
        max_size=40,
    )
)
def test_every_known_customer_gets_exactly_one_valid_segment(rows: list[tuple[str, int, int, float]]) -> None:
    rfm = get_settings().rfm
    d = AS_OF
    orders = _orders(
        [(k, d - timedelta(days=age), d - timedelta(days=age) + timedelta(days=late), True, amount)
         for k, age, late, amount in rows]
    )  # fmt: skip
    customers = _customers({k: d - timedelta(days=1000) for k in "abcdefgh"})
    out = rfm_segments(customers, orders, d, rfm).collect()
    names = {rule.name for rule in rfm.segments} | {rfm.no_purchase_segment}
    assert out.height == 8
    assert out["customer_key"].n_unique() == 8
    assert out["segment"].null_count() == 0
    assert set(out["segment"]) <= names
    scored = out.drop_nulls("recency_score")
    for column in ("recency_score", "frequency_score", "monetary_score"):
        assert scored[column].is_between(1, 5).all()
    # Same inputs in another row order give the same result (ties never depend on order).
    shuffled = rfm_segments(customers, orders.collect().reverse().lazy(), d, rfm).collect()
    assert shuffled.equals(out)
