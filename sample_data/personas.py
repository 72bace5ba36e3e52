"""Behavioural personas planted in the sample data, and their per-day propensities.

Every rate is a probability per customer per day (or per order / per email where noted), so the
same table drives a 50-customer test run and a million-customer load test. The mix below makes an
average customer place ~10 orders and produce ~50 events over 730 days, the rates of the M and L sizes.

| persona          | share | what the pipeline should be able to find                                  |
|------------------|-------|---------------------------------------------------------------------------|
| heavy_buyer      |  5 %  | frequent, high-value orders; app users; very engaged with email/surveys   |
| occasional       | 30 %  | a few orders a year, little engagement                                    |
| seasonal_holiday |  8 %  | orders almost only 20 Nov - 23 Dec (Black Friday, Christmas) and 6-14 Feb |
| discount_hunter  | 10 %  | most orders carry a 20-50 % discount; clicks campaigns and then buys      |
| window_shopper   | 12 %  | many browsing sessions with page/product views, almost never orders      |
| cart_abandoner   |  8 %  | frequent add_to_cart / checkout_started without an order that day        |
| churner          |  8 %  | active at the start of the window, nothing at all after `churn_date`      |
| won_back         |  5 %  | active, dormant >= 65 days, returns after clicking an email campaign      |
| new_customer     | 10 %  | signs up during the window; elevated order rate in the first week         |
| birthday_buyer   |  4 %  | orders in the week before (and 2 days after) their birthday               |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CATEGORIES = ("electronics", "fashion", "home", "beauty", "sports", "grocery", "eco_friendly", "toys")
ORDER_CHANNELS = ("web", "app", "store")


@dataclass(frozen=True)
class Persona:
    """Propensities of one persona; see the module docstring for the intent behind each."""

    name: str
    share: float
    order_rate: float  # per live day
    season_mult: float  # order-rate multiplier inside the holiday / Valentine's season
    bday_rate: float  # extra order probability per day in the birthday window
    browse_rate: float  # probability of a browsing session per live day
    views_mean: float  # mean number of page/product views per session
    abandon_rate: float  # probability per live day of a cart session without an order
    app_share: float  # share of customers of this persona who use the app
    channel_mix: tuple[float, float, float]  # order channel web/app/store for non-app users
    open_rate: float  # per email received
    click_rate: float  # per email opened
    click_conversion: float  # extra order probability spread over the 4 days after a click
    discount_prob: float  # share of orders with a discount
    discount_range: tuple[float, float]  # discount as a share of the amount
    basket_eur: float  # median order value in EUR
    basket_sigma: float  # log-normal spread of the order value
    categories: tuple[float, ...]  # weights over CATEGORIES
    survey_rate: float  # per order
    csat: tuple[float, float, float, float, float]  # distribution of scores 1..5
    social_rate: float  # per live day


_FLAT = (1, 1, 1, 1, 1, 1, 1, 1)
_HAPPY = (0.02, 0.03, 0.10, 0.35, 0.50)
_NEUTRAL = (0.05, 0.08, 0.20, 0.40, 0.27)
_GRUMPY = (0.12, 0.18, 0.30, 0.28, 0.12)

# One row per persona, columns in the order of the Persona fields:
# name, share, order_rate, season_mult, bday_rate, browse_rate, views_mean, abandon_rate, app_share,
# channel_mix, open_rate, click_rate, click_conversion, discount_prob, discount_range, basket_eur,
# basket_sigma, categories, survey_rate, csat, social_rate
# fmt: off
PERSONAS: tuple[Persona, ...] = (
    Persona("heavy_buyer",      0.05, 0.07,   1.3,  0.003, 0.012, 3.0, 0.006, 0.80, (0.50, 0.35, 0.15),
        0.55, 0.30, 0.30, 0.15, (0.05, 0.15), 95.0, 0.6, (3, 2, 2, 1, 2, 1, 1, 1),     0.20, _HAPPY,   0.008),
    Persona("occasional",       0.30, 0.008,  1.5,  0.003, 0.006, 2.0, 0.002, 0.25, (0.65, 0.15, 0.20),
        0.20, 0.10, 0.15, 0.10, (0.05, 0.15), 55.0, 0.6, _FLAT,                        0.08, _NEUTRAL, 0.002),
    Persona("seasonal_holiday", 0.08, 0.0008, 60.0, 0.003, 0.003, 3.0, 0.001, 0.30, (0.60, 0.20, 0.20),
        0.30, 0.15, 0.25, 0.15, (0.05, 0.20), 80.0, 0.7, (3, 2, 1, 2, 1, 0.3, 0.5, 4), 0.10, _NEUTRAL, 0.002),
    Persona("discount_hunter",  0.10, 0.010,  1.5,  0.003, 0.008, 3.0, 0.005, 0.35, (0.70, 0.25, 0.05),
        0.50, 0.35, 0.60, 0.85, (0.20, 0.50), 45.0, 0.5, (2, 2, 1, 2, 1, 2, 0.5, 1),   0.12, _GRUMPY,  0.004),
    Persona("window_shopper",   0.12, 0.0004, 1.2,  0.0,   0.025, 4.0, 0.003, 0.40, (0.70, 0.25, 0.05),
        0.30, 0.20, 0.02, 0.10, (0.05, 0.15), 40.0, 0.6, (2, 3, 2, 2, 1, 0.5, 1, 1),   0.05, _NEUTRAL, 0.006),
    Persona("cart_abandoner",   0.08, 0.005,  1.3,  0.003, 0.006, 3.0, 0.022, 0.35, (0.70, 0.30, 0.00),
        0.30, 0.12, 0.15, 0.15, (0.05, 0.15), 60.0, 0.6, (3, 2, 2, 1, 1, 0.5, 0.5, 1), 0.08, _NEUTRAL, 0.003),
    Persona("churner",          0.08, 0.035,  1.2,  0.003, 0.010, 3.0, 0.004, 0.40, (0.60, 0.30, 0.10),
        0.35, 0.15, 0.20, 0.10, (0.05, 0.15), 60.0, 0.6, _FLAT,                        0.12, _GRUMPY,  0.003),
    Persona("won_back",         0.05, 0.03,   1.2,  0.003, 0.008, 3.0, 0.004, 0.30, (0.60, 0.30, 0.10),
        0.30, 0.20, 0.50, 0.30, (0.10, 0.30), 60.0, 0.6, _FLAT,                        0.10, _NEUTRAL, 0.003),
    Persona("new_customer",     0.10, 0.012,  1.3,  0.003, 0.010, 3.0, 0.006, 0.35, (0.65, 0.30, 0.05),
        0.40, 0.20, 0.30, 0.25, (0.10, 0.20), 50.0, 0.6, _FLAT,                        0.15, _NEUTRAL, 0.004),
    Persona("birthday_buyer",   0.04, 0.004,  1.2,  0.18,  0.006, 2.0, 0.002, 0.30, (0.60, 0.25, 0.15),
        0.30, 0.15, 0.20, 0.10, (0.05, 0.15), 85.0, 0.6, (2, 3, 1, 4, 1, 0.3, 1, 1),   0.10, _HAPPY,   0.003),
)
# fmt: on

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
HEAVY, OCCASIONAL, SEASONAL, DISCOUNT, WINDOW, CART, CHURNER, WON_BACK, NEW, BIRTHDAY = range(len(PERSONAS))


class PersonaTable:
    """The persona table as arrays indexed by persona code, so per-customer lookups are one gather."""

    def __init__(self, personas: tuple[Persona, ...] = PERSONAS) -> None:
        def col(attr: str) -> np.ndarray:
            return np.array([getattr(p, attr) for p in personas], dtype=np.float64)

        self.share = col("share")
        self.order_rate = col("order_rate")
        self.season_mult = col("season_mult")
        self.bday_rate = col("bday_rate")
        self.browse_rate = col("browse_rate")
        self.views_mean = col("views_mean")
        self.abandon_rate = col("abandon_rate")
        self.app_share = col("app_share")
        self.open_rate = col("open_rate")
        self.click_rate = col("click_rate")
        self.click_conversion = col("click_conversion")
        self.discount_prob = col("discount_prob")
        self.basket_log = np.log(col("basket_eur"))
        self.basket_sigma = col("basket_sigma")
        self.survey_rate = col("survey_rate")
        self.social_rate = col("social_rate")
        self.discount_lo = np.array([p.discount_range[0] for p in personas])
        self.discount_hi = np.array([p.discount_range[1] for p in personas])
        self.channel_cum = _cumulative([p.channel_mix for p in personas])
        self.category_cum = _cumulative([p.categories for p in personas])
        self.csat_cum = _cumulative([p.csat for p in personas])


def _cumulative(rows: list[tuple[float, ...]]) -> np.ndarray:
    weights = np.array(rows, dtype=np.float64)
    return np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)


def pick(cum: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: row `rows[i]` of the cumulative table `cum`, uniform `u[i]`."""
    return np.minimum((u[:, None] >= cum[rows]).sum(axis=1), cum.shape[1] - 1).astype(np.int8)
