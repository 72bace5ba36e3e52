"""All segment families for a range of days: features → one membership row per customer, family, day.

Families are functions `features → (customer_key, as_of_date, family, segment, scores…)`; this
module lists them with their config and brings their outputs to one shape. Days are processed in
chunks so memory stays bounded however long the backfill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

import polars as pl

from assets.segments.behaviour import FAMILIES, segment_names
from assets.segments.features import FeatureGroup, FeatureWindows, LifetimeBase, features_as_of
from assets.segments.rfm import rfm_family
from orchestration.settings import Settings

MEMBERSHIP_COLUMNS = (
    "customer_key", "family", "as_of_date", "segment", "score", "recency_score", "frequency_score",
    "monetary_score",
)  # fmt: skip
FamilyFunction = Callable[[pl.LazyFrame], pl.LazyFrame]

_G = FeatureGroup
# The feature groups each family reads (tests/unit/test_features.py checks every family against
# the full frame), so computing a subset of families skips the joins nobody needs.
FAMILY_FEATURES: dict[str, frozenset[FeatureGroup]] = {
    "rfm": frozenset({_G.LIFETIME, _G.PURCHASE}),
    "usage": frozenset({_G.PURCHASE}),
    "lifecycle": frozenset({_G.LIFETIME}),
    "engagement": frozenset({_G.ENGAGEMENT}),
    "loyalty": frozenset({_G.LIFETIME}),
    "occasion": frozenset({_G.PURCHASE, _G.OCCASION, _G.BASKET}),
    "affinity": frozenset({_G.PURCHASE, _G.BASKET}),
    "price": frozenset({_G.PURCHASE}),
    "browsing": frozenset({_G.ENGAGEMENT, _G.CARTS}),
}


def feature_groups(families: list[str]) -> frozenset[FeatureGroup]:
    return frozenset().union(*(FAMILY_FEATURES[family] for family in families))


@dataclass(frozen=True)
class Inputs:
    """Everything read from the marts for one run, already limited to what the range needs."""

    customers: pl.LazyFrame
    orders: pl.LazyFrame
    activity: pl.LazyFrame
    cart_sessions: pl.LazyFrame
    # Lifetime aggregates through a day before the chunk; `orders` then only holds what it lacks.
    lifetime_base: LifetimeBase | None = None


def family_functions(settings: Settings) -> list[tuple[str, FamilyFunction]]:
    behaviour = settings.behaviour
    families: list[tuple[str, FamilyFunction]] = [
        ("rfm", lambda features: rfm_family(features, settings.rfm))
    ]
    families += [(name, partial(function, cfg=behaviour)) for name, function in FAMILIES.items()]
    return families


def family_features(inputs: Inputs, day: date, windows: FeatureWindows, families: list[str]) -> pl.LazyFrame:
    """The features frame of one day, with only the groups `families` read."""
    return features_as_of(
        inputs.customers,
        inputs.orders,
        inputs.activity,
        inputs.cart_sessions,
        day,
        windows,
        inputs.lifetime_base,
        feature_groups(families),
    )


def segment_catalog(settings: Settings) -> pl.DataFrame:
    """Every segment each family can emit, with the action marketing should take (from config)."""
    rfm = [(rule.name, rule.action) for rule in settings.rfm.segments]
    rfm.append((settings.rfm.no_purchase_segment, settings.rfm.no_purchase_action))
    rows = [("rfm", name, action) for name, action in rfm]
    for family, names in segment_names(settings.behaviour, settings.extract.product_categories).items():
        rows += [(family, name, settings.behaviour.actions[family][name]) for name in names]
    return pl.DataFrame(rows, schema=["family", "segment", "recommended_action"], orient="row")


def feature_windows(settings: Settings) -> FeatureWindows:
    behaviour = settings.behaviour
    return FeatureWindows(
        purchase_days=settings.rfm.window_days,
        engagement_days=behaviour.engagement_window_days,
        holiday_start=behaviour.month_day(0),
        holiday_end=behaviour.month_day(1),
        birthday_window_days=behaviour.birthday_window_days,
        cart_horizon_hours=behaviour.cart_horizon_hours,
    )


def _conform(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Every family's output in the stored shape; scores a family does not have are null."""
    schema = frame.collect_schema()
    typed = {
        "score": pl.Float64,
        "recency_score": pl.Int8,
        "frequency_score": pl.Int8,
        "monetary_score": pl.Int8,
    }
    return frame.with_columns(
        pl.col(name).cast(dtype) if name in schema else pl.lit(None, dtype).alias(name)
        for name, dtype in typed.items()
    ).select(MEMBERSHIP_COLUMNS)


def memberships(inputs: Inputs, days: list[date], settings: Settings) -> pl.LazyFrame:
    """Daily membership of every known customer in every family, for `days`.

    Rows come grouped by family and customer, days ascending within a group: the features are
    computed once and ordered by customer and day (one row per customer and day), and every family
    is a row-preserving select over them. `history.rebuild_stays` then finds each stay in one pass
    instead of sorting the memberships, which are families x larger than the features.
    """
    windows = feature_windows(settings)
    functions = family_functions(settings)
    names = [name for name, _ in functions]
    features = (
        pl.concat([family_features(inputs, day, windows, names) for day in days])
        .sort("customer_key", "as_of_date")
        .collect()
        .lazy()
    )
    return pl.concat([_conform(function(features)) for _, function in functions])


def days_per_chunk(rows_per_day: int, rows_budget: int, max_days: int) -> int:
    """How many days fit the memory budget when each day brings `rows_per_day` rows (at least one)."""
    return max(1, min(max_days, rows_budget // max(1, rows_per_day)))


def chunks(days: list[date], size: int) -> Iterator[list[date]]:
    for start in range(0, len(days), size):
        yield days[start : start + size]


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
