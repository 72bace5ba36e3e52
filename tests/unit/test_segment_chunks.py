"""The segment stage's chunk size follows the customer base, so memory stays flat as shops grow."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from assets.segments.assets import (
    MAX_CHUNK_DAYS,
    BlockRows,
    chunk_days,
    known_customers_per_day,
    read_inputs,
)
from assets.segments.features import LifetimeBase


def _known(customers: int) -> pl.DataFrame:
    return pl.DataFrame({"as_of_date": [date(2026, 1, 1)], "known_customers": [customers]})


def test_chunk_days_divides_the_budget_by_customers_and_families() -> None:
    assert chunk_days(_known(100_000), 9, 12_000_000) == 13  # 12 M // 900 k
    assert chunk_days(_known(1_000_000), 9, 12_000_000) == 1  # 9 M a day: one day at a time
    assert chunk_days(_known(5_000_000), 9, 12_000_000) == 1  # never less than a day
    assert chunk_days(_known(1_000), 9, 12_000_000) == MAX_CHUNK_DAYS
    assert chunk_days(_known(0), 9, 12_000_000) == MAX_CHUNK_DAYS


def test_known_customers_is_a_running_count_by_first_delivery() -> None:
    customers = pl.DataFrame(
        {
            "customer_key": ["a", "b", "c"],
            "first_loaded_date": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 3)],
        }
    )
    known = known_customers_per_day(customers, [date(2025, 12, 31), date(2026, 1, 2), date(2026, 1, 3)])
    assert known["known_customers"].to_list() == [0, 2, 3]


def _block(first: date, last: date, engagement_days: int) -> BlockRows:
    """Rows as `BlockRows.read` leaves them: engagement from `engagement_days` before `first`."""
    days = pl.date_range(first - timedelta(days=engagement_days), last, eager=True)
    return BlockRows(
        first_day=first,
        last_day=last,
        orders=pl.DataFrame(schema={"customer_key": pl.String, "order_date": pl.Date}),
        activity=pl.DataFrame({"customer_key": "a", "activity_date": days}),
        cart_sessions=pl.DataFrame({"customer_key": "a", "session_date": days}),
    )


BASE = LifetimeBase(date(2025, 12, 31), pl.LazyFrame())
CUSTOMERS = pl.DataFrame(schema={"customer_key": pl.String})


def test_a_chunk_gets_its_engagement_window_cut_from_the_block_read() -> None:
    block = _block(date(2026, 1, 20), date(2026, 2, 10), engagement_days=28)
    chunk = [date(2026, 2, 1), date(2026, 2, 2)]
    inputs = read_inputs(block, CUSTOMERS, chunk, engagement_days=28, base=BASE)
    for frame, column in ((inputs.activity, "activity_date"), (inputs.cart_sessions, "session_date")):
        days = frame.collect()[column]
        assert (days.min(), days.max(), days.len()) == (date(2026, 1, 4), date(2026, 2, 2), 30)
    assert inputs.lifetime_base is BASE


def test_a_chunk_outside_the_block_read_is_refused() -> None:
    block = _block(date(2026, 1, 20), date(2026, 2, 10), engagement_days=28)
    for chunk in ([date(2026, 2, 10), date(2026, 2, 11)], [date(2026, 1, 19), date(2026, 1, 20)]):
        assert not block.covers(chunk)
        with pytest.raises(ValueError, match="miss"):
            read_inputs(block, CUSTOMERS, chunk, engagement_days=28, base=BASE)
