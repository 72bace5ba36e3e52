"""RFM as of a day: recency, frequency and monetary value, 1–5 scores, and the named segment.

Point in time: for day D only orders delivered by the end of D (`loaded_date <= D`) and placed
inside the trailing window (D - window_days, D] count, so rerunning D later gives the same answer.

Scores are quantile scores among the customers who bought in the window, 5 = best. Ties share a
score: the score comes from the *lowest* rank of the tie (`rank("min")`), so two customers with the
same value always get the same score, whatever their order in the frame; with many one-time buyers
the lowest frequency score therefore covers more than a fifth of buyers. That is deliberate: an
arbitrary tie-break would give identical customers different segments.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from orchestration.settings import RfmSettings

SCORE_BINS = 5
RFM_COLUMNS = (
    "as_of_date", "customer_key", "last_order_date", "recency_days", "frequency", "monetary_eur",
    "recency_score", "frequency_score", "monetary_score", "segment",
)  # fmt: skip


def quantile_score(goodness: pl.Expr, buyers: pl.Expr) -> pl.Expr:
    """1..5 from the min-rank of `goodness` (higher is better) among `buyers` rows."""
    rank = goodness.rank(method="min")
    return (((rank - 1) * SCORE_BINS) // buyers + 1).cast(pl.Int8)


def orders_in_window(orders: pl.LazyFrame, as_of: date, window_days: int) -> pl.LazyFrame:
    """Completed orders known by the end of `as_of` and placed inside its trailing window."""
    window_start = as_of - timedelta(days=window_days)
    return orders.filter(
        pl.col("is_completed"),
        pl.col("loaded_date") <= as_of,
        pl.col("order_date") > window_start,
        pl.col("order_date") <= as_of,
    )


def rfm_values(orders: pl.LazyFrame, as_of: date, window_days: int) -> pl.LazyFrame:
    return (
        orders_in_window(orders, as_of, window_days)
        .group_by("customer_key")
        .agg(
            pl.col("order_date").max().alias("last_order_date"),
            pl.len().cast(pl.Int32).alias("frequency"),
            # Rounded to cents: money is exact to the cent, float sums are not, and a last-bit
            # difference from summation order must not change a rank.
            pl.col("net_amount_eur").sum().round(2).cast(pl.Float64).alias("monetary_eur"),
        )
        .with_columns(
            (pl.lit(as_of) - pl.col("last_order_date")).dt.total_days().cast(pl.Int32).alias("recency_days")
        )
    )


def segment_expr(cfg: RfmSettings) -> pl.Expr:
    """The segment of a (recency_score, frequency_score) pair; the config guarantees one match."""
    r, f = pl.col("recency_score"), pl.col("frequency_score")
    expr = pl.when(r.is_null()).then(pl.lit(cfg.no_purchase_segment))
    for rule in cfg.segments:
        expr = expr.when(r.is_between(*rule.recency) & f.is_between(*rule.frequency)).then(pl.lit(rule.name))
    return expr.otherwise(pl.lit(None, pl.String))


def rfm_segments(
    customers: pl.LazyFrame, orders: pl.LazyFrame, as_of: date, cfg: RfmSettings
) -> pl.LazyFrame:
    """One row per customer known by `as_of` (first delivered on or before it), with scores and segment.

    `customers`: customer_key, first_loaded_date. `orders`: customer_key, order_date, loaded_date,
    is_completed, net_amount_eur (the columns of the dbt mart `fct_orders`).
    """
    known = customers.filter(pl.col("first_loaded_date") <= as_of).select("customer_key")
    values = rfm_values(orders, as_of, cfg.window_days)
    buyers = pl.col("frequency").count()
    scored = values.with_columns(
        quantile_score(-pl.col("recency_days"), buyers).alias("recency_score"),
        quantile_score(pl.col("frequency"), buyers).alias("frequency_score"),
        quantile_score(pl.col("monetary_eur"), buyers).alias("monetary_score"),
    )
    return (
        known.join(scored, on="customer_key", how="left")
        .with_columns(pl.lit(as_of).alias("as_of_date"), segment_expr(cfg).alias("segment"))
        .select(RFM_COLUMNS)
        .sort("customer_key")
    )


SCORE_NAMES = ("recency_score", "frequency_score", "monetary_score")


def threshold_score(value: pl.Expr, cuts: list[float], lower_is_better: bool = False) -> pl.Expr:
    """1..5 from four fixed cut points: for "higher is better", score = 1 + number of cuts <= value."""
    passed = pl.sum_horizontal(
        [(value <= cut if lower_is_better else value >= cut).cast(pl.Int8) for cut in cuts]
    )
    return (passed + 1).cast(pl.Int8)


def rfm_family(features: pl.LazyFrame, cfg: RfmSettings) -> pl.LazyFrame:
    """The RFM family in the common family shape, from the per-day features frame.

    Quantile scores are ranked within each as_of_date, so one frame may hold many days; with
    `rfm.scoring = "thresholds"` the fixed cut points of `rfm.thresholds` decide instead.
    """
    bought = pl.col("frequency") > 0
    recency = pl.when(bought).then(pl.col("days_since_last_order"))
    values = (recency, pl.col("frequency"), pl.col("monetary_eur"))
    if cfg.scoring == "thresholds" and cfg.thresholds is not None:
        cuts = (cfg.thresholds.recency_days, cfg.thresholds.frequency, cfg.thresholds.monetary_eur)
        fewer_is_better = (True, False, False)  # recency counts days since the last order
        scores = [
            pl.when(bought).then(threshold_score(value, cut, lower))
            for value, cut, lower in zip(values, cuts, fewer_is_better, strict=True)
        ]
    else:
        buyers = bought.sum().over("as_of_date")
        goodness = (-recency, values[1], values[2])
        scores = [
            (((pl.when(bought).then(g).rank(method="min").over("as_of_date") - 1) * SCORE_BINS) // buyers + 1)
            for g in goodness
        ]
    return features.select(
        "customer_key",
        "as_of_date",
        pl.lit("rfm").alias("family"),
        recency.cast(pl.Float64).alias("score"),
        *[score.cast(pl.Int8).alias(name) for score, name in zip(scores, SCORE_NAMES, strict=True)],
    ).with_columns(segment_expr(cfg).alias("segment"))
