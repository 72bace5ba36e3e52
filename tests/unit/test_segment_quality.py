"""The segment gate's stay checks: hand-made stays, each break found once, good stays pass."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from assets.segments.quality import broken_stays, stay_summary

D0 = date(2025, 9, 1)


def stays(rows: list[tuple[str, str, int, int | None]]) -> pl.DataFrame:
    """(customer, family, valid_from offset, valid_to offset or None = open)."""
    return pl.DataFrame(
        [
            (c, f, D0 + timedelta(days=a), None if b is None else D0 + timedelta(days=b))
            for c, f, a, b in rows
        ],
        schema={"customer_key": pl.String, "family": pl.String, "valid_from": pl.Date, "valid_to": pl.Date},
        orient="row",
    )


def test_well_formed_stays_pass() -> None:
    good = stays([("a", "f", 0, 3), ("a", "f", 3, None), ("a", "g", 0, None), ("b", "f", 2, None)])
    assert broken_stays(good).height == 0
    assert stay_summary(good).rows() == [(4, 0)]


def test_overlap_empty_and_closed_last_stays_are_each_found() -> None:
    broken = stays(
        [
            ("a", "f", 0, 5),  # closed, and a's next stay starts inside it
            ("a", "f", 3, None),  # overlaps the previous stay
            ("b", "f", 4, 4),  # empty
            ("b", "f", 4, None),
            ("c", "f", 0, 2),  # c's last stay is closed: c would have no segment after day 2
            ("d", "g", 1, None),  # fine; the row order of the input does not matter
        ]
    ).reverse()
    found = broken_stays(broken).select("customer_key", "valid_from").rows()
    assert sorted(found) == [("a", D0 + timedelta(days=3)), ("b", D0 + timedelta(days=4)), ("c", D0)]
