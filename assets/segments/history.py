"""Segment history stored as changes: one row per customer, family and stay.

A stay is a maximal run of consecutive days in one segment: [valid_from, valid_to), valid_to null
while it is still open. Membership on day D is `valid_from <= D < coalesce(valid_to, +inf)`.

Rebuilding a range of days replaces exactly what those days say and stitches the result to the
stays on either side, always merging adjacent stays of the same segment. The stored form is
therefore canonical: the same daily memberships give the same rows whether they were processed
in one backfill, day by day, or in ranges in any order (a property test holds us to it).

Only stays that can touch the range are read and rewritten (`valid_to is null or valid_to >=
first`): for the daily run that is the open stays, O(customers), not O(history).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

KEYS = ("customer_key", "family")
SCORE_COLUMNS = ("score", "recency_score", "frequency_score", "monetary_score")
STAY_COLUMNS = (
    "customer_key", "family", "segment", *SCORE_COLUMNS, "valid_from", "valid_to", "previous_segment",
)  # fmt: skip


def stays_from_daily(daily: pl.LazyFrame) -> pl.LazyFrame:
    """Run-length encode daily memberships (customer_key, family, as_of_date, segment, scores).

    Scores are those of the stay's first day: the values that put the customer into the segment.
    """
    ordered = daily.sort(*KEYS, "as_of_date")
    previous_day = pl.col("as_of_date").shift(1).over(KEYS)
    new_stay = (
        previous_day.is_null()
        | (pl.col("segment") != pl.col("segment").shift(1).over(KEYS))
        | (pl.col("as_of_date") != previous_day + timedelta(days=1))
    )
    return (
        ordered.with_columns(new_stay.cast(pl.UInt32).cum_sum().over(KEYS).alias("_stay"))
        .group_by(*KEYS, "_stay")
        .agg(
            pl.col("segment").first(),
            *[pl.col(c).first() for c in SCORE_COLUMNS],
            pl.col("as_of_date").min().alias("valid_from"),
            (pl.col("as_of_date").max() + timedelta(days=1)).alias("valid_to"),
        )
        .drop("_stay")
        .with_columns(pl.lit(None, pl.String).alias("previous_segment"))
    )


def rebuild_stays(
    affected: pl.LazyFrame, daily: pl.LazyFrame, first: date, last: date, processed_through: date | None
) -> pl.LazyFrame:
    """Replace days [first, last] of `affected` stays by `daily` memberships.

    `affected` must hold every stored stay with `valid_to is null or valid_to >= first`; the result
    replaces exactly those rows. `daily` must hold every customer's membership for every day of the
    range on which the customer was known. `processed_through` is the latest day processed before
    this call: an open stay is known to last until then, and no further.
    """
    end = last + timedelta(days=1)
    open_until = processed_through + timedelta(days=1) if processed_through else first
    stored = affected.select(STAY_COLUMNS).with_columns(pl.col("valid_to").fill_null(open_until))
    before = stored.filter(pl.col("valid_from") < first).with_columns(
        pl.min_horizontal("valid_to", pl.lit(first)).alias("valid_to")
    )
    after = stored.filter(pl.col("valid_to") > end).with_columns(
        pl.max_horizontal("valid_from", pl.lit(end)).alias("valid_from")
    )
    fresh = stays_from_daily(daily).select(STAY_COLUMNS)
    pieces = pl.concat([before, fresh, after]).sort(*KEYS, "valid_from")
    continues = (pl.col("segment") == pl.col("segment").shift(1).over(KEYS)) & (
        pl.col("valid_from") == pl.col("valid_to").shift(1).over(KEYS)
    )
    merged = (
        pieces.with_columns((~continues.fill_null(False)).cast(pl.UInt32).cum_sum().over(KEYS).alias("_stay"))
        .group_by(*KEYS, "_stay")
        .agg(
            pl.col("segment").first(),
            *[pl.col(c).first() for c in SCORE_COLUMNS],
            pl.col("valid_from").min(),
            pl.col("valid_to").max(),
            pl.col("previous_segment").first(),
        )
        .drop("_stay")
        .sort(*KEYS, "valid_from")
    )
    is_first = pl.col("valid_from") == pl.col("valid_from").min().over(KEYS)
    is_last = pl.col("valid_from") == pl.col("valid_from").max().over(KEYS)
    return merged.with_columns(
        # The first stay of the set keeps the predecessor stored with it (that stay is not reread).
        pl.when(is_first)
        .then(pl.col("previous_segment"))
        .otherwise(pl.col("segment").shift(1).over(KEYS))
        .alias("previous_segment"),
        # The latest stay of every customer runs on until the data says otherwise.
        pl.when(is_last).then(None).otherwise(pl.col("valid_to")).alias("valid_to"),
    ).select(STAY_COLUMNS)


def membership_on(history: pl.LazyFrame, day: date) -> pl.LazyFrame:
    """Who was in which segment on `day` (the polars twin of the `segments_as_of` SQL macro)."""
    return history.filter(
        (pl.col("valid_from") <= day) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > day))
    )
