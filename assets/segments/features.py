"""Per customer and day, the behaviour every segment family is cut on, point in time.

For day D only rows delivered by the end of D count (`loaded_date <= D`). Purchase features use
the trailing `purchase_days` window (the RFM window), engagement features the trailing
`engagement_days` window; lifetime features (first/last/previous order, orders ever) use all
orders known by D, carried forward as running state (`LifetimeBase`) so a daily run does not
rescan the order history. Every count is 0, never null, when there was nothing to count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

import polars as pl

ENGAGEMENT_COUNTS = (
    "sessions", "session_seconds", "page_views", "product_views", "add_to_cart_events",
    "checkout_started_events", "emails_sent", "email_opens", "email_clicks", "app_opens",
    "social_interactions",
)  # fmt: skip


class FeatureGroup(StrEnum):
    """Features that are computed together; a family asks only for the groups it reads."""

    LIFETIME = "lifetime"  # orders_ever, first/last/previous order date, days_since_last_order
    PURCHASE = "purchase"  # window totals: frequency, money, discounts
    OCCASION = "occasion"  # window counts on the calendar: holiday-season and birthday-window orders
    BASKET = "basket"  # window mix: top category and its share, seasons
    ENGAGEMENT = "engagement"  # ENGAGEMENT_COUNTS, active_days, recent_orders
    CARTS = "carts"  # cart_sessions, abandoned_cart_sessions


ALL_FEATURE_GROUPS = frozenset(FeatureGroup)


@dataclass(frozen=True)
class FeatureWindows:
    purchase_days: int
    engagement_days: int
    holiday_start: tuple[int, int]  # (month, day), inclusive
    holiday_end: tuple[int, int]  # (month, day), inclusive; may wrap past the new year
    birthday_window_days: int
    cart_horizon_hours: int


def _month_day(day: pl.Expr) -> pl.Expr:
    return day.dt.month().cast(pl.Int32) * 100 + day.dt.day().cast(pl.Int32)


def in_holiday_season(day: pl.Expr, windows: FeatureWindows) -> pl.Expr:
    start = windows.holiday_start[0] * 100 + windows.holiday_start[1]
    end = windows.holiday_end[0] * 100 + windows.holiday_end[1]
    md = _month_day(day)
    return md.is_between(start, end) if start <= end else (md >= start) | (md <= end)


def days_from_birthday(day: pl.Expr) -> pl.Expr:
    """Signed distance in days from the nearest birthday, wrapping over the new year (Feb 29 → 28)."""
    birth_day = (
        pl.when((pl.col("birth_month") == 2) & (pl.col("birth_day") == 29))
        .then(28)
        .otherwise(pl.col("birth_day"))
    )
    birthday = pl.date(day.dt.year(), pl.col("birth_month"), birth_day)
    offset = (day - birthday).dt.total_days()
    return pl.when(offset > 182).then(offset - 365).when(offset < -182).then(offset + 365).otherwise(offset)


def season(day: pl.Expr) -> pl.Expr:
    """Meteorological season 0..3 (winter = Dec–Feb)."""
    return (day.dt.month().cast(pl.Int8) % 12) // 3


LIFETIME_COLUMNS = (
    "customer_key",
    "orders_ever",
    "first_order_date",
    "last_order_date",
    "previous_order_date",
)


@dataclass(frozen=True)
class LifetimeBase:
    """Running lifetime state: `_lifetime` of every order delivered and placed by the end of `through`.

    With it, lifetime features for a later day need only the orders delivered (or dated) after
    `through`, not the whole order history.
    """

    through: date
    lifetime: pl.LazyFrame  # LIFETIME_COLUMNS


def _lifetime(orders: pl.LazyFrame) -> pl.LazyFrame:
    dates = pl.col("order_date").sort(descending=True)
    return orders.group_by("customer_key").agg(
        pl.len().cast(pl.Int32).alias("orders_ever"),
        pl.col("order_date").min().alias("first_order_date"),
        dates.first().alias("last_order_date"),
        dates.slice(1, 1).first().alias("previous_order_date"),
    )


def combine_lifetimes(base: pl.LazyFrame, newer: pl.LazyFrame) -> pl.LazyFrame:
    """Lifetime aggregates of the union of two disjoint order sets, from their aggregates alone.

    Counts add, first dates take the minimum, and the two latest order dates of the union are the
    two latest of both sides' (last, previous) pairs: duplicates are kept, as `_lifetime` keeps them.
    One join and column expressions: no per-customer sort, so folding a day into a million-row
    state costs one pass over the state.
    """
    joined = base.select(LIFETIME_COLUMNS).join(
        newer.select(LIFETIME_COLUMNS), on="customer_key", how="full", coalesce=True, suffix="_new"
    )
    last, previous = pl.col("last_order_date"), pl.col("previous_order_date")
    new_last, new_previous = pl.col("last_order_date_new"), pl.col("previous_order_date_new")
    # Each side has last >= previous, so the union's latest is the larger last, and its runner-up
    # is the larger of the other side's last and the winning side's previous.
    base_has_latest = new_last.is_null() | (last.is_not_null() & (last >= new_last))
    return joined.select(
        "customer_key",
        (pl.col("orders_ever").fill_null(0) + pl.col("orders_ever_new").fill_null(0))
        .cast(pl.Int32)
        .alias("orders_ever"),
        pl.min_horizontal("first_order_date", "first_order_date_new").alias("first_order_date"),
        pl.when(base_has_latest).then(last).otherwise(new_last).alias("last_order_date"),
        pl.when(base_has_latest)
        .then(pl.max_horizontal(previous, new_last))
        .otherwise(pl.max_horizontal(new_previous, last))
        .alias("previous_order_date"),
    )


def lifetime_as_of(orders: pl.LazyFrame, as_of: date, base: LifetimeBase | None = None) -> pl.LazyFrame:
    """Lifetime aggregates as of `as_of`: from all `orders`, or from `base` plus the orders it lacks.

    With a base, `orders` must hold every order delivered or dated after `base.through`.
    """
    known = orders.filter(pl.col("loaded_date") <= as_of, pl.col("order_date") <= as_of)
    if base is None:
        return _lifetime(known)
    if base.through >= as_of:
        raise ValueError(f"lifetime base through {base.through} is not before {as_of}")
    newer = known.filter((pl.col("loaded_date") > base.through) | (pl.col("order_date") > base.through))
    return combine_lifetimes(base.lifetime, _lifetime(newer))


def _purchase_totals(orders: pl.LazyFrame) -> pl.LazyFrame:
    return orders.group_by("customer_key").agg(
        pl.len().cast(pl.Int32).alias("frequency"),
        pl.col("net_amount_eur").sum().round(2).alias("monetary_eur"),
        pl.col("gross_amount_eur").sum().round(2).alias("gross_eur"),
        pl.col("discount_amount_eur").sum().round(2).alias("discount_eur"),
        (pl.col("discount_amount_eur") > 0).sum().cast(pl.Int32).alias("orders_with_discount"),
    )


def _occasion_counts(orders: pl.LazyFrame, known: pl.LazyFrame, windows: FeatureWindows) -> pl.LazyFrame:
    """Orders in the holiday season and near the customer's birthday: the only features that need
    the customer's birthday joined onto every window order, so RFM and its kin do without them."""
    near_birthday = days_from_birthday(pl.col("order_date")).abs() <= windows.birthday_window_days
    return (
        orders.join(known.select("customer_key", "birth_month", "birth_day"), on="customer_key")
        .group_by("customer_key")
        .agg(
            in_holiday_season(pl.col("order_date"), windows).sum().cast(pl.Int32).alias("holiday_orders"),
            near_birthday.fill_null(False).sum().cast(pl.Int32).alias("birthday_window_orders"),
        )
    )


def _basket_mix(orders: pl.LazyFrame) -> pl.LazyFrame:
    per_category = orders.group_by("customer_key", "product_category").agg(pl.len().alias("n"))
    top_category = (
        per_category.sort("customer_key", pl.col("n"), "product_category", descending=[False, True, False])
        .group_by("customer_key", maintain_order=True)
        .agg(pl.col("product_category").first().alias("top_category"), pl.col("n").first().alias("_top"))
    )
    per_season = orders.group_by("customer_key", season(pl.col("order_date")).alias("s")).agg(
        pl.len().alias("n")
    )
    seasons = per_season.group_by("customer_key").agg(
        pl.col("n").max().alias("_season_top"),
        pl.len().cast(pl.Int8).alias("seasons_with_orders"),
        pl.col("n").sum().alias("_orders"),
    )
    return (
        top_category.join(seasons, on="customer_key", how="left")
        .with_columns(
            (pl.col("_top") / pl.col("_orders")).alias("top_category_share"),
            (pl.col("_season_top") / pl.col("_orders")).alias("season_top_share"),
        )
        .drop("_top", "_season_top", "_orders")
    )


def _engagement_window(activity: pl.LazyFrame) -> pl.LazyFrame:
    active = (
        (pl.col("sessions") > 0)
        | (pl.col("orders_placed") > 0)
        | (pl.col("email_opens") > 0)
        | (pl.col("email_clicks") > 0)
        | (pl.col("social_interactions") > 0)
    )
    return activity.group_by("customer_key").agg(
        *[pl.col(c).sum().cast(pl.Int64 if c == "session_seconds" else pl.Int32) for c in ENGAGEMENT_COUNTS],
        active.sum().cast(pl.Int32).alias("active_days"),
        pl.col("orders_placed").sum().cast(pl.Int32).alias("recent_orders"),
    )


def _carts(cart_sessions: pl.LazyFrame, as_of: date, windows: FeatureWindows) -> pl.LazyFrame:
    """Cart sessions whose horizon ended by the end of `as_of`; abandoned unless an order known by
    `as_of` followed within the horizon (`converted_loaded_date` is when that order was delivered)."""
    end_of_day = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    horizon = timedelta(hours=windows.cart_horizon_hours)
    window_start = as_of - timedelta(days=windows.engagement_days)
    judged = cart_sessions.filter(
        pl.col("loaded_date") <= as_of,
        pl.col("session_date") > window_start,
        pl.col("session_end") + horizon <= end_of_day,
    )
    abandoned = pl.col("converted_loaded_date").is_null() | (pl.col("converted_loaded_date") > as_of)
    return judged.group_by("customer_key").agg(
        pl.len().cast(pl.Int32).alias("cart_sessions"),
        abandoned.sum().cast(pl.Int32).alias("abandoned_cart_sessions"),
    )


ZERO_IF_MISSING = {
    FeatureGroup.LIFETIME: ("orders_ever",),
    FeatureGroup.PURCHASE: ("frequency", "orders_with_discount"),
    FeatureGroup.OCCASION: ("holiday_orders", "birthday_window_orders"),
    FeatureGroup.ENGAGEMENT: (*ENGAGEMENT_COUNTS, "active_days", "recent_orders"),
    FeatureGroup.CARTS: ("cart_sessions", "abandoned_cart_sessions"),
}


def features_as_of(
    customers: pl.LazyFrame,
    orders: pl.LazyFrame,
    activity: pl.LazyFrame,
    cart_sessions: pl.LazyFrame,
    as_of: date,
    windows: FeatureWindows,
    lifetime_base: LifetimeBase | None = None,
    groups: frozenset[FeatureGroup] = ALL_FEATURE_GROUPS,
) -> pl.LazyFrame:
    """One row per customer known by `as_of` (see the module docstring for the columns' windows),
    with the columns of the feature `groups` asked for (all by default).

    customers: customer_key, first_loaded_date, birth_month, birth_day.
    orders: completed orders — customer_key, order_date, loaded_date, net/gross/discount_amount_eur,
    product_category: all of them, or, with a `lifetime_base`, those in the purchase window plus
    those delivered or dated after the base. activity: `customer_daily_activity` rows.
    cart_sessions: see `_carts`.
    """
    known = customers.filter(pl.col("first_loaded_date") <= as_of).select(
        "customer_key", "birth_month", "birth_day"
    )
    known_orders = orders.filter(pl.col("loaded_date") <= as_of, pl.col("order_date") <= as_of)
    purchase_start = as_of - timedelta(days=windows.purchase_days)
    # Orders of customers not known yet drop out where the groups are joined onto `known`.
    in_window = known_orders.filter(pl.col("order_date") > purchase_start)
    engagement_start = as_of - timedelta(days=windows.engagement_days)
    recent_activity = activity.filter(
        pl.col("activity_date").is_between(engagement_start, as_of, closed="right")
    )
    parts = {
        FeatureGroup.LIFETIME: lambda: lifetime_as_of(orders, as_of, lifetime_base),
        FeatureGroup.PURCHASE: lambda: _purchase_totals(in_window),
        FeatureGroup.OCCASION: lambda: _occasion_counts(in_window, known, windows),
        FeatureGroup.BASKET: lambda: _basket_mix(in_window),
        FeatureGroup.ENGAGEMENT: lambda: _engagement_window(recent_activity),
        FeatureGroup.CARTS: lambda: _carts(cart_sessions, as_of, windows),
    }
    features = known.with_columns(pl.lit(as_of).alias("as_of_date"))
    for group in FeatureGroup:  # a fixed order, so the columns do not depend on the set's order
        if group in groups:
            features = features.join(parts[group](), on="customer_key", how="left")
    zeros = [column for group in groups for column in ZERO_IF_MISSING.get(group, ())]
    derived = [pl.col(zeros).fill_null(0)] if zeros else []
    if FeatureGroup.PURCHASE in groups:
        derived.append(pl.col("monetary_eur", "gross_eur", "discount_eur").fill_null(0.0))
    if FeatureGroup.LIFETIME in groups:
        derived.append(
            (pl.lit(as_of) - pl.col("last_order_date"))
            .dt.total_days()
            .cast(pl.Int32)
            .alias("days_since_last_order")
        )
    return features.with_columns(derived) if derived else features
