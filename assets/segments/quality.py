"""The segment stage's gate: GX expectations on summaries of what a chunk would write.

Run inside the asset *before* the history is rewritten, so a failing chunk leaves the stored
history as it was (the same blocking check also stops everything downstream).
"""

from __future__ import annotations

import great_expectations as gx
import polars as pl

from assets.segments.history import KEYS, same_keys_as_previous_row


def daily_summary(daily: pl.DataFrame, known: pl.DataFrame, allowed: pl.DataFrame) -> pl.DataFrame:
    """Per day and family: rows, distinct customers, customers known that day, unknown segments."""
    # Segments are few: count rows per segment first, so the check joins a hundred rows, not millions.
    unknown = (
        daily.group_by("as_of_date", "family", "segment")
        .len()
        .join(allowed, on=["family", "segment"], how="anti")
        .group_by("as_of_date", "family")
        .agg(pl.col("len").sum().cast(pl.UInt32).alias("unknown_segment_rows"))
    )
    return (
        daily.group_by("as_of_date", "family")
        .agg(pl.len().alias("rows"), pl.col("customer_key").n_unique().alias("distinct_customers"))
        .join(known, on="as_of_date", how="left")
        .join(unknown, on=["as_of_date", "family"], how="left")
        .with_columns(
            pl.col("known_customers").fill_null(0).cast(pl.UInt32),
            pl.col("rows", "distinct_customers").cast(pl.UInt32),
            pl.col("unknown_segment_rows").fill_null(0),
        )
        .sort("as_of_date", "family")
    )


def broken_stays(stays: pl.DataFrame) -> pl.DataFrame:
    """Stays that are empty, overlap the previous stay, or leave a customer with no open stay."""
    ordered = stays.sort(*KEYS, "valid_from")
    same_keys = same_keys_as_previous_row()
    overlaps = same_keys & (pl.col("valid_from") < pl.col("valid_to").shift(1)).fill_null(False)
    empty = pl.col("valid_to").is_not_null() & (pl.col("valid_to") <= pl.col("valid_from"))
    last_closed = ~same_keys.shift(-1).fill_null(False) & pl.col("valid_to").is_not_null()
    return ordered.filter(overlaps | empty | last_closed)


def stay_summary(stays: pl.DataFrame) -> pl.DataFrame:
    """One row for GX: how many stays were rebuilt and how many are broken (must be 0)."""
    return pl.DataFrame({"stays": [stays.height], "broken_stays": [broken_stays(stays).height]})


def expectations(families: int, days: int) -> tuple[list, list]:
    summary = [
        gx.expectations.ExpectTableRowCountToEqual(value=families * days),
        gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="rows", column_B="known_customers"),
        gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="rows", column_B="distinct_customers"),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="unknown_segment_rows", min_value=0, max_value=0
        ),
    ]
    stays = [gx.expectations.ExpectColumnValuesToBeBetween(column="broken_stays", min_value=0, max_value=0)]
    return summary, stays
