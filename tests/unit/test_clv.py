"""Customer lifetime value: RFM summary and historical CLV by hand, null cases, the published CDNOW fits."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import metadata

import numpy as np
import pandas as pd
import polars as pl
import pytest

from assets.kpis.clv import (
    CLV_COLUMNS,
    PREDICTION_COLUMNS,
    customer_clv,
    fit_bg_nbd,
    fit_gamma_gamma,
    predicted_at_risk,
    rfm_summary,
    segment_clv_kpis,
)
from assets.kpis.long_format import LONG_COLUMNS
from assets.kpis.rollups import ALL_SEGMENTS
from orchestration.settings import ClvSettings

AS_OF = date(2025, 3, 31)
ORDER_SCHEMA = {
    "customer_key": pl.String,
    "order_date": pl.Date,
    "loaded_date": pl.Date,
    "net_amount_eur": pl.Float64,
}
SETTINGS = ClvSettings(
    horizon_months=12,
    margin_share=0.3,
    monthly_discount_rate=0.01,
    p_alive_threshold=0.5,
    priors="flat",
    min_repeat_customers=30,
)


def orders(rows: list[tuple[str, date, date, float]]) -> pl.LazyFrame:
    return pl.DataFrame(rows, schema=ORDER_SCHEMA, orient="row").lazy()


FIVE_ORDERS = orders(
    [
        ("a", date(2025, 1, 1), date(2025, 1, 1), 10.0),
        ("a", date(2025, 1, 1), date(2025, 1, 2), 5.0),  # same purchase day, delivered late: one transaction
        ("a", date(2025, 1, 31), date(2025, 1, 31), 40.0),
        ("b", date(2025, 3, 1), date(2025, 3, 1), 25.0),
        ("b", date(2025, 3, 30), date(2025, 4, 2), 12.0),  # delivered after D: not known on D
    ]
)
SEGMENTS = pl.LazyFrame(
    {"customer_key": ["a", "b"], "segment": ["Loyal", "New Customers"], "lifecycle": ["active", "active"]}
)


def test_rfm_summary_by_hand() -> None:
    summary = rfm_summary(FIVE_ORDERS, AS_OF).sort("customer_key").collect()
    # a: purchase days 1 Jan (15) and 31 Jan (40) → 1 repeat day, recency 30 days, T = 1 Jan → 31 Mar = 89,
    #    monetary = mean repeat-day value = 40. b: one known purchase day, T = 1 Mar → 31 Mar = 30.
    assert summary.select(
        "customer_key",
        "orders",
        "frequency",
        "recency_days",
        "t_days",
        "monetary_value_eur",
        "net_revenue_eur",
    ).rows() == [("a", 3, 1, 30, 89, 40.0, 55.0), ("b", 1, 0, 0, 30, None, 25.0)]


def test_historical_clv_by_hand_and_too_few_repeaters_give_null_predictions() -> None:
    rows, fit = customer_clv(FIVE_ORDERS, SEGMENTS, AS_OF, SETTINGS)
    assert rows.columns == list(CLV_COLUMNS)
    assert fit.transactions is None and "min_repeat_customers" in (fit.skipped_reason or "")
    assert rows.select("customer_key", "rfm_segment", "historical_clv_eur").rows() == [
        ("a", "Loyal", pytest.approx(0.3 * 55.0)),
        ("b", "New Customers", pytest.approx(0.3 * 25.0)),
    ]
    assert rows.select(*PREDICTION_COLUMNS, "predicted_at_risk").null_count().row(0) == (2, 2, 2, 2, 2)


def test_empty_input_gives_empty_tables() -> None:
    rows, fit = customer_clv(orders([]), SEGMENTS.clear(), AS_OF, SETTINGS)
    assert rows.height == 0 and rows.columns == list(CLV_COLUMNS)
    assert fit.skipped_reason
    kpis = segment_clv_kpis(rows.lazy(), SETTINGS.horizon_days).collect()
    assert kpis.height == 0 and kpis.columns == list(LONG_COLUMNS)


def test_no_repeat_customers_give_null_not_a_crash() -> None:
    one_timers = orders([(f"c{i}", date(2025, 1, 1 + i), date(2025, 1, 1 + i), 10.0) for i in range(20)])
    rows, fit = customer_clv(
        one_timers, SEGMENTS.clear(), AS_OF, SETTINGS.model_copy(update={"min_repeat_customers": 1})
    )
    assert fit.transactions is None and rows.height == 20
    assert rows["p_alive"].null_count() == 20 and rows["rfm_segment"].null_count() == 20
    kpis = segment_clv_kpis(rows.lazy(), SETTINGS.horizon_days).collect()
    predicted = kpis.filter(
        pl.col("metric") == "predicted_clv_per_customer_eur", pl.col("segment") == ALL_SEGMENTS
    )
    assert predicted.select("value", "numerator", "denominator").row(0) == (None, 0.0, 0.0)
    historical = kpis.filter(
        pl.col("metric") == "historical_clv_per_customer_eur", pl.col("segment") == ALL_SEGMENTS
    )
    assert historical.select("value", "numerator", "denominator").row(0) == pytest.approx((3.0, 60.0, 20.0))


def test_segment_kpis_are_ratios_of_sums_with_customers_as_denominator() -> None:
    customers = pl.LazyFrame(
        {
            "as_of_date": [AS_OF] * 3,
            "rfm_segment": ["Loyal", "Loyal", None],
            "historical_clv_eur": [10.0, 20.0, 3.0],
            "predicted_clv_eur": [5.0, None, 1.0],
            "expected_purchases": [2.0, None, 0.5],
            "p_alive": [0.9, None, 0.2],
            "predicted_at_risk": [False, None, True],
        }
    )
    kpis = segment_clv_kpis(customers, 360).collect()
    assert set(kpis["window_days"]) == {360}

    def row(segment: str, metric: str) -> tuple[float | None, float, float]:
        found = kpis.filter(pl.col("segment") == segment, pl.col("metric") == metric)
        return found.select("value", "numerator", "denominator").row(0)

    assert row("Loyal", "historical_clv_per_customer_eur") == (15.0, 30.0, 2.0)
    assert row("Loyal", "predicted_clv_per_customer_eur") == (5.0, 5.0, 1.0)  # only customers with a value
    assert row("(unknown)", "predicted_at_risk_share") == (1.0, 1.0, 1.0)
    assert row(ALL_SEGMENTS, "p_alive_mean") == pytest.approx((0.55, 1.1, 2.0))


def test_predicted_at_risk_flags_only_repeat_buyers_below_the_threshold() -> None:
    frame = pl.DataFrame({"frequency": [0, 3, 3, 3], "p_alive": [1.0, 0.2, 0.8, None]})
    assert frame.select(predicted_at_risk(0.5))["predicted_at_risk"].to_list() == [False, True, False, None]


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """CDNOW sample (2,357 customers, weeks) as shipped inside the `lifetimes` wheel; read as data only."""
    shipped = next(
        f
        for f in metadata.files("lifetimes") or []
        if f.name == "cdnow_customers_summary_with_transactions.csv"
    )
    raw = pd.read_csv(shipped.locate())
    return pd.DataFrame(
        {
            "customer_id": np.arange(len(raw)),
            "frequency": raw["x"].astype(float),
            "recency": raw["t_x"],
            "T": raw["T"],
            "monetary_value": raw["zbar"],
        }
    )


def test_bg_nbd_reproduces_fader_hardie_lee_2005_on_cdnow(cdnow: pd.DataFrame) -> None:
    model = fit_bg_nbd(cdnow, "flat")
    fitted = {name: float(model.fit_result[name].mean()) for name in ("r", "alpha", "a", "b")}
    # Published (FHL 2005, Marketing Science 24(2)): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426.
    # Tolerance: half a unit of the last printed digit, i.e. the fit rounds to the published numbers.
    assert fitted == pytest.approx({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, abs=5e-4)
    # The paper's worked example: x = 2, t_x = 30.43, T = 38.86 → 1.226 expected purchases in 39 weeks.
    example = pd.DataFrame({"customer_id": [0], "frequency": [2.0], "recency": [30.43], "T": [38.86]})
    expected = float(model.expected_purchases(example, future_t=39).mean())
    assert expected == pytest.approx(1.226, abs=5e-4)
    p_alive = model.expected_probability_alive(cdnow).values
    assert np.all((p_alive >= 0) & (p_alive <= 1))


def test_gamma_gamma_reproduces_fader_hardie_2013_on_cdnow(cdnow: pd.DataFrame) -> None:
    model = fit_gamma_gamma(cdnow[cdnow["frequency"] > 0])
    fitted = {name: float(model.fit_result[name].mean()) for name in ("p", "q", "v")}
    # Published ("The Gamma-Gamma Model of Monetary Value", 2013): p = 6.25, q = 3.74, gamma (v) = 15.44,
    # printed to two decimals. Tolerance 0.2 % relative: two-decimal rounding alone allows up to 0.13 % on q.
    assert fitted == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, rel=2e-3)


def test_published_columns_follow_the_frame() -> None:
    from assets.publish.tables import CLV_CUSTOMER

    assert tuple(CLV_CUSTOMER.columns) == CLV_COLUMNS


def test_fitted_predictions_are_bounded_and_one_time_buyers_get_the_population_spend() -> None:
    """A small synthetic shop (generated here, seeded): the fitted path end to end, checked for sanity."""
    rng = np.random.default_rng(7)
    customers = 400
    first = rng.integers(0, 300, customers)
    gaps = rng.exponential(40.0, (customers, 6)).astype(int) + 1
    days = first[:, None] + np.cumsum(np.hstack([np.zeros((customers, 1), int), gaps]), axis=1)
    keep = rng.integers(1, 7, customers)[:, None] > np.arange(7)[None, :]  # 1..6 purchase days each
    key, step = np.nonzero(keep & (days < 365))
    start = date(2024, 4, 1)
    frame = pl.DataFrame(
        {
            "customer_key": [f"c{k:03d}" for k in key],
            "order_date": [start + timedelta(days=int(d)) for d in days[key, step]],
            "net_amount_eur": rng.gamma(4.0, 10.0, key.size),
        }
    ).with_columns(pl.col("order_date").alias("loaded_date"))
    rows, fit = customer_clv(frame.lazy(), SEGMENTS.clear(), date(2025, 3, 31), SETTINGS)
    assert fit.transactions is not None and fit.spend is not None, fit.skipped_reason
    assert rows.select(*PREDICTION_COLUMNS).null_count().row(0) == (0, 0, 0, 0)
    assert rows["p_alive"].is_between(0, 1).all()
    assert (rows["expected_purchases"] >= 0).all() and (rows["predicted_clv_eur"] >= 0).all()
    one_timers = rows.filter(pl.col("frequency") == 0)
    assert one_timers.height and (one_timers["p_alive"] == 1).all()
    p, q, v = (fit.parameters[name] for name in ("p", "q", "v"))
    assert one_timers["expected_spend_eur"].to_list() == pytest.approx([p * v / (q - 1)] * one_timers.height)
