"""Campaign A/B results per campaign × variant × segment: uplift against control, with a 95 % CI.

Counting is polars; the statistics come from statsmodels (Newcombe's interval for the difference
of two independent proportions, and a score test for its p-value) rather than hand-rolled
formulas. The loop over comparisons runs over aggregated rows (campaigns × segments × variants,
tens to hundreds), never over customers.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from assets.kpis.rollups import ALL_SEGMENTS
from orchestration.settings import ExperimentSettings

RESULT_COLUMNS = (
    "as_of_date", "campaign_id", "segment", "variant", "control_exposures", "control_conversions",
    "control_rate", "variant_exposures", "variant_conversions", "variant_rate", "absolute_uplift",
    "uplift_ci_low", "uplift_ci_high", "relative_uplift", "p_value", "sample_too_small",
)  # fmt: skip


def arm_counts(outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """Exposures and conversions per campaign, segment and variant, plus the all-segment total."""
    counts = [
        outcomes.group_by("campaign_id", "segment", "variant"),
        outcomes.with_columns(pl.lit(ALL_SEGMENTS).alias("segment")).group_by(
            "campaign_id", "segment", "variant"
        ),
    ]
    return pl.concat(
        [
            group.agg(
                pl.len().cast(pl.Int64).alias("exposures"),
                pl.col("converted").sum().cast(pl.Int64).alias("conversions"),
            )
            for group in counts
        ]
    )


def _statistics(row: dict, cfg: ExperimentSettings) -> dict:
    n_variant, x_variant = row["variant_exposures"], row["variant_conversions"]
    n_control, x_control = row["control_exposures"], row["control_conversions"]
    too_small = (
        min(n_variant, n_control) < cfg.min_exposures_per_arm
        or min(x_variant, x_control) < cfg.min_conversions_per_arm
    )
    if n_variant == 0 or n_control == 0:
        return {"uplift_ci_low": None, "uplift_ci_high": None, "p_value": None, "sample_too_small": True}
    low, high = confint_proportions_2indep(
        x_variant,
        n_variant,
        x_control,
        n_control,
        method="newcomb",
        compare="diff",
        alpha=1 - cfg.confidence_level,
    )
    test = test_proportions_2indep(x_variant, n_variant, x_control, n_control, method="score", compare="diff")
    p_value = float(test.pvalue) if test.pvalue == test.pvalue else None  # NaN when both rates are 0 or 1
    return {
        "uplift_ci_low": float(low),
        "uplift_ci_high": float(high),
        "p_value": p_value,
        "sample_too_small": too_small,
    }


def experiment_results(outcomes: pl.LazyFrame, as_of: date, cfg: ExperimentSettings) -> pl.DataFrame:
    """`outcomes`: campaign_id, variant, customer_key, segment, converted (one row per exposure)."""
    arms = arm_counts(outcomes)
    control = arms.filter(pl.col("variant") == cfg.control_variant).select(
        "campaign_id", "segment",
        pl.col("exposures").alias("control_exposures"), pl.col("conversions").alias("control_conversions"),
    )  # fmt: skip
    compared = (
        arms.filter(pl.col("variant") != cfg.control_variant)
        .rename({"exposures": "variant_exposures", "conversions": "variant_conversions"})
        .join(control, on=["campaign_id", "segment"], how="left")
        .with_columns(pl.col("control_exposures", "control_conversions").fill_null(0))
        .sort("campaign_id", "segment", "variant")
        .collect()
    )
    stats = pl.DataFrame(
        [_statistics(row, cfg) for row in compared.iter_rows(named=True)],
        schema={"uplift_ci_low": pl.Float64, "uplift_ci_high": pl.Float64, "p_value": pl.Float64,
                "sample_too_small": pl.Boolean},
    )  # fmt: skip
    rate = lambda x, n: pl.when(pl.col(n) > 0).then(pl.col(x) / pl.col(n))  # noqa: E731
    return (
        pl.concat([compared, stats], how="horizontal")
        .with_columns(
            pl.lit(as_of).alias("as_of_date"),
            rate("control_conversions", "control_exposures").alias("control_rate"),
            rate("variant_conversions", "variant_exposures").alias("variant_rate"),
        )
        .with_columns(
            (pl.col("variant_rate") - pl.col("control_rate")).alias("absolute_uplift"),
            pl.when(pl.col("control_rate") > 0)
            .then(pl.col("variant_rate") / pl.col("control_rate") - 1)
            .alias("relative_uplift"),
        )
        .select(RESULT_COLUMNS)
    )
