"""Campaign performance (opens, clicks, conversions, revenue, ROI) against hand counts."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from pydantic import ValidationError

from assets.kpis.campaigns import ALL_VARIANTS, OUTCOME_SCHEMA, campaign_performance
from assets.kpis.rollups import ALL_SEGMENTS
from orchestration.settings import CampaignSettings

D = date(2026, 1, 31)
ALL = ALL_SEGMENTS


def exposure(
    campaign: str,
    variant: str,
    segment: str,
    *,
    opened: bool = False,
    clicked: bool = False,
    judged: bool = True,
    orders: int = 0,
    revenue: float = 0.0,
) -> dict[str, object]:
    return {
        "campaign_id": campaign, "variant": variant, "customer_key": None, "segment": segment,
        "is_judged": judged, "converted": orders > 0, "attributed_orders": orders,
        "attributed_revenue_eur": revenue, "opened": opened, "clicked": clicked,
    }  # fmt: skip


def performance(rows: list[dict[str, object]], costs: dict[str, float]) -> dict[tuple, dict]:
    frame = campaign_performance(pl.LazyFrame(rows, schema=OUTCOME_SCHEMA), D, costs).collect()
    return {(r["campaign_id"], r["variant"], r["segment"]): r for r in frame.to_dicts()}


ROWS = [
    # cmp, control, Loyal: 4 sends, 2 opened, 1 clicked, 1 converted with 2 orders worth 60
    exposure("cmp", "control", "Loyal", opened=True, clicked=True, orders=2, revenue=60.0),
    exposure("cmp", "control", "Loyal", opened=True),
    exposure("cmp", "control", "Loyal"),
    exposure("cmp", "control", "Loyal"),
    # cmp, treatment, Loyal: 4 sends, 3 opened, 2 clicked, 2 converted worth 50 + 40
    exposure("cmp", "treatment", "Loyal", opened=True, clicked=True, orders=1, revenue=50.0),
    exposure("cmp", "treatment", "Loyal", opened=True, clicked=True, orders=1, revenue=40.0),
    exposure("cmp", "treatment", "Loyal", opened=True),
    exposure("cmp", "treatment", "Loyal"),
    # cmp, treatment, Lost: one judged send, one whose window is still open (its order does not count yet)
    exposure("cmp", "treatment", "Lost"),
    exposure("cmp", "treatment", "Lost", judged=False, orders=1, revenue=30.0),
    # a campaign without a configured cost
    exposure("free", "control", "New", orders=1, revenue=10.0),
    # a campaign with a cost whose only send is still in its window
    exposure("fresh", "control", "New", opened=True, judged=False),
]
COSTS = {"cmp": 100.0, "fresh": 50.0, "not_sent": 70.0}


def test_rates_conversions_and_roi_by_hand() -> None:
    rows = performance(ROWS, COSTS)
    total = rows[("cmp", ALL_VARIANTS, ALL)]
    assert (total["exposures"], total["opened"], total["clicked"]) == (10, 5, 3)
    assert (total["open_rate"], total["click_through_rate"], total["click_to_open_rate"]) == (0.5, 0.3, 0.6)
    assert (total["judged_exposures"], total["conversions"], total["attributed_orders"]) == (9, 3, 4)
    assert total["conversion_rate"] == 3 / 9 and total["attributed_revenue_eur"] == 150.0
    assert total["cost_eur"] == 100.0 and total["roi"] is None  # one window still open

    control = rows[("cmp", "control", ALL)]
    assert (control["cost_eur"], control["attributed_revenue_eur"]) == (40.0, 60.0)  # 4 of 10 sends
    assert control["roi"] == 0.5  # (60 - 40) / 40
    treated_loyal = rows[("cmp", "treatment", "Loyal")]
    assert (treated_loyal["open_rate"], treated_loyal["click_through_rate"]) == (0.75, 0.5)
    assert treated_loyal["click_to_open_rate"] == 2 / 3
    assert treated_loyal["roi"] == 1.25  # (90 - 40) / 40
    loyal = rows[("cmp", ALL_VARIANTS, "Loyal")]
    assert (loyal["exposures"], loyal["cost_eur"], loyal["roi"]) == (8, 80.0, 0.875)  # (150 - 80) / 80

    lost = rows[("cmp", "treatment", "Lost")]
    assert lost["opened"] == 0 and lost["click_to_open_rate"] is None  # nobody opened → null
    assert (lost["judged_exposures"], lost["conversions"], lost["conversion_rate"]) == (1, 0, 0.0)
    assert lost["cost_eur"] == 20.0 and lost["roi"] is None


def test_costs_add_up_and_missing_costs_or_open_windows_give_null() -> None:
    rows = performance(ROWS, COSTS)
    by_variant = [
        r["cost_eur"] for (c, v, s), r in rows.items() if c == "cmp" and s == ALL and v != ALL_VARIANTS
    ]
    by_segment = [
        r["cost_eur"] for (c, v, s), r in rows.items() if c == "cmp" and v == ALL_VARIANTS and s != ALL
    ]
    assert sum(by_variant) == pytest.approx(100.0) and sum(by_segment) == pytest.approx(100.0)

    free = rows[("free", ALL_VARIANTS, ALL)]
    assert free["cost_eur"] is None and free["roi"] is None and free["attributed_revenue_eur"] == 10.0
    fresh = rows[("fresh", ALL_VARIANTS, ALL)]
    assert (fresh["judged_exposures"], fresh["conversion_rate"]) == (0, None)  # zero denominator → null
    assert (fresh["open_rate"], fresh["cost_eur"], fresh["roi"]) == (1.0, 50.0, None)
    assert not any(c == "not_sent" for c, _, _ in rows)  # a cost alone makes no row
    assert len(rows) == 8 + 4 + 4  # cmp: only the combinations that had sends; free and fresh: 4 each


def test_zero_cost_gives_null_roi_and_no_exposures_give_no_rows() -> None:
    rows = performance([exposure("cmp", "control", "Loyal", revenue=5.0, orders=1)], {"cmp": 0.0})
    assert rows[("cmp", ALL_VARIANTS, ALL)]["roi"] is None
    assert performance([], COSTS) == {}


def test_campaign_costs_must_not_be_negative() -> None:
    with pytest.raises(ValidationError, match=r"campaigns.cost_eur.*\['bad'\]"):
        CampaignSettings(cost_eur={"good": 1.0, "bad": -5.0})
