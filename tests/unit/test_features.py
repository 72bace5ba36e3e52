"""Per-customer features as of a day, by hand: windows, point in time, occasions and carts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from assets.segments.features import (
    ENGAGEMENT_COUNTS,
    FeatureWindows,
    days_from_birthday,
    features_as_of,
    in_holiday_season,
)
from assets.segments.rfm import rfm_family, rfm_segments
from orchestration.settings import get_settings

D = date(2025, 12, 20)
WINDOWS = FeatureWindows(365, 28, (11, 15), (1, 6), 7, 24)


def customers(*keys: str, birth: tuple[int, int] | None = None) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "customer_key": list(keys),
            "first_loaded_date": [date(2025, 1, 1)] * len(keys),
            "birth_month": [birth[0] if birth else None] * len(keys),
            "birth_day": [birth[1] if birth else None] * len(keys),
        },
        schema_overrides={"birth_month": pl.Int8, "birth_day": pl.Int8},
    )


def orders(rows: list[tuple[str, date, date, float, float, str]]) -> pl.LazyFrame:
    """(customer, order_date, loaded_date, net, discount, category)"""
    return pl.LazyFrame(
        [(c, od, ld, net, net + disc, disc, cat) for c, od, ld, net, disc, cat in rows],
        schema={
            "customer_key": pl.String, "order_date": pl.Date, "loaded_date": pl.Date,
            "net_amount_eur": pl.Float64, "gross_amount_eur": pl.Float64, "discount_amount_eur": pl.Float64,
            "product_category": pl.String,
        },
        orient="row",
    )  # fmt: skip


NO_ACTIVITY = pl.LazyFrame(
    schema={"customer_key": pl.String, "activity_date": pl.Date, "orders_placed": pl.Int64}
    | dict.fromkeys(ENGAGEMENT_COUNTS, pl.Int64)
)
NO_CARTS = pl.LazyFrame(
    schema={
        "customer_key": pl.String, "session_date": pl.Date, "session_end": pl.Datetime("us", "UTC"),
        "loaded_date": pl.Date, "converted_loaded_date": pl.Date,
    }
)  # fmt: skip


def test_lifetime_window_and_point_in_time() -> None:
    rows = [
        ("a", date(2024, 6, 1), date(2024, 6, 1), 10.0, 0.0, "toys"),  # outside the 365-day window
        ("a", date(2025, 11, 20), date(2025, 11, 20), 20.0, 5.0, "toys"),
        ("a", date(2025, 12, 1), date(2025, 12, 1), 30.0, 0.0, "home"),
        ("a", date(2025, 12, 19), date(2025, 12, 19), 40.0, 10.0, "toys"),
        ("a", date(2025, 12, 20), date(2025, 12, 21), 99.0, 0.0, "home"),  # delivered after D: unknown
    ]
    f = features_as_of(customers("a", "b"), orders(rows), NO_ACTIVITY, NO_CARTS, D, WINDOWS).collect()
    a = f.filter(pl.col("customer_key") == "a").row(0, named=True)
    assert (a["orders_ever"], a["frequency"], a["monetary_eur"], a["discount_eur"]) == (4, 3, 90.0, 15.0)
    assert a["first_order_date"] == date(2024, 6, 1) and a["last_order_date"] == date(2025, 12, 19)
    assert a["previous_order_date"] == date(2025, 12, 1) and a["days_since_last_order"] == 1
    assert (a["top_category"], a["top_category_share"]) == ("toys", 2 / 3)
    assert a["orders_with_discount"] == 2 and a["holiday_orders"] == 3
    assert a["season_top_share"] == 2 / 3 and a["seasons_with_orders"] == 2  # Nov = autumn, Dec = winter
    b = f.filter(pl.col("customer_key") == "b").row(0, named=True)
    assert (b["orders_ever"], b["frequency"], b["monetary_eur"], b["sessions"]) == (0, 0, 0.0, 0)
    assert b["last_order_date"] is None and b["top_category"] is None


def test_holiday_season_wraps_over_new_year_and_birthdays_wrap_too() -> None:
    days = pl.DataFrame({"d": [date(2025, 11, 14), date(2025, 11, 15), date(2026, 1, 6), date(2026, 1, 7)]})
    assert days.select(in_holiday_season(pl.col("d"), WINDOWS))["d"].to_list() == [False, True, True, False]
    frame = pl.DataFrame(
        {
            "d": [date(2026, 1, 2), date(2025, 12, 28), date(2025, 3, 1)],
            "birth_month": [12, 1, 2],
            "birth_day": [30, 3, 29],
        }
    )
    assert frame.select(days_from_birthday(pl.col("d")))["d"].to_list() == [3, -6, 1]


def test_cart_sessions_are_judged_only_after_their_horizon() -> None:
    def session(end: datetime, converted: date | None) -> tuple:
        return ("a", end.date(), end, end.date(), converted)

    carts = pl.LazyFrame(
        [
            session(datetime(2025, 12, 18, 10, tzinfo=UTC), None),  # horizon ended: abandoned
            session(datetime(2025, 12, 18, 12, tzinfo=UTC), date(2025, 12, 18)),  # converted in time
            session(
                datetime(2025, 12, 18, 20, tzinfo=UTC), date(2025, 12, 21)
            ),  # converted, known only later
            session(datetime(2025, 12, 20, 9, tzinfo=UTC), None),  # horizon still open at end of D
        ],
        schema=NO_CARTS.collect_schema(),
        orient="row",
    )
    f = features_as_of(customers("a"), orders([]), NO_ACTIVITY, carts, D, WINDOWS).collect()
    assert f.select("cart_sessions", "abandoned_cart_sessions").row(0) == (3, 2)


@hyp_settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcdef"), st.integers(0, 400), st.integers(0, 2), st.integers(0, 50_000)),
        max_size=30,
    )
)
def test_rfm_family_equals_rfm_segments(rows: list[tuple[str, int, int, int]]) -> None:
    cfg = get_settings().rfm
    order_rows = [
        (k, D - timedelta(days=age), D - timedelta(days=age) + timedelta(days=late), cents / 100, 0.0, "toys")
        for k, age, late, cents in rows
    ]
    keys = customers(*"abcdef")
    via_features = rfm_family(
        features_as_of(keys, orders(order_rows), NO_ACTIVITY, NO_CARTS, D, WINDOWS), cfg
    ).collect()
    direct = rfm_segments(
        keys, orders(order_rows).with_columns(pl.lit(True).alias("is_completed")), D, cfg
    ).collect()
    left = via_features.sort("customer_key").select(
        "segment", "recency_score", "frequency_score", "monetary_score"
    )
    right = direct.sort("customer_key").select(
        "segment", "recency_score", "frequency_score", "monetary_score"
    )
    assert left.equals(right)


def test_rfm_fixed_thresholds_score_by_cut_points() -> None:
    from orchestration.settings import RfmThresholds

    cfg = get_settings().rfm.model_copy(
        update={
            "scoring": "thresholds",
            "thresholds": RfmThresholds(
                recency_days=[7, 30, 90, 180], frequency=[2, 3, 5, 10], monetary_eur=[50, 100, 250, 500]
            ),
        }
    )
    rows = [
        ("a", D - timedelta(days=3), D, 600.0, 0.0, "toys"),  # recency 3 ≤ 7 → 5; 1 order → 1; 600 ≥ 500 → 5
        ("b", D - timedelta(days=30), D, 50.0, 0.0, "toys"),  # 30 ≤ 30 → 4; 50 ≥ 50 → 2
        ("b", D - timedelta(days=200), D, 49.0, 0.0, "toys"),  # 2 orders → 2; total 99 → 2
    ]
    out = rfm_family(
        features_as_of(customers("a", "b", "c"), orders(rows), NO_ACTIVITY, NO_CARTS, D, WINDOWS), cfg
    )
    scores = (
        out.collect()
        .sort("customer_key")
        .select("recency_score", "frequency_score", "monetary_score", "segment")
        .rows()
    )
    assert scores == [
        (5, 1, 5, "New"),
        (4, 2, 2, "Potential Loyalist"),
        (None, None, None, "No Recent Purchase"),
    ]


def test_each_family_needs_only_the_feature_groups_it_declares() -> None:
    """A family computed from only its declared groups equals it computed from the full frame, so a
    wrong declaration (a missing column, or a column whose fill differs) fails here."""
    from assets.segments.engine import FAMILY_FEATURES, family_functions

    settings = get_settings()
    rows = [
        ("a", date(2024, 6, 1), date(2024, 6, 1), 10.0, 0.0, "toys"),
        ("a", date(2025, 11, 20), date(2025, 11, 20), 20.0, 5.0, "toys"),
        ("a", date(2025, 12, 19), date(2025, 12, 19), 40.0, 10.0, "home"),
        ("b", date(2025, 12, 1), date(2025, 12, 1), 30.0, 0.0, "home"),
    ]
    activity = pl.LazyFrame(
        [
            ("a", D, 2) + (3,) * len(ENGAGEMENT_COUNTS),
            ("c", D - timedelta(days=2), 0) + (7,) * len(ENGAGEMENT_COUNTS),
        ],
        schema=NO_ACTIVITY.collect_schema(),
        orient="row",
    )
    end = datetime(2025, 12, 18, 10, tzinfo=UTC)
    carts = pl.LazyFrame(
        [("c", end.date(), end, end.date(), None)], schema=NO_CARTS.collect_schema(), orient="row"
    )
    inputs = (customers("a", "b", "c", birth=(12, 20)), orders(rows), activity, carts, D, WINDOWS)
    full = features_as_of(*inputs)
    functions = dict(family_functions(settings))
    assert set(FAMILY_FEATURES) == set(functions)
    for family, groups in FAMILY_FEATURES.items():
        alone = functions[family](features_as_of(*inputs, groups=groups)).collect().sort("customer_key")
        assert alone.equals(functions[family](full).collect().sort("customer_key")), family
