"""Lifetime features from running state equal those from the full order history."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.segments.features import LifetimeBase, combine_lifetimes, lifetime_as_of

START = date(2026, 1, 1)
SCHEMA = {"customer_key": pl.String, "order_date": pl.Date, "loaded_date": pl.Date}


def _orders(rows: list[tuple[str, int, int]]) -> pl.LazyFrame:
    """(customer, order day offset, delivery delay in days; negative = delivered before it is dated)."""
    return pl.LazyFrame(
        [(c, START + timedelta(days=d), START + timedelta(days=d + late)) for c, d, late in rows],
        schema=SCHEMA,
        orient="row",
    )


def _sorted(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect().sort("customer_key")


def test_combining_keeps_counts_first_and_the_two_latest_dates_with_duplicates() -> None:
    base = _orders([("a", 0, 0), ("a", 5, 0), ("b", 3, 0)])
    newer = _orders([("a", 5, 2), ("c", 9, 0)])
    combined = _sorted(
        combine_lifetimes(lifetime_as_of(base, date(2026, 12, 31)), lifetime_as_of(newer, date(2026, 12, 31)))
    )
    assert combined.rows() == [
        ("a", 3, START, START + timedelta(days=5), START + timedelta(days=5)),
        ("b", 1, START + timedelta(days=3), START + timedelta(days=3), None),
        ("c", 1, START + timedelta(days=9), START + timedelta(days=9), None),
    ]


def test_a_base_must_end_before_the_day_it_serves() -> None:
    base = LifetimeBase(START, lifetime_as_of(_orders([]), START))
    with pytest.raises(ValueError, match="not before"):
        lifetime_as_of(_orders([]), START, base)


order_rows = st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 60), st.integers(-1, 5)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(rows=order_rows, through=st.integers(0, 50), ahead=st.integers(1, 15), window=st.integers(1, 30))
def test_state_plus_recent_orders_equals_full_history(
    rows: list[tuple[str, int, int]], through: int, ahead: int, window: int
) -> None:
    orders = _orders(rows)
    through_day = START + timedelta(days=through)
    as_of = through_day + timedelta(days=ahead)
    base = LifetimeBase(through_day, lifetime_as_of(orders, through_day).collect().lazy())
    # What the daily run reads (work_db.recent_order_history): the purchase window of its first day,
    # plus everything delivered after the state's day.
    purchase_start = through_day + timedelta(days=1) - timedelta(days=window)
    recent = orders.filter((pl.col("order_date") > purchase_start) | (pl.col("loaded_date") > through_day))
    assert _sorted(lifetime_as_of(recent, as_of, base)).equals(_sorted(lifetime_as_of(orders, as_of)))
