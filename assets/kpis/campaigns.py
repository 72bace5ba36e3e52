"""Campaign performance per campaign × variant × RFM segment at exposure: engagement, conversion and ROI.

Input is one row per exposure (`assets.work_db.EXPOSURE_OUTCOMES`, shared with the experiments), so an
exposure, an open and a conversion mean the same thing here as in `experiment_results`. Engagement
(opened, clicked) counts every exposure delivered by the as-of day; conversion, attributed revenue and
ROI count only exposures whose conversion window has closed (`is_judged`), like the experiments, so a
campaign's numbers never drop as its windows run out.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from assets.kpis.rollups import ALL_SEGMENTS, safe_ratio

ALL_VARIANTS = "All variants"
KEY = ("campaign_id", "variant", "segment")
PERFORMANCE_COLUMNS = (
    "as_of_date", "campaign_id", "variant", "segment", "exposures", "opened", "clicked", "open_rate",
    "click_through_rate", "click_to_open_rate", "judged_exposures", "conversions", "conversion_rate",
    "attributed_orders", "attributed_revenue_eur", "cost_eur", "roi",
)  # fmt: skip
OUTCOME_SCHEMA = {
    "campaign_id": pl.String, "variant": pl.String, "customer_key": pl.String, "segment": pl.String,
    "is_judged": pl.Boolean, "converted": pl.Boolean, "attributed_orders": pl.Int64,
    "attributed_revenue_eur": pl.Float64, "opened": pl.Boolean, "clicked": pl.Boolean,
}  # fmt: skip


def _counts() -> list[pl.Expr]:
    judged = pl.col("is_judged")
    return [
        pl.len().cast(pl.Int64).alias("exposures"),
        pl.col("opened").sum().cast(pl.Int64).alias("opened"),
        pl.col("clicked").sum().cast(pl.Int64).alias("clicked"),
        judged.sum().cast(pl.Int64).alias("judged_exposures"),
        (pl.col("converted") & judged).sum().cast(pl.Int64).alias("conversions"),
        pl.col("attributed_orders").filter(judged).sum().cast(pl.Int64).alias("attributed_orders"),
        pl.col("attributed_revenue_eur")
        .filter(judged)
        .sum()
        .cast(pl.Float64)
        .alias("attributed_revenue_eur"),
    ]


def campaign_counts(outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """Counts per campaign for each variant and all variants, each RFM segment and all customers."""
    groupings = [
        outcomes.with_columns(variant.alias("variant"), segment.alias("segment"))
        for variant in (pl.col("variant"), pl.lit(ALL_VARIANTS))
        for segment in (pl.col("segment"), pl.lit(ALL_SEGMENTS))
    ]
    return pl.concat([frame.group_by(KEY).agg(_counts()) for frame in groupings])


def costs_frame(cost_eur: dict[str, float]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {"campaign_id": list(cost_eur), "campaign_cost_eur": list(cost_eur.values())},
        schema={"campaign_id": pl.String, "campaign_cost_eur": pl.Float64},
    )


def roi(revenue: pl.Expr, cost: pl.Expr, complete: pl.Expr) -> pl.Expr:
    """(revenue − cost) / cost; null without a positive cost or while attribution is still running."""
    return pl.when(complete).then(safe_ratio(revenue - cost, cost))


def campaign_performance(outcomes: pl.LazyFrame, as_of: date, cost_eur: dict[str, float]) -> pl.LazyFrame:
    """`outcomes`: one row per exposure with the `OUTCOME_SCHEMA` columns.

    A campaign's cost is spread over its rows in proportion to their exposures (the cost of a send
    is the same whoever receives it), so the `All variants` × `All customers` row carries the whole
    cost and the rows of one grouping add up to it.
    """
    counts = campaign_counts(outcomes)
    campaign_exposures = outcomes.group_by("campaign_id").agg(
        pl.len().cast(pl.Int64).alias("campaign_exposures")
    )
    return (
        counts.join(campaign_exposures, on="campaign_id", how="left")
        .join(costs_frame(cost_eur), on="campaign_id", how="left")
        .with_columns(
            pl.lit(as_of).alias("as_of_date"),
            safe_ratio(pl.col("opened"), pl.col("exposures")).alias("open_rate"),
            safe_ratio(pl.col("clicked"), pl.col("exposures")).alias("click_through_rate"),
            safe_ratio(pl.col("clicked"), pl.col("opened")).alias("click_to_open_rate"),
            safe_ratio(pl.col("conversions"), pl.col("judged_exposures")).alias("conversion_rate"),
            (pl.col("campaign_cost_eur") * pl.col("exposures") / pl.col("campaign_exposures")).alias(
                "cost_eur"
            ),
        )
        .with_columns(
            roi(
                pl.col("attributed_revenue_eur"),
                pl.col("cost_eur"),
                pl.col("judged_exposures") == pl.col("exposures"),
            ).alias("roi")
        )
        .select(PERFORMANCE_COLUMNS)
        .sort(KEY)
    )
