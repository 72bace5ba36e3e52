"""The behavioural segment families, from the per-day features frame (see features.py).

Every function maps each row of `features` to exactly one segment of its family (a catch-all
segment closes every when/then chain), as pure lazy expressions. Precedence inside a family is the
order of the branches; docs/segments.md defines every segment.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from orchestration.behaviour_settings import BehaviourSettings


def _family(
    features: pl.LazyFrame, family: str, segment: pl.Expr, score: pl.Expr | None = None
) -> pl.LazyFrame:
    return features.select(
        "customer_key",
        "as_of_date",
        pl.lit(family).alias("family"),
        segment.alias("segment"),
        (score if score is not None else pl.lit(None)).cast(pl.Float64).alias("score"),
    )


def usage(features: pl.LazyFrame, cfg: BehaviourSettings) -> pl.LazyFrame:
    orders = pl.col("frequency")
    segment = (
        pl.when(orders >= cfg.usage.heavy_min_orders).then(pl.lit("heavy"))
        .when(orders >= cfg.usage.medium_min_orders).then(pl.lit("medium"))
        .when(orders >= 1).then(pl.lit("light"))
        .otherwise(pl.lit("non_user"))
    )  # fmt: skip
    return _family(features, "usage", segment, orders)


def lifecycle(features: pl.LazyFrame, cfg: BehaviourSettings) -> pl.LazyFrame:
    c = cfg.lifecycle
    since_last = pl.col("days_since_last_order")
    gap_before_last = (pl.col("last_order_date") - pl.col("previous_order_date")).dt.total_days()
    segment = (
        pl.when(pl.col("orders_ever") == 0).then(pl.lit("prospect"))
        .when(since_last > c.churn_after_days).then(pl.lit("churned"))
        .when(since_last > c.dormant_after_days).then(pl.lit("dormant"))
        .when(since_last > c.active_days).then(pl.lit("at_risk"))
        .when(pl.col("orders_ever") == 1).then(pl.lit("new"))
        .when(gap_before_last > c.resurrected_min_gap_days).then(pl.lit("resurrected"))
        .otherwise(pl.lit("returning"))
    )  # fmt: skip
    return _family(features, "lifecycle", segment, since_last)


def engagement_score(cfg: BehaviourSettings) -> pl.Expr:
    weighted = [
        pl.col(feature).cast(pl.Float64) * weight for feature, weight in cfg.engagement.weights.items()
    ]
    return pl.sum_horizontal(weighted)


def engagement(features: pl.LazyFrame, cfg: BehaviourSettings) -> pl.LazyFrame:
    score = engagement_score(cfg)
    segment = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for level in cfg.engagement.levels:
        segment = segment.when(score >= level.min_score).then(pl.lit(level.name))
    return _family(features, "engagement", segment.otherwise(pl.lit(cfg.engagement.below_levels)), score)


def loyalty(features: pl.LazyFrame, cfg: BehaviourSettings) -> pl.LazyFrame:
    tenure = (pl.col("as_of_date") - pl.col("first_order_date")).dt.total_days()
    active = pl.col("days_since_last_order") <= cfg.lifecycle.active_days
    established = (pl.col("orders_ever") >= cfg.loyalty.loyal_min_orders) & (
        tenure >= cfg.loyalty.loyal_min_tenure_days
    )
    segment = (
        pl.when(pl.col("orders_ever") == 0).then(pl.lit("none"))
        .when(pl.col("orders_ever") == 1).then(pl.lit("one_time"))
        .when(~active).then(pl.lit("switcher_prone"))
        .when(established).then(pl.lit("loyal"))
        .otherwise(pl.lit("regular"))
    )  # fmt: skip
    return _family(features, "loyalty", segment, pl.col("orders_ever"))


def occasion(features: pl.LazyFrame, cfg: BehaviourSettings) -> pl.LazyFrame:
    c = cfg.occasion
    orders = pl.col("frequency")
    enough = orders >= c.min_orders
    holiday_share = pl.col("holiday_orders") / orders
    birthday_share = pl.col("birthday_window_orders") / orders
    segment = (
        pl.when(enough & (holiday_share >= c.holiday_min_share)).then(pl.lit("holiday_buyer"))
        .when(enough & (birthday_share >= c.birthday_min_share)).then(pl.lit("birthday_buyer"))
        .when(enough & (pl.col("season_top_share") >= c.seasonal_min_share)).then(pl.lit("seasonal_buyer"))
        .otherwise(pl.lit("not_seasonal"))
    )  # fmt: skip
    return _family(features, "occasion", segment, holiday_share)


def affinity(features: pl.LazyFrame, cfg: BehaviourSettings) -> pl.LazyFrame:
    strong = (pl.col("top_category_share") >= cfg.affinity.min_share) & (
        pl.col("frequency") >= cfg.affinity.min_orders
    )
    segment = pl.when(strong).then(pl.format("{}_lover", "top_category")).otherwise(pl.lit("no_affinity"))
    return _family(features, "affinity", segment, pl.col("top_category_share"))


def price(features: pl.LazyFrame, cfg: BehaviourSettings) -> pl.LazyFrame:
    discounted_share = pl.col("orders_with_discount") / pl.col("frequency")
    segment = (
        pl.when(pl.col("frequency") == 0).then(pl.lit("non_buyer"))
        .when(discounted_share >= cfg.price.discount_driven_min_share).then(pl.lit("discount_driven"))
        .when(discounted_share >= cfg.price.price_aware_min_share).then(pl.lit("price_aware"))
        .otherwise(pl.lit("full_price"))
    )  # fmt: skip
    return _family(features, "price", segment, discounted_share)


def browsing(features: pl.LazyFrame, cfg: BehaviourSettings) -> pl.LazyFrame:
    c = cfg.browsing
    carts = pl.col("cart_sessions")
    abandoned = pl.col("abandoned_cart_sessions")
    views = pl.col("page_views") + pl.col("product_views")
    browses_only = (views >= c.window_shopper_min_views) & (pl.col("recent_orders") == 0)
    segment = (
        pl.when((abandoned >= c.cart_abandoner_min_carts) & (abandoned >= c.cart_abandoner_min_share * carts))
        .then(pl.lit("cart_abandoner"))
        .when(browses_only).then(pl.lit("window_shopper"))
        .when(pl.col("recent_orders") > 0).then(pl.lit("converter"))
        .otherwise(pl.lit("inactive_browser"))
    )  # fmt: skip
    return _family(features, "browsing", segment, views)


FAMILIES: dict[str, Callable[[pl.LazyFrame, BehaviourSettings], pl.LazyFrame]] = {
    "usage": usage, "lifecycle": lifecycle, "engagement": engagement, "loyalty": loyalty,
    "occasion": occasion, "affinity": affinity, "price": price, "browsing": browsing,
}  # fmt: skip


def segment_names(cfg: BehaviourSettings, categories: list[str]) -> dict[str, list[str]]:
    """Every segment each family can emit (the catalog, and the gate's allowed values)."""
    return {
        "usage": ["heavy", "medium", "light", "non_user"],
        "lifecycle": ["prospect", "new", "returning", "resurrected", "at_risk", "dormant", "churned"],
        "engagement": [level.name for level in cfg.engagement.levels] + [cfg.engagement.below_levels],
        "loyalty": ["loyal", "regular", "switcher_prone", "one_time", "none"],
        "occasion": ["holiday_buyer", "birthday_buyer", "seasonal_buyer", "not_seasonal"],
        "affinity": [f"{category}_lover" for category in categories] + ["no_affinity"],
        "price": ["discount_driven", "price_aware", "full_price", "non_buyer"],
        "browsing": ["cart_abandoner", "window_shopper", "converter", "inactive_browser"],
    }
