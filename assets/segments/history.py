"""Segment history stored as changes: one row per customer, family and stay.

A stay is a maximal run of consecutive days in one segment: [valid_from, valid_to), valid_to null
while it is still open. Membership on day D is `valid_from <= D < coalesce(valid_to, +inf)`.

Rebuilding a range of days replaces exactly what those days say and stitches the result to the
stays on either side, always merging adjacent stays of the same segment. The stored form is
therefore canonical: the same daily memberships give the same rows whether they were processed
in one backfill, day by day, or in ranges in any order (a property test holds us to it).

Only stays that can touch the range are read (`valid_to is null or valid_to >= first`): for the
daily run that is the open stays, O(customers), not O(history). Of those, only the stays of
customers and families whose segment changed are rewritten (`StayRewrite`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

KEYS = ("customer_key", "family")
SCORE_COLUMNS = ("score", "recency_score", "frequency_score", "monetary_score")
STAY_COLUMNS = (
    "customer_key", "family", "segment", *SCORE_COLUMNS, "valid_from", "valid_to", "previous_segment",
)  # fmt: skip


LABEL_COLUMNS = ("family", "segment", "previous_segment")


def as_labels(stays: pl.DataFrame) -> pl.DataFrame:
    """Stays with family and segment names as categoricals, for sets carried from chunk to chunk.

    A polars string column shares its buffers with the frame it was cut from: as strings, the few
    stays a day rewrites would keep that day's whole membership strings alive, and a long backfill
    would grow by the size of a day's segment names every day. Categoricals hold no such buffers
    (and take 4 bytes a row instead of 16).
    """
    return stays.with_columns(pl.col(LABEL_COLUMNS).cast(pl.Categorical))


def same_keys_as_previous_row() -> pl.Expr:
    """Does this row continue the previous row's customer and family (on a frame grouped by KEYS)?

    Comparing sorted neighbours replaces `over(KEYS)` windows, which group ten million rows by a
    string key several times per chunk.
    """
    return pl.all_horizontal(pl.col(key) == pl.col(key).shift(1) for key in KEYS).fill_null(False)


def _runs(
    ordered: pl.LazyFrame, starts_run: pl.Expr, first: list[str | pl.Expr], last: list[str]
) -> pl.LazyFrame:
    """Collapse runs of consecutive rows into one row each.

    `starts_run` marks each run's first row; `first` is evaluated on that row, `last` on the run's
    last row. Only the rows that start or end a run are kept, so the end of a longer run is the row
    right after its start: one pass over the frame, no group-by.
    """
    ends_run = pl.col("_starts").shift(-1).fill_null(True)
    edges = ordered.with_columns(starts_run.alias("_starts")).filter(pl.col("_starts") | ends_run)
    at_end = [pl.when(ends_run).then(pl.col(name)).otherwise(pl.col(name).shift(-1)) for name in last]
    return edges.select(*first, *at_end, "_starts").filter(pl.col("_starts")).drop("_starts")


def stays_from_daily(daily: pl.LazyFrame) -> pl.LazyFrame:
    """Run-length encode daily memberships (customer_key, family, as_of_date, segment, scores) in the
    order given, without sorting them.

    Each run of rows of one customer, family and segment on consecutive days becomes one piece with
    the scores of its first day. Any order gives correct pieces; memberships grouped by customer
    and family with days ascending (as `engine.memberships` emits them) give whole stays, otherwise
    `rebuild_stays` merges the adjacent pieces of one stay after its sort.
    """
    continues = (
        same_keys_as_previous_row()
        & (pl.col("segment") == pl.col("segment").shift(1))
        & (pl.col("as_of_date") == pl.col("as_of_date").shift(1) + timedelta(days=1))
    )
    return _runs(
        daily,
        ~continues.fill_null(False),
        first=[*KEYS, "segment", *SCORE_COLUMNS, pl.col("as_of_date").alias("valid_from")],
        last=["as_of_date"],
    ).select(
        *KEYS, "segment", *SCORE_COLUMNS, "valid_from",
        (pl.col("as_of_date") + timedelta(days=1)).alias("valid_to"),
        pl.lit(None, pl.String).alias("previous_segment"),
    )  # fmt: skip


@dataclass(frozen=True)
class StayRewrite:
    """What rebuilding a range changes in the stored history.

    Every stored stay of a pair in `pairs` with `valid_to is null or valid_to >= first` is replaced
    by that pair's rows in `stays`. A pair whose open stay simply goes on through the range in the
    same segment is in neither: its stored row is already right (`kept`), so a quiet day rewrites
    almost nothing instead of every customer's open stay.
    """

    pairs: pl.DataFrame
    stays: pl.DataFrame
    kept: pl.DataFrame

    def touching_after(self, next_first: date) -> pl.DataFrame:
        """The stored stays a later range starting on `next_first` touches once this rewrite is
        applied, without rereading them. Kept stays are open, so only the rewritten ones can have
        closed before `next_first`."""
        return pl.concat([self.kept, self.stays.filter(touching(next_first))])


def touching(first: date) -> pl.Expr:
    """The stays a range starting on `first` can change (`store.TOUCHING_SQL` in SQL)."""
    return pl.col("valid_to").is_null() | (pl.col("valid_to") >= first)


def set_back(stays: pl.DataFrame, before: date | None) -> pl.DataFrame:
    """The stays as they stood when `before` was the latest day processed (None: before any day).

    Stays that began after it are dropped and stays that closed after it are open again: exactly
    the history that processing only the days up to `before` gives (`store.Restart` in SQL).
    """
    if before is None:
        return stays.clear()
    return stays.filter(pl.col("valid_from") <= before).with_columns(
        pl.when(pl.col("valid_to") > before).then(None).otherwise(pl.col("valid_to")).alias("valid_to")
    )


def rebuild_stays(
    affected: pl.DataFrame, daily: pl.DataFrame, first: date, last: date, processed_through: date | None
) -> StayRewrite:
    """Replace days [first, last] of `affected` stays by `daily` memberships.

    `affected` must hold every stored stay with `valid_to is null or valid_to >= first`. `daily` must
    hold every customer's membership for every day of the range on which the customer was known.
    `processed_through` is the latest day processed before this call: an open stay is known to last
    until then, and no further.
    """
    return rebuild_from_pieces(affected, daily_pieces(daily), first, last, processed_through)


def daily_pieces(daily: pl.DataFrame) -> pl.DataFrame:
    """The range's stays before stitching (`stays_from_daily`), in the stored columns."""
    return stays_from_daily(daily.lazy()).select(STAY_COLUMNS).collect()


def rebuild_from_pieces(
    affected: pl.DataFrame, fresh: pl.DataFrame, first: date, last: date, processed_through: date | None
) -> StayRewrite:
    """`rebuild_stays` from the range's `daily_pieces`: a caller that has them can let go of the
    memberships, a day of which is nine rows per customer, before the rewrite."""
    end = last + timedelta(days=1)
    open_until = processed_through + timedelta(days=1) if processed_through else first
    fresh_unchanged, stored_unchanged = _continuing(affected, fresh, first, end, open_until)
    changed = affected.filter(~stored_unchanged)
    stays = _stitch(changed.lazy(), fresh.filter(~fresh_unchanged).lazy(), first, end, open_until)
    pairs, stays = pl.collect_all([changed.lazy().select(KEYS).unique(), stays])
    return StayRewrite(pairs=pairs, stays=stays, kept=affected.filter(stored_unchanged))


def _continuing(
    affected: pl.DataFrame, fresh: pl.DataFrame, first: date, end: date, open_until: date
) -> tuple[pl.Series, pl.Series]:
    """Masks over `fresh` and `affected` of the pairs whose open stay began before `first`, is known
    up to `first`, and whose range is one piece in that same segment: stitching them would give back
    the stored row unchanged.

    Such a pair has no other touched stay (stays do not overlap, so its earlier ones end before
    `first`), and one join on the pair and segment finds both of its rows.
    """
    fresh_mask = np.zeros(fresh.height, dtype=bool)
    stored_mask = np.zeros(affected.height, dtype=bool)
    if open_until < first:  # days between were never processed: every open stay must close
        return pl.Series(fresh_mask), pl.Series(stored_mask)
    whole = (
        fresh.lazy()
        .with_row_index("_fresh_row")
        .filter((pl.col("valid_from") == first) & (pl.col("valid_to") == end))
    )
    stays_on = (
        affected.lazy()
        .with_row_index("_stored_row")
        .filter(pl.col("valid_to").is_null() & (pl.col("valid_from") < first))
    )
    on = _identity(fresh, affected)
    same = (
        whole.select("_fresh_row", *on)
        .join(stays_on.select("_stored_row", *on), on=[key.meta.output_name() for key in on], how="inner")
        .select("_fresh_row", "_stored_row")
        .collect()
    )
    fresh_mask[same["_fresh_row"].to_numpy()] = True
    stored_mask[same["_stored_row"].to_numpy()] = True
    return pl.Series(fresh_mask), pl.Series(stored_mask)


IDENTITY = (*KEYS, "segment")
# The categorical columns of IDENTITY, packed by their codes.
PACKED_LABELS = ("family", "segment")
CUSTOMER_NUMBER_TYPES = (pl.UInt8, pl.UInt16, pl.UInt32)
CODE_LIMIT = 1 << 16


def _identity(*frames: pl.DataFrame) -> list[pl.Expr]:
    """Join keys for (customer, family, segment), exact in every case.

    As the segment stage holds them (customers as numbers, `customer_ids`; labels as categoricals,
    `as_labels`), the three pack into one UInt64: the number, then the family's and the segment's
    category codes in 16 bits each. At a million customers that joins three times faster than the
    three columns and four times faster than hashing them. Other frames join on the columns.
    """
    if all(_packable(frame) for frame in frames):
        code = [pl.col(name).to_physical().cast(pl.UInt64) for name in PACKED_LABELS]
        packed = (
            pl.col("customer_key").cast(pl.UInt64) * (CODE_LIMIT * CODE_LIMIT)
            + code[0] * CODE_LIMIT
            + code[1]
        )
        return [packed.alias("_identity")]
    return [pl.col(name) for name in IDENTITY]


def _packable(frame: pl.DataFrame) -> bool:
    schema = frame.schema
    if schema["customer_key"] not in CUSTOMER_NUMBER_TYPES:
        return False
    if any(schema[name] != pl.Categorical for name in PACKED_LABELS):
        return False
    # Codes are process-wide (polars' global categories): small in practice, but not guaranteed.
    highest = frame.select(pl.max_horizontal(pl.col(PACKED_LABELS).to_physical().max())).item()
    return highest is None or highest < CODE_LIMIT


def _stitch(
    stored: pl.LazyFrame, fresh: pl.LazyFrame, first: date, end: date, open_until: date
) -> pl.LazyFrame:
    """The stays of the pairs in `stored` and `fresh` once the range's pieces are put between the
    parts of the stored stays before and after it, adjacent pieces of one segment merged."""
    stored = stored.select(STAY_COLUMNS).with_columns(pl.col("valid_to").fill_null(open_until))
    before = stored.filter(pl.col("valid_from") < first).with_columns(
        pl.min_horizontal("valid_to", pl.lit(first)).alias("valid_to")
    )
    after = stored.filter(pl.col("valid_to") > end).with_columns(
        pl.max_horizontal("valid_from", pl.lit(end)).alias("valid_from")
    )
    pieces = pl.concat([before, fresh, after]).sort(*KEYS, "valid_from")
    # Every stored stay touching the range or later was read, so the stay before a pair's earliest
    # one ended before the range: it precedes the pair's first stay of the set too, even when a
    # fresh piece comes first (a gap of unprocessed days filled after the days beyond it).
    predecessors = (
        stored.sort(*KEYS, "valid_from")
        .unique(KEYS, keep="first", maintain_order=False)
        .select(*KEYS, pl.col("previous_segment").alias("_predecessor"))
    )
    same_keys = same_keys_as_previous_row()
    continues = (
        same_keys
        & (pl.col("segment") == pl.col("segment").shift(1))
        & (pl.col("valid_from") == pl.col("valid_to").shift(1))
    )
    merged = _runs(
        pieces.with_columns(same_keys.alias("_same_keys")),
        ~continues.fill_null(False),
        first=[*KEYS, "segment", *SCORE_COLUMNS, "valid_from", "previous_segment", "_same_keys"],
        last=["valid_to"],
    )
    # Sorted by KEYS and valid_from: a customer's first stay of the set is the one whose previous
    # row has other keys, its latest the one whose next row has other keys.
    is_first = ~pl.col("_same_keys")
    is_last = ~pl.col("_same_keys").shift(-1).fill_null(False)
    return (
        merged.join(predecessors, on=KEYS, how="left", maintain_order="left")
        .with_columns(
            pl.when(is_first)
            .then(pl.col("_predecessor"))
            .otherwise(pl.col("segment").shift(1))
            .alias("previous_segment"),
            # The latest stay of every customer runs on until the data says otherwise.
            pl.when(is_last).then(None).otherwise(pl.col("valid_to")).alias("valid_to"),
        )
        .select(STAY_COLUMNS)
    )


def membership_on(history: pl.LazyFrame, day: date) -> pl.LazyFrame:
    """Who was in which segment on `day` (the polars twin of the `segments_as_of` SQL macro)."""
    return history.filter(
        (pl.col("valid_from") <= day) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > day))
    )
