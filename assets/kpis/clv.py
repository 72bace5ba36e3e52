"""Customer lifetime value as of a day D: historical (realised margin) and predicted (BG/NBD + Gamma-Gamma).

The per-customer RFM summary is built with polars lazy expressions from the completed orders known by
the end of D. The models come from pymc-marketing (`BetaGeoModel`, `GammaGammaModel`, fitted by MAP;
with flat priors MAP is the maximum-likelihood fit of Fader, Hardie & Lee 2005). Only the small
per-customer summary crosses into pandas/numpy, at the model's edge. See docs/clv.md.

Time is measured in days. The BG/NBD "transactions" are purchase days: several orders on one day
count as one transaction whose value is the day's net revenue, as in the CDNOW data.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from assets.kpis.long_format import LONG_COLUMNS
from assets.kpis.rollups import ALL_SEGMENTS, safe_ratio

if TYPE_CHECKING:
    import pandas as pd

    from orchestration.settings import ClvSettings

logger = logging.getLogger(__name__)

# pymc-marketing counts a month as 30 days when it discounts daily data (`time_unit="D"`).
DAYS_PER_MONTH = 30
UNKNOWN_SEGMENT = "(unknown)"
BG_NBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")

SUMMARY_SCHEMA = {
    "customer_key": pl.String,
    "first_order_date": pl.Date,
    "last_order_date": pl.Date,
    "orders": pl.Int64,
    "frequency": pl.Int64,
    "recency_days": pl.Int64,
    "t_days": pl.Int64,
    "monetary_value_eur": pl.Float64,
    "net_revenue_eur": pl.Float64,
}
PREDICTION_COLUMNS = ("p_alive", "expected_purchases", "expected_spend_eur", "predicted_clv_eur")
CLV_COLUMNS = (
    "as_of_date",
    "customer_key",
    "rfm_segment",
    "lifecycle_segment",
    *(name for name in SUMMARY_SCHEMA if name != "customer_key"),
    "historical_clv_eur",
    *PREDICTION_COLUMNS,
    "predicted_at_risk",
)
# Segment-level CLV metrics in kpi_daily: metric → per-customer column averaged over the customers
# that have a value (numerator = sum, denominator = count of non-null values).
SEGMENT_METRICS = {
    "historical_clv_per_customer_eur": "historical_clv_eur",
    "predicted_clv_per_customer_eur": "predicted_clv_eur",
    "expected_purchases_per_customer": "expected_purchases",
    "p_alive_mean": "p_alive",
    "predicted_at_risk_share": "predicted_at_risk",
}


def rfm_summary(orders: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """One row per customer with a completed order known by the end of `as_of`.

    `orders`: completed orders with customer_key, order_date, loaded_date, net_amount_eur.
    frequency = repeat purchase days (purchase days after the first), recency_days = last - first
    purchase day, t_days = as_of - first purchase day, monetary_value_eur = mean net revenue of the
    repeat purchase days (null without repeats: the first purchase is excluded, as Gamma-Gamma requires).
    """
    purchase_days = (
        orders.filter(pl.col("loaded_date") <= as_of, pl.col("order_date") <= as_of)
        .group_by("customer_key", "order_date")
        .agg(pl.col("net_amount_eur").sum().alias("day_value"), pl.len().alias("day_orders"))
    )
    first_day = pl.col("order_date").min()
    return (
        purchase_days.group_by("customer_key")
        .agg(
            first_day.alias("first_order_date"),
            pl.col("order_date").max().alias("last_order_date"),
            pl.col("day_orders").sum().cast(pl.Int64).alias("orders"),
            (pl.len() - 1).cast(pl.Int64).alias("frequency"),
            pl.col("day_value").filter(pl.col("order_date") > first_day).sum().alias("repeat_value"),
            pl.col("day_value").sum().alias("net_revenue_eur"),
        )
        .with_columns(
            (pl.col("last_order_date") - pl.col("first_order_date")).dt.total_days().alias("recency_days"),
            (pl.lit(as_of) - pl.col("first_order_date")).dt.total_days().alias("t_days"),
            safe_ratio(pl.col("repeat_value"), pl.col("frequency")).alias("monetary_value_eur"),
        )
        .select([pl.col(name).cast(dtype) for name, dtype in SUMMARY_SCHEMA.items()])
    )


def historical_clv(margin_share: float) -> pl.Expr:
    """Realised margin to date: the configured margin share of the customer's net revenue."""
    return (pl.col("net_revenue_eur") * margin_share).alias("historical_clv_eur")


def predicted_at_risk(p_alive_threshold: float) -> pl.Expr:
    """A repeat buyer the BG/NBD model thinks has probably dropped out.

    One-time buyers have P(alive) = 1 by the model's construction (nobody can drop out before a
    repeat purchase), so they are never flagged here; lifecycle `at_risk` (recency) covers them.
    Null when the model could not be fitted.
    """
    return (
        pl.when(pl.col("p_alive").is_null())
        .then(None)
        .otherwise((pl.col("frequency") > 0) & (pl.col("p_alive") < p_alive_threshold))
        .alias("predicted_at_risk")
    )


@dataclass
class ClvFit:
    """Fitted models (None when there was too little data) and what to report about the fit."""

    transactions: object | None = None  # pymc_marketing.clv.BetaGeoModel
    spend: object | None = None  # pymc_marketing.clv.GammaGammaModel
    parameters: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = 0.0
    skipped_reason: str | None = None


def _model_frame(summary: pl.DataFrame) -> pd.DataFrame:
    """The summary in pymc-marketing's column names; the row number is the customer id (cheap coords)."""
    return summary.select(
        pl.int_range(pl.len()).alias("customer_id"),
        pl.col("frequency").cast(pl.Float64),
        pl.col("recency_days").cast(pl.Float64).alias("recency"),
        pl.col("t_days").cast(pl.Float64).alias("T"),
        pl.col("monetary_value_eur").fill_null(0.0).alias("monetary_value"),
    ).to_pandas()


def _point(model: object, name: str) -> float:
    # A MAP fit has one chain with one draw; the mean is that point (and the posterior mean under MCMC).
    return float(model.fit_result[name].mean().item())  # type: ignore[attr-defined]


def fit_bg_nbd(data: pd.DataFrame, priors: str) -> object:
    """BG/NBD on columns customer_id, frequency, recency, T; flat priors make MAP the MLE."""
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel

    # Priors on a and b themselves (not the library's default phi/kappa pooling): the paper's parametrisation.
    config = {name: Prior("HalfFlat") for name in BG_NBD_PARAMETERS} if priors == "flat" else None
    model = BetaGeoModel(model_config=config)
    model.fit(data[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False)
    return model


def fit_gamma_gamma(data: pd.DataFrame) -> object:
    """Gamma-Gamma on repeat customers: columns customer_id, frequency, monetary_value (mean repeat spend)."""
    from pymc_marketing.clv import GammaGammaModel

    # The library's default priors for p, q, v are already flat, so MAP is the MLE of Fader & Hardie 2013.
    model = GammaGammaModel()
    model.fit(data[["customer_id", "frequency", "monetary_value"]], method="map", progressbar=False)
    return model


def fit_models(summary: pl.DataFrame, settings: ClvSettings) -> ClvFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on repeaters with positive spend, if there are enough."""
    repeaters = summary.filter(pl.col("frequency") > 0, pl.col("monetary_value_eur") > 0).height
    if repeaters < settings.min_repeat_customers:
        return ClvFit(
            skipped_reason=f"{repeaters} repeat customers < clv.min_repeat_customers "
            f"({settings.min_repeat_customers}): predictions are null"
        )
    started = time.perf_counter()
    data = _model_frame(summary)
    transactions = fit_bg_nbd(data, settings.priors)
    spend = fit_gamma_gamma(data[(data["frequency"] > 0) & (data["monetary_value"] > 0)])
    parameters = {name: _point(transactions, name) for name in BG_NBD_PARAMETERS}
    parameters |= {name: _point(spend, name) for name in GAMMA_GAMMA_PARAMETERS}
    fit = ClvFit(transactions, spend, parameters, time.perf_counter() - started)
    if not all(np.isfinite(v) and v > 0 for v in parameters.values()):
        fit.transactions = fit.spend = None
        fit.skipped_reason = f"fit did not converge to positive finite parameters: {parameters}"
    elif parameters["q"] <= 1:
        # The population mean spend p*v/(q-1) does not exist: spend and CLV stay null, P(alive) is kept.
        fit.spend = None
        fit.skipped_reason = f"Gamma-Gamma q = {parameters['q']:.3f} <= 1: mean spend undefined"
    return fit


def _per_customer(values: object) -> np.ndarray:
    # Library predictions are xarray (chain, draw, customer_id); average the draws (one under MAP).
    return np.asarray(values.mean(("chain", "draw")).values, dtype=np.float64)  # type: ignore[attr-defined]


def predict(summary: pl.DataFrame, fit: ClvFit, settings: ClvSettings) -> pl.DataFrame:
    """Add p_alive, expected_purchases (over the horizon), expected_spend_eur and predicted_clv_eur.

    predicted_clv_eur = margin share x discounted expected revenue over `horizon_months`
    (pymc-marketing's `customer_lifetime_value`, monthly discounting). Null where the model was not fitted.
    """
    n = summary.height
    columns = dict.fromkeys(PREDICTION_COLUMNS, np.full(n, np.nan))
    if fit.transactions is not None and n:
        from pymc_marketing.clv.utils import customer_lifetime_value

        data = _model_frame(summary)
        model = fit.transactions
        columns["p_alive"] = _per_customer(model.expected_probability_alive(data))  # type: ignore[attr-defined]
        columns["expected_purchases"] = _per_customer(
            model.expected_purchases(data, future_t=settings.horizon_months * DAYS_PER_MONTH)  # type: ignore[attr-defined]
        )
        if fit.spend is not None:
            # Customers without repeats get the population mean (their individual weight is 0).
            spend = _per_customer(fit.spend.expected_customer_spend(data))  # type: ignore[attr-defined]
            revenue = customer_lifetime_value(
                model,
                data.assign(future_spend=spend),
                future_t=settings.horizon_months,
                discount_rate=settings.monthly_discount_rate,
                time_unit="D",
            )
            columns["expected_spend_eur"] = spend
            columns["predicted_clv_eur"] = _per_customer(revenue) * settings.margin_share
    predictions = pl.DataFrame(
        {name: pl.Series(name, values, pl.Float64) for name, values in columns.items()}
    )
    # NaN (not fitted, or a numerically undefined prediction) becomes a clear null.
    return pl.concat([summary, predictions.fill_nan(None)], how="horizontal")


def customer_clv(
    orders: pl.LazyFrame, segments: pl.LazyFrame, as_of: date, settings: ClvSettings
) -> tuple[pl.DataFrame, ClvFit]:
    """The `clv_customer` rows for `as_of` and the fit behind them.

    `segments`: customer_key, segment (RFM), lifecycle on `as_of` (from segment_history).
    """
    summary = rfm_summary(orders, as_of).sort("customer_key").collect()
    fit = fit_models(summary, settings)
    scored = predict(summary, fit, settings)
    rows = (
        scored.lazy()
        .join(
            segments.select(
                "customer_key",
                pl.col("segment").alias("rfm_segment"),
                pl.col("lifecycle").alias("lifecycle_segment"),
            ),
            on="customer_key",
            how="left",
        )
        .with_columns(
            pl.lit(as_of, pl.Date).alias("as_of_date"),
            historical_clv(settings.margin_share),
            predicted_at_risk(settings.p_alive_threshold),
        )
        .select(CLV_COLUMNS)
        .sort("customer_key")
        .collect()
    )
    return rows, fit


def segment_clv_kpis(customers: pl.LazyFrame, window_days: int) -> pl.LazyFrame:
    """Per RFM segment (and 'All customers'): CLV metrics in kpi_daily's long format.

    value = numerator / denominator, numerator = sum of the metric's column over the segment's
    customers that have a value, denominator = how many have one; null when none has.
    """
    keyed = customers.with_columns(pl.col("rfm_segment").fill_null(UNKNOWN_SEGMENT).alias("segment"))
    everyone = keyed.with_columns(pl.lit(ALL_SEGMENTS).alias("segment"))
    sums = pl.concat([keyed, everyone]).group_by("as_of_date", "segment")
    aggregated = sums.agg(
        *[pl.col(c).cast(pl.Float64).sum().alias(f"{m}__n") for m, c in SEGMENT_METRICS.items()],
        *[pl.col(c).count().cast(pl.Float64).alias(f"{m}__d") for m, c in SEGMENT_METRICS.items()],
    )
    rows = [
        aggregated.select(
            "as_of_date",
            "segment",
            pl.lit(window_days, pl.Int16).alias("window_days"),
            pl.lit(metric).alias("metric"),
            safe_ratio(pl.col(f"{metric}__n"), pl.col(f"{metric}__d")).cast(pl.Float64).alias("value"),
            pl.col(f"{metric}__n").alias("numerator"),
            pl.col(f"{metric}__d").alias("denominator"),
        )
        for metric in SEGMENT_METRICS
    ]
    return pl.concat(rows).select(LONG_COLUMNS).sort("as_of_date", "segment", "metric")
