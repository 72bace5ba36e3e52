"""The segment stage's chunk size follows the customer base, so memory stays flat as shops grow."""

from __future__ import annotations

from datetime import date

import polars as pl

from assets.segments.assets import MAX_CHUNK_DAYS, chunk_days, known_customers_per_day


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
