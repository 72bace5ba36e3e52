"""The one output shape every implementation of the single-day benchmark hands back.

For one as-of day D: per known customer the RFM values, scores and segment and the lifecycle
segment; per RFM segment (plus `All customers`) the KPI rollup of `assets/kpis/rollups.py`. Each
implementation keeps its native frames while it is timed and is converted to this shape afterwards,
so the conversion is never part of a measured time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

SEGMENT_SCHEMA: dict[str, pl.DataType] = {
    "customer_key": pl.String(),
    "recency_days": pl.Int32(),
    "frequency": pl.Int32(),
    "monetary_eur": pl.Float64(),
    "recency_score": pl.Int8(),
    "frequency_score": pl.Int8(),
    "monetary_score": pl.Int8(),
    "rfm_segment": pl.String(),
    "lifecycle": pl.String(),
}
KPI_SCHEMA: dict[str, pl.DataType] = {
    "segment": pl.String(),
    "customers": pl.Int64(),
    "visitors": pl.Int64(),
    "buyers": pl.Int64(),
    "visitors_who_bought": pl.Int64(),
    "orders": pl.Int64(),
    "revenue_eur": pl.Float64(),
    "conversion_rate": pl.Float64(),
    "customers_with_purchase": pl.Int64(),
    "churned_customers": pl.Int64(),
    "churn_rate": pl.Float64(),
    "revenue_per_customer_eur": pl.Float64(),
}
ALL_SEGMENTS = "All customers"
# The lifecycle names are definitions (assets/segments/behaviour.py), not results.
PROSPECT, CHURNED = "prospect", "churned"


@dataclass
class Answer:
    """One implementation's outputs for day D; columns an answer lacks are simply not compared."""

    segments: pl.DataFrame
    kpis: pl.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType], sort_by: str) -> pl.DataFrame:
    """Select and cast to the contract (only the columns the frame has), sorted for stable diffs."""
    present = [name for name in schema if name in frame.columns]
    return frame.select(pl.col(name).cast(schema[name]) for name in present).sort(sort_by)
