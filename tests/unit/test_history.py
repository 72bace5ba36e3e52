"""Segment history as changes: hand-made cases and the canonical-form properties."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from assets.segments.history import (
    IDENTITY,
    KEYS,
    LABEL_COLUMNS,
    STAY_COLUMNS,
    _identity,
    as_labels,
    daily_pieces,
    membership_on,
    rebuild_from_pieces,
    rebuild_stays,
    set_back,
    touching,
)

D0 = date(2025, 9, 1)
EMPTY = pl.DataFrame(
    schema={
        "customer_key": pl.String, "family": pl.String, "segment": pl.String, "score": pl.Float64,
        "recency_score": pl.Int8, "frequency_score": pl.Int8, "monetary_score": pl.Int8,
        "valid_from": pl.Date, "valid_to": pl.Date, "previous_segment": pl.String,
    }
)  # fmt: skip


def _rows(stays: pl.DataFrame) -> list[tuple]:
    return sorted(stays.select(STAY_COLUMNS).rows(), key=repr)


def daily_frame(series: dict[str, list[str | None]]) -> pl.DataFrame:
    """customer → segment per day from D0 (None: not known yet that day)."""
    rows = [
        (customer, "f", D0 + timedelta(days=i), segment, float(i))
        for customer, segments in series.items()
        for i, segment in enumerate(segments)
        if segment is not None
    ]
    frame = pl.DataFrame(
        rows, schema=["customer_key", "family", "as_of_date", "segment", "score"], orient="row"
    ).with_columns(pl.col("score").cast(pl.Float64))
    return frame.with_columns(
        pl.lit(None, pl.Int8).alias(c) for c in ("recency_score", "frequency_score", "monetary_score")
    )


def as_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """Customers as UInt32 numbers in key order, as the segment stage holds them (`customer_ids`)."""
    return frame.with_columns(
        pl.col("customer_key").replace_strict({"a": 0, "b": 1, "c": 2}, return_dtype=pl.UInt32)
    )


class Store:
    """The stored table plus the latest processed day, as the segments asset keeps them.

    `as_stage_holds_it`: customers as numbers and labels as categoricals, the representation in
    which `history` joins on one packed integer instead of the three columns.
    """

    def __init__(self, as_stage_holds_it: bool = False) -> None:
        self.as_stage_holds_it = as_stage_holds_it
        self.history = as_labels(as_numbers(EMPTY)) if as_stage_holds_it else EMPTY
        self.processed_through: date | None = None
        self.rewritten = self.history

    def apply(self, daily: pl.DataFrame, first: date, last: date) -> Store:
        touches = touching(first)
        days = daily.filter(pl.col("as_of_date").is_between(first, last))
        affected = self.history.filter(touches)
        if self.as_stage_holds_it:
            pieces = as_labels(daily_pieces(as_numbers(days)))
            rewrite = rebuild_from_pieces(affected, pieces, first, last, self.processed_through)
        else:
            rewrite = rebuild_stays(affected, days, first, last, self.processed_through)
        self.rewritten = rewrite.stays
        # What store.replace_stays does in SQL: drop the rewritten pairs' touched stays, add theirs.
        kept = self.history.filter(touches).join(rewrite.pairs, on=KEYS, how="anti")
        self.history = pl.concat([self.history.filter(~touches), kept, rewrite.stays]).sort(
            "customer_key", "family", "valid_from"
        )
        # What the segment stage carries to its next chunk instead of rereading the store.
        after = touching(last + timedelta(days=1))
        assert _rows(rewrite.touching_after(last + timedelta(days=1))) == _rows(self.history.filter(after))
        self.processed_through = max(self.processed_through or last, last)
        return self


def test_stays_by_hand() -> None:
    daily = daily_frame({"a": ["x", "x", "y", "y", "x"], "b": [None, None, "z", "z", "z"]})
    history = Store().apply(daily, D0, D0 + timedelta(days=4)).history
    rows = history.select(
        "customer_key", "segment", "valid_from", "valid_to", "previous_segment", "score"
    ).rows()
    day = lambda n: D0 + timedelta(days=n)  # noqa: E731
    assert rows == [
        ("a", "x", day(0), day(2), None, 0.0),
        ("a", "y", day(2), day(4), "x", 2.0),
        ("a", "x", day(4), None, "y", 4.0),
        ("b", "z", day(2), None, None, 2.0),
    ]
    on_day_3 = membership_on(history.lazy(), day(3)).collect()
    assert sorted(on_day_3.select("customer_key", "segment").rows()) == [("a", "y"), ("b", "z")]


def test_next_day_extends_the_open_stay_without_new_rows() -> None:
    daily = daily_frame({"a": ["x", "x", "x"]})
    store = Store().apply(daily, D0, D0 + timedelta(days=1))
    history = store.apply(daily, D0 + timedelta(days=2), D0 + timedelta(days=2)).history
    assert history.select("segment", "valid_from", "valid_to").rows() == [("x", D0, None)]
    assert store.rewritten.is_empty()


def test_a_day_rewrites_only_the_customers_whose_segment_changed() -> None:
    daily = daily_frame({"a": ["x", "x", "y"], "b": ["x", "x", "x"], "c": [None, None, "z"]})
    store = Store().apply(daily, D0, D0 + timedelta(days=1))
    store.apply(daily, D0 + timedelta(days=2), D0 + timedelta(days=2))
    day = lambda n: D0 + timedelta(days=n)  # noqa: E731
    assert store.rewritten.select("customer_key", "segment", "valid_from", "valid_to").rows() == [
        ("a", "x", day(0), day(2)),
        ("a", "y", day(2), None),
        ("c", "z", day(2), None),
    ]


def test_a_range_that_leaves_and_returns_to_the_open_segment_rewrites_it() -> None:
    daily = daily_frame({"a": ["x", "x", "x", "y", "x"]})
    store = Store().apply(daily, D0, D0 + timedelta(days=1))
    history = store.apply(daily, D0 + timedelta(days=2), D0 + timedelta(days=4)).history
    day = lambda n: D0 + timedelta(days=n)  # noqa: E731
    assert history.select("segment", "valid_from", "valid_to").rows() == [
        ("x", day(0), day(3)),
        ("y", day(3), day(4)),
        ("x", day(4), None),
    ]


def test_a_rerun_that_learns_of_earlier_days_moves_the_open_stay_start() -> None:
    late = daily_frame({"a": [None, None, "x", "x"]})
    complete = daily_frame({"a": ["x", "x", "x", "x"]})
    last = D0 + timedelta(days=3)
    history = Store().apply(late, D0, last).apply(complete, D0, last).history
    assert history.select("valid_from", "valid_to", "score").rows() == [(D0, None, 0.0)]


def test_a_day_after_unprocessed_days_closes_every_open_stay() -> None:
    daily = daily_frame({"a": ["x", "x", "x", "x"]})
    store = Store().apply(daily, D0, D0)
    history = store.apply(daily, D0 + timedelta(days=3), D0 + timedelta(days=3)).history
    day = lambda n: D0 + timedelta(days=n)  # noqa: E731
    assert history.select("valid_from", "valid_to").rows() == [(day(0), day(1)), (day(3), None)]


def test_filling_a_gap_after_the_days_beyond_it_keeps_the_predecessor_of_the_stay() -> None:
    """Day 3 processed after day 4, day 2 never: the stay from day 3 follows the one that ended on day 1."""
    daily = daily_frame({"a": ["x", "y", "y", "y", "y"]})
    store = Store()
    for offset in (0, 1, 4, 3):
        store.apply(daily, D0 + timedelta(days=offset), D0 + timedelta(days=offset))
    day = lambda n: D0 + timedelta(days=n)  # noqa: E731
    assert store.history.select("segment", "valid_from", "valid_to", "previous_segment").rows() == [
        ("x", day(0), day(1), None),
        ("y", day(1), day(2), "x"),
        ("y", day(3), None, "y"),
    ]


segments = st.lists(st.sampled_from("xyz"), min_size=1, max_size=12)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[pl.DataFrame, int, list[tuple[int, int]]]:
    days = draw(st.integers(1, 12))
    customers = {}
    for key in "abc"[: draw(st.integers(1, 3))]:
        known_from = draw(st.integers(0, days - 1))
        series = draw(
            st.lists(st.sampled_from("xyz"), min_size=days - known_from, max_size=days - known_from)
        )
        customers[key] = [None] * known_from + series
    cuts = sorted(draw(st.sets(st.integers(1, days - 1), max_size=days - 1))) if days > 1 else []
    bounds = [0, *cuts, days]
    ranges = [(bounds[i], bounds[i + 1] - 1) for i in range(len(bounds) - 1)]
    order = draw(st.permutations(ranges))
    return daily_frame(customers), days, list(order)


@hyp_settings(max_examples=60, deadline=None)
@given(scenarios())
def test_history_is_canonical_whatever_the_processing_order(scenario: tuple[pl.DataFrame, int, list]) -> None:
    daily, days, ranges = scenario
    last = D0 + timedelta(days=days - 1)
    backfill = Store().apply(daily, D0, last)
    one_backfill = backfill.history

    day_by_day = Store()
    for offset in range(days):
        day = D0 + timedelta(days=offset)
        day_by_day.apply(daily, day, day)
    assert day_by_day.history.equals(one_backfill)

    any_order = Store()
    for start, end in ranges:
        any_order.apply(daily, D0 + timedelta(days=start), D0 + timedelta(days=end))
    assert any_order.history.equals(one_backfill)

    rerun = backfill.apply(daily, D0 + timedelta(days=days // 2), last).history  # rerun a tail
    assert rerun.equals(one_backfill)

    # Gap-free, non-overlapping, and exactly the daily membership on every day.
    for offset in range(days):
        day = D0 + timedelta(days=offset)
        members = membership_on(one_backfill.lazy(), day).collect()
        expected = daily.filter(pl.col("as_of_date") == day)
        assert members.height == expected.height
        assert sorted(members.select("customer_key", "segment").rows()) == sorted(
            expected.select("customer_key", "segment").rows()
        )
    assert one_backfill.columns == list(STAY_COLUMNS)


@hyp_settings(max_examples=80, deadline=None)
@given(scenarios(), st.data())
def test_setting_back_gives_the_history_of_the_days_up_to_then(
    scenario: tuple[pl.DataFrame, int, list], data: st.DataObject
) -> None:
    """`set_back` (what `store.Restart` does in SQL) to the latest processed day before a cut gives
    the history of only the days up to it, gaps of unprocessed days included; a range from the cut
    to the end, run on that, gives the history of everything processed."""
    daily, days, ranges = scenario
    processed = ranges[: data.draw(st.integers(1, len(ranges)))]  # the rest are never processed
    cut = data.draw(st.integers(0, days - 1))

    def up_to_cut() -> Store:
        store = Store()
        for start, end in processed:
            if start < cut:
                store.apply(daily, D0 + timedelta(days=start), D0 + timedelta(days=min(end, cut - 1)))
        return store

    store = Store()
    for start, end in processed:
        store.apply(daily, D0 + timedelta(days=start), D0 + timedelta(days=end))
    done_before_cut = [day for start, end in processed for day in range(start, end + 1) if day < cut]
    before = D0 + timedelta(days=max(done_before_cut)) if done_before_cut else None
    expected = up_to_cut()
    assert set_back(store.history, before).equals(expected.history)
    assert expected.processed_through == before

    last = D0 + timedelta(days=max(end for _, end in processed))
    if last >= D0 + timedelta(days=cut):  # the restart of a range from the cut through the end
        store.history, store.processed_through = set_back(store.history, before), before
        restarted = store.apply(daily, D0 + timedelta(days=cut), last).history
        assert restarted.equals(expected.apply(daily, D0 + timedelta(days=cut), last).history)


@hyp_settings(max_examples=60, deadline=None)
@given(scenarios())
def test_numbers_and_labels_give_the_same_history_as_keys_and_strings(
    scenario: tuple[pl.DataFrame, int, list],
) -> None:
    """The segment stage's representation takes the packed-join path: same stays, range by range."""
    daily, _, ranges = scenario
    as_keys, as_numbered = Store(), Store(as_stage_holds_it=True)
    for start, end in ranges:
        first, last = D0 + timedelta(days=start), D0 + timedelta(days=end)
        as_keys.apply(daily, first, last)
        as_numbered.apply(daily, first, last)
        assert as_numbered.history.equals(as_labels(as_numbers(as_keys.history)))


def test_the_stage_representation_joins_on_one_packed_key() -> None:
    stays = daily_pieces(daily_frame({"a": ["x", "y"], "c": ["z", "z"]}))
    assert [key.meta.output_name() for key in _identity(as_labels(as_numbers(stays)))] == ["_identity"]
    assert [key.meta.output_name() for key in _identity(as_labels(stays))] == list(IDENTITY)
    assert [key.meta.output_name() for key in _identity(as_numbers(stays))] == list(IDENTITY)


@hyp_settings(max_examples=60, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_memberships_in_any_row_order_give_the_same_history(
    scenario: tuple[pl.DataFrame, int, list], shuffler: random.Random
) -> None:
    """The engine emits memberships grouped by customer and day; any other order must only cost
    speed (more pieces to merge), never change the stored stays or their first-day scores."""
    daily, days, _ = scenario
    last = D0 + timedelta(days=days - 1)
    order = list(range(daily.height))
    shuffler.shuffle(order)
    shuffled = daily[order]
    assert Store().apply(shuffled, D0, last).history.equals(Store().apply(daily, D0, last).history)


def test_stays_carried_as_categoricals_rebuild_like_strings() -> None:
    """The segment stage carries stays with categorical names (`as_labels`): same stays, same kept."""
    daily = daily_frame({"a": ["x", "x", "y", "y", "x"], "b": [None, "z", "z", "w", "w"], "c": ["v"] * 5})
    store = Store().apply(daily, D0, D0 + timedelta(days=1))
    first, last = D0 + timedelta(days=2), D0 + timedelta(days=4)
    affected = store.history.filter(touching(first))
    days = daily.filter(pl.col("as_of_date").is_between(first, last))
    as_strings = rebuild_stays(affected, days, first, last, store.processed_through)
    as_labelled = rebuild_from_pieces(
        as_labels(affected), as_labels(daily_pieces(days)), first, last, store.processed_through
    )
    strings = {column: pl.String for column in LABEL_COLUMNS}
    assert as_labelled.stays.schema["segment"] == pl.Categorical
    assert _rows(as_labelled.stays.cast(strings)) == _rows(as_strings.stays)
    assert _rows(as_labelled.kept.cast(strings)) == _rows(as_strings.kept)
    assert as_labelled.kept["customer_key"].to_list() == ["c"]
