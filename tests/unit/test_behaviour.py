"""The behavioural families on hand-made feature rows: boundaries, precedence, one segment each."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from pydantic import ValidationError

from assets.segments.behaviour import FAMILIES, segment_names
from orchestration.settings import DEFAULT_CONFIG_FILE, Settings, get_settings

D = date(2026, 2, 1)
BASE = {
    "customer_key": "c", "as_of_date": D, "orders_ever": 0, "first_order_date": None, "last_order_date": None,
    "previous_order_date": None, "days_since_last_order": None, "frequency": 0, "monetary_eur": 0.0,
    "orders_with_discount": 0, "holiday_orders": 0, "birthday_window_orders": 0, "top_category": None,
    "top_category_share": None, "season_top_share": None, "sessions": 0, "session_seconds": 0,
    "page_views": 0, "product_views": 0, "email_opens": 0, "email_clicks": 0, "app_opens": 0,
    "social_interactions": 0, "recent_orders": 0, "cart_sessions": 0, "abandoned_cart_sessions": 0,
}  # fmt: skip
TYPES = {
    "first_order_date": pl.Date, "last_order_date": pl.Date, "previous_order_date": pl.Date,
    "days_since_last_order": pl.Int32, "top_category": pl.String, "top_category_share": pl.Float64,
    "season_top_share": pl.Float64,
}  # fmt: skip


def frame(*rows: dict) -> pl.LazyFrame:
    return pl.DataFrame(list(rows), schema_overrides=TYPES).lazy()


def segment(family: str, **features: object) -> str:
    return FAMILIES[family](frame(BASE | features), get_settings().behaviour).collect()["segment"].item()


def bought(
    last_days_ago: int, orders: int = 1, previous_days_ago: int | None = None, first_days_ago: int = 400
) -> dict:
    previous = D - timedelta(days=previous_days_ago) if previous_days_ago is not None else None
    return {
        "orders_ever": orders, "days_since_last_order": last_days_ago, "previous_order_date": previous,
        "last_order_date": D - timedelta(days=last_days_ago),
        "first_order_date": D - timedelta(days=first_days_ago),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ({}, "prospect"),
        (bought(90), "new"),  # active_days = 90 is still active
        (bought(91), "at_risk"),
        (bought(180), "at_risk"),
        (bought(181), "dormant"),
        (bought(365), "dormant"),
        (bought(366), "churned"),
        (bought(10, orders=3, previous_days_ago=40), "returning"),
        (bought(10, orders=3, previous_days_ago=71), "resurrected"),  # gap 61 > resurrected_min_gap_days
        (bought(10, orders=3, previous_days_ago=70), "returning"),  # gap 60 is not more than 60
    ],
)
def test_lifecycle_boundaries(features: dict, expected: str) -> None:
    assert segment("lifecycle", **features) == expected


def test_usage_price_affinity_occasion_browsing_loyalty_by_hand() -> None:
    assert [segment("usage", frequency=n) for n in (0, 1, 2, 3, 5, 6)] == [
        "non_user", "light", "light", "medium", "medium", "heavy",
    ]  # fmt: skip
    assert segment("price", frequency=5, orders_with_discount=3) == "discount_driven"  # 0.6
    assert segment("price", frequency=4, orders_with_discount=1) == "price_aware"  # 0.25
    assert segment("price", frequency=5, orders_with_discount=1) == "full_price"  # 0.2
    assert segment("price") == "non_buyer"
    assert segment("affinity", frequency=3, top_category="toys", top_category_share=0.6) == "toys_lover"
    assert segment("affinity", frequency=2, top_category="toys", top_category_share=1.0) == "no_affinity"
    assert segment("occasion", frequency=5, holiday_orders=3, birthday_window_orders=5) == "holiday_buyer"
    assert segment("occasion", frequency=2, birthday_window_orders=1) == "birthday_buyer"
    assert segment("occasion", frequency=4, season_top_share=0.75) == "seasonal_buyer"
    assert segment("occasion", frequency=1, holiday_orders=1) == "not_seasonal"  # too few orders
    assert segment("browsing", cart_sessions=3, abandoned_cart_sessions=2) == "cart_abandoner"  # 2/3 ≥ 0.6
    assert segment("browsing", cart_sessions=2, abandoned_cart_sessions=1, page_views=2) == "inactive_browser"
    assert segment("browsing", cart_sessions=5, abandoned_cart_sessions=2, page_views=30) == "window_shopper"
    assert segment("browsing", recent_orders=1, page_views=30) == "converter"
    assert segment("browsing") == "inactive_browser"
    assert segment("loyalty", **bought(10, orders=3, first_days_ago=200)) == "loyal"
    assert segment("loyalty", **bought(10, orders=3, first_days_ago=100)) == "regular"
    assert segment("loyalty", **bought(120, orders=3)) == "switcher_prone"
    assert segment("loyalty", **bought(10)) == "one_time"
    # score = 1×sessions + 0.002×seconds + 0.5×opens + 2×clicks + 0.5×app + 1×social
    assert segment("engagement", sessions=3, session_seconds=1000) == "high"  # 5.0
    assert segment("engagement", sessions=3, session_seconds=999) == "medium"  # 4.998
    assert segment("engagement", email_clicks=1) == "medium"  # 2.0
    assert segment("engagement", email_opens=1) == "low"  # 0.5
    assert segment("engagement") == "disengaged"


counts = st.integers(0, 40)


@hyp_settings(max_examples=50, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "frequency": counts,
            "orders_with_discount": counts,
            "holiday_orders": counts,
            "sessions": counts,
            "page_views": counts,
            "cart_sessions": counts,
            "abandoned_cart_sessions": counts,
            "recent_orders": counts,
            "email_clicks": counts,
            "last": st.none() | st.integers(0, 800),
            "orders": st.integers(1, 30),
        }
    )
)
def test_every_row_gets_exactly_one_known_segment_per_family(drawn: dict) -> None:
    last = drawn.pop("last")
    orders = drawn.pop("orders")
    features = (
        BASE | drawn | (bought(last, orders=orders, previous_days_ago=last + 50) if last is not None else {})
    )
    cfg = get_settings().behaviour
    names = segment_names(cfg, get_settings().extract.product_categories)
    for family, function in FAMILIES.items():
        out = function(frame(features, BASE), cfg).collect()
        assert out.height == 2 and out["segment"].null_count() == 0
        assert set(out["segment"]) <= set(names[family]), family


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (("medium_min_orders = 3", "medium_min_orders = 6"), "behaviour.usage"),
        (("dormant_after_days = 180", "dormant_after_days = 60"), "behaviour.lifecycle"),
        (
            ('{ name = "medium", min_score = 2.0 }', '{ name = "medium", min_score = 25.0 }'),
            "behaviour.engagement.levels",
        ),
        (
            ('converter = "Post-purchase cross-sell"\n', ""),
            "behaviour.actions.browsing: no recommended action",
        ),
        (('converter = "Post', 'convertr = "Post'), "behaviour.actions.browsing"),
        (
            ('holiday_season = ["11-15", "12-31"]', 'holiday_season = ["11-15", "13-01"]'),
            "behaviour.holiday_season",
        ),
        (
            ("min_orders = 3\nmin_share = 0.6", "min_orders = 3\nmin_share = 1.5"),
            "behaviour.affinity.min_share",
        ),
    ],
)
def test_bad_behaviour_config_fails_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: tuple[str, str], message: str
) -> None:
    text = DEFAULT_CONFIG_FILE.read_text()
    assert replace[0] in text
    config = tmp_path / "pipeline.toml"
    config.write_text(text.replace(*replace, 1))
    monkeypatch.setenv("SEGMENTS_CONFIG_FILE", str(config))
    with pytest.raises(ValidationError) as error:
        Settings()
    flat = str(error.value).replace("\n", " ")
    assert message in flat or all(part in flat for part in message.split("."))
