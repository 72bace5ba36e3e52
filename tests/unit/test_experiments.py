"""Experiment results against hand counts and Newcombe's published interval (Stat Med 1998, ex. a)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from assets.kpis.experiments import experiment_results
from orchestration.settings import get_settings

D = date(2026, 1, 31)


def outcomes(arms: dict[tuple[str, str], tuple[int, int]]) -> pl.LazyFrame:
    """(segment, variant) → (exposures, conversions), expanded to one row per exposure."""
    rows = []
    for (segment, variant), (exposed, converted) in arms.items():
        rows += [("cmp", variant, f"{segment}-{variant}-{i}", segment, i < converted) for i in range(exposed)]
    schema = {"campaign_id": pl.String, "variant": pl.String, "customer_key": pl.String, "segment": pl.String,
              "converted": pl.Boolean}  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row").lazy() if rows else pl.LazyFrame(schema=schema)


def test_uplift_interval_matches_newcombe_1998() -> None:
    # Newcombe (1998), example (a): 56/70 vs 48/80, difference 0.2, 95 % CI 0.0524 to 0.3339 (method 10).
    cfg = get_settings().experiments
    result = experiment_results(
        outcomes({("Loyal", "treatment"): (70, 56), ("Loyal", "control"): (80, 48)}), D, cfg
    )
    loyal = result.filter(pl.col("segment") == "Loyal").row(0, named=True)
    assert (loyal["variant_rate"], loyal["control_rate"]) == (0.8, 0.6)
    assert loyal["absolute_uplift"] == pytest.approx(0.2)
    assert loyal["relative_uplift"] == pytest.approx(1 / 3)
    assert loyal["uplift_ci_low"] == pytest.approx(0.0524, abs=5e-4)
    assert loyal["uplift_ci_high"] == pytest.approx(0.3339, abs=5e-4)
    assert 0 < loyal["p_value"] < 0.05 and loyal["sample_too_small"] is True  # 70 < 100 exposures per arm


def test_all_customers_row_sums_segments_and_small_or_empty_arms_are_flagged() -> None:
    cfg = get_settings().experiments
    arms = {
        ("Lost", "treatment"): (300, 30), ("Lost", "control"): (300, 15),
        ("New", "treatment"): (4, 0),  # no control arm at all in this segment
        ("Champions", "treatment"): (200, 0), ("Champions", "control"): (200, 0),
    }  # fmt: skip
    result = experiment_results(outcomes(arms), D, cfg)
    rows = {r["segment"]: r for r in result.to_dicts()}
    total = rows["All customers"]
    assert (total["variant_exposures"], total["variant_conversions"]) == (504, 30)
    assert (total["control_exposures"], total["control_conversions"]) == (500, 15)
    assert rows["Lost"]["sample_too_small"] is False and rows["Lost"]["absolute_uplift"] == pytest.approx(
        0.05
    )
    new = rows["New"]
    assert new["control_rate"] is None and new["absolute_uplift"] is None and new["p_value"] is None
    assert new["sample_too_small"] is True
    champions = rows["Champions"]  # 0 % vs 0 %: no uplift, no error
    assert champions["absolute_uplift"] == 0.0 and champions["relative_uplift"] is None
    assert champions["sample_too_small"] is True


def test_no_exposures_gives_no_rows() -> None:
    assert experiment_results(outcomes({}), D, get_settings().experiments).height == 0
