"""One simulated day of shop activity: orders, browsing sessions, abandoned carts, email, surveys, social.

`DaySimulator.simulate(d)` draws everything that *happens* on day d as numpy arrays (timestamps in UTC
milliseconds). Some of it lands on later UTC days (an email opened the next morning, a survey answered
two days after the order); the writer routes every record to the file of the day it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from sample_data.calendar import (
    DAY_MS,
    EUR_PER_UNIT,
    HOURLY_CUM,
    Campaign,
    birthday_window_keys,
    black_friday,
    browse_factor,
    demand_factor,
    epoch_day,
    in_gift_season,
    tz_offsets_minutes,
)
from sample_data.personas import CATEGORIES, CHURNER, NEW, WON_BACK, PersonaTable, pick
from sample_data.population import Population

EVENT_TYPES = (
    "page_view",
    "product_view",
    "add_to_cart",
    "checkout_started",
    "app_open",
    "email_sent",
    "email_open",
    "email_click",
    "social_interaction",
    "survey_response",
)
PAGE, PRODUCT, CART, CHECKOUT, APP_OPEN, SENT, OPEN, CLICK, SOCIAL, SURVEY = range(len(EVENT_TYPES))
EVENT_CHANNELS = ("web", "app", "email", "social")
WEB, APP, EMAIL, SOCIAL_CH = range(len(EVENT_CHANNELS))
STATUSES = ("placed", "shipped", "delivered", "cancelled", "refunded")
_STATUS_CUM = np.cumsum([0.62, 0.22, 0.06, 0.06, 0.04])
VARIANTS = ("control", "treatment")
PRE_ORDER_SESSION_SHARE = 0.7
APP_OPEN_SHARE = 0.5  # app sessions that start with an explicit app_open
TREATMENT_LIFT = 1.2  # the treatment variant opens, clicks and converts ~20% more
CLICK_EFFECT_DAYS = 4
NEW_CUSTOMER_FIRST_WEEK_RATE = 0.06

Batch = dict[str, np.ndarray]

_EVENT_KEYS = ("cust", "ts", "etype", "channel", "category", "campaign", "variant", "csat")


def empty_events() -> Batch:
    return {k: np.zeros(0, dtype=np.int64) for k in _EVENT_KEYS}


def concat_batches(batches: list[Batch]) -> Batch:
    if not batches:
        return empty_events()
    return {k: np.concatenate([b[k].astype(np.int64) for b in batches]) for k in batches[0]}


def _events(
    cust: np.ndarray,
    ts: np.ndarray,
    etype: np.ndarray | int,
    channel: np.ndarray | int,
    category: np.ndarray | int = -1,
    campaign: np.ndarray | int = -1,
    variant: np.ndarray | int = -1,
    csat: np.ndarray | int = 0,
) -> Batch:
    n = cust.shape[0]
    cols = (cust, ts, etype, channel, category, campaign, variant, csat)
    return {
        k: np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy()
        for k, v in zip(_EVENT_KEYS, cols, strict=True)
    }


@dataclass
class Session:
    """Relative layout of a batch of sessions: which session each event belongs to and when."""

    owner: np.ndarray  # session index of each event
    offset_ms: np.ndarray  # ms since the session's first event
    etype: np.ndarray
    category: np.ndarray
    duration_ms: np.ndarray  # per session


class DaySimulator:
    """Holds the population and the few pieces of state that carry across days (recent email clicks)."""

    def __init__(
        self,
        rng: np.random.Generator,
        pop: Population,
        table: PersonaTable,
        start: date,
        campaigns: list[Campaign],
    ) -> None:
        self.rng = rng
        self.pop = pop
        self.table = table
        self.start = start
        self.campaigns = {(c.send_day - start).days: (i, c) for i, c in enumerate(campaigns)}
        self.last_click_day = np.full(pop.size, -10_000, dtype=np.int32)
        self.click_boost = np.zeros(pop.size, dtype=np.float64)
        self.forced_order_day = np.stack(
            [pop.churn_day - 1, pop.dormant_day - 1, pop.comeback_order_day]
        )  # the last order before churn / dormancy, and the comeback order

    # ------------------------------------------------------------------ the day
    def simulate(self, d: int) -> tuple[Batch, Batch]:
        """(orders, events) that happen on day index d."""
        day = self.start + timedelta(days=d)
        offsets_ms = tz_offsets_minutes(day).astype(np.int64)[self.pop.tz_group] * 60_000
        day_ms = epoch_day(day) * DAY_MS
        live = self._live(d)
        orders = self._orders(d, day, live, offsets_ms, day_ms)
        batches = [
            self._pre_order_sessions(orders),
            self._browsing(day, live, offsets_ms, day_ms),
            self._abandoned_carts(day, live, orders["cust"], offsets_ms, day_ms),
            self._social(live, day_ms),
            self._surveys(d, orders),
        ]
        if d in self.campaigns:
            batches.append(self._campaign(d, day_ms))
        return orders, concat_batches(batches)

    def _live(self, d: int) -> np.ndarray:
        """Customers who exist and are not (yet / currently) silent."""
        pop = self.pop
        return (
            (pop.signup_day <= d) & (d < pop.churn_day) & ~((pop.dormant_day <= d) & (d < pop.comeback_day))
        )

    def _utc_times(self, cust: np.ndarray, offsets_ms: np.ndarray, day_ms: int) -> np.ndarray:
        """Local time of day with an evening peak, as a UTC instant inside the UTC day."""
        hour = np.searchsorted(HOURLY_CUM, self.rng.random(cust.shape[0]), side="right")
        local = np.minimum(hour, 23) * 3_600_000 + self.rng.integers(0, 3_600, cust.shape[0]) * 1000
        return day_ms + (local - offsets_ms[cust]) % DAY_MS

    # ------------------------------------------------------------------ orders
    def _order_probability(self, d: int, day: date, live: np.ndarray) -> np.ndarray:
        pop, t = self.pop, self.table
        persona = pop.persona
        p = t.order_rate[persona] * demand_factor(day)
        if in_gift_season(day):
            p = p * t.season_mult[persona]
        p = p + t.bday_rate[persona] * np.isin(pop.birthday_key, birthday_window_keys(day))
        recent = (d - self.last_click_day) < CLICK_EFFECT_DAYS
        p = p + np.where(recent, self.click_boost / CLICK_EFFECT_DAYS, 0.0)
        p = p + np.where((persona == NEW) & (d - pop.signup_day < 7), NEW_CUSTOMER_FIRST_WEEK_RATE, 0.0)
        return np.where(live, np.minimum(p, 0.9), 0.0)

    def _orders(self, d: int, day: date, live: np.ndarray, offsets_ms: np.ndarray, day_ms: int) -> Batch:
        rng, pop, t = self.rng, self.pop, self.table
        forced = (self.forced_order_day == d).any(axis=0) & (pop.signup_day <= d)
        cust = np.flatnonzero((rng.random(pop.size) < self._order_probability(d, day, live)) | forced)
        k = cust.shape[0]
        persona = pop.persona[cust]
        channel = pick(t.channel_cum, persona, rng.random(k))
        channel = np.where(pop.app_user[cust] & (rng.random(k) < 0.7), 1, channel)
        category = pick(t.category_cum, persona, rng.random(k))
        eur = np.exp(t.basket_log[persona] + t.basket_sigma[persona] * rng.standard_normal(k))
        eur = np.clip(eur * (1.2 if in_gift_season(day) else 1.0), 3.0, 5_000.0)
        cents = np.round(eur / EUR_PER_UNIT[pop.currency[cust]] * 100).astype(np.int64)
        big_sale = 2.0 if abs((day - black_friday(day.year)).days) <= 3 else 1.0
        discounted = rng.random(k) < np.minimum(t.discount_prob[persona] * big_sale, 0.95)
        share = rng.uniform(t.discount_lo[persona], t.discount_hi[persona])
        discount = np.where(discounted, np.round(cents * share), 0).astype(np.int64)
        status = np.minimum(np.searchsorted(_STATUS_CUM, rng.random(k), side="right"), len(STATUSES) - 1)
        ts = self._utc_times(cust, offsets_ms, day_ms) // 1000 * 1000
        return {
            "cust": cust,
            "ts": ts,
            "status": status,
            "amount": cents,
            "discount": discount,
            "currency": pop.currency[cust].astype(np.int64),
            "channel": channel.astype(np.int64),
            "category": category.astype(np.int64),
        }

    # ------------------------------------------------------------------ sessions
    def _layout(
        self, n_lead: np.ndarray, n_views: np.ndarray, n_tail: np.ndarray, category: np.ndarray
    ) -> Session:
        """Types and relative times of session events: [app_open] views [add_to_cart [checkout_started]]."""
        rng = self.rng
        n = n_lead + n_views + n_tail
        first = np.cumsum(n) - n
        owner = np.repeat(np.arange(n.shape[0]), n)
        pos = np.arange(owner.shape[0]) - first[owner]
        gaps = rng.integers(10_000, 240_000, owner.shape[0])
        gaps[first[n > 0]] = 0
        elapsed = np.cumsum(gaps)
        offset = elapsed - elapsed[first[owner]] if owner.shape[0] else elapsed
        in_views = pos - n_lead[owner]
        etype = np.where(
            pos < n_lead[owner],
            APP_OPEN,
            np.where(
                in_views < n_views[owner],
                np.where(rng.random(owner.shape[0]) < 0.7, PRODUCT, PAGE),
                np.where(in_views == n_views[owner], CART, CHECKOUT),
            ),
        )
        own_category = rng.random(owner.shape[0]) < 0.7
        cat = np.where(own_category, category[owner], rng.integers(0, len(CATEGORIES), owner.shape[0]))
        cat = np.where((etype == PAGE) | (etype == APP_OPEN), -1, cat)
        duration = np.zeros(n.shape[0], dtype=np.int64)
        if owner.shape[0]:
            duration[n > 0] = offset[first[n > 0] + n[n > 0] - 1]
        return Session(owner, offset, etype, cat, duration)

    def _session_batch(self, cust: np.ndarray, start_ms: np.ndarray, lay: Session) -> Batch:
        app = self.pop.app_user[cust][lay.owner]
        return _events(
            cust[lay.owner],
            start_ms[lay.owner] + lay.offset_ms,
            lay.etype,
            np.where(app, APP, WEB),
            category=lay.category,
        )

    def _app_open(self, cust: np.ndarray) -> np.ndarray:
        """1 where an app session starts with an app_open event (the app was not already open)."""
        return (self.pop.app_user[cust] & (self.rng.random(cust.shape[0]) < APP_OPEN_SHARE)).astype(np.int64)

    def _pre_order_sessions(self, orders: Batch) -> Batch:
        """Most web/app orders follow views, add_to_cart and checkout_started a few minutes earlier."""
        rng = self.rng
        online = (orders["channel"] != 2) & (rng.random(orders["cust"].shape[0]) < PRE_ORDER_SESSION_SHARE)
        cust, order_ts, category = orders["cust"][online], orders["ts"][online], orders["category"][online]
        k = cust.shape[0]
        views = rng.poisson(0.5, k)
        lay = self._layout(self._app_open(cust), views, np.full(k, 2), category)
        start = order_ts - lay.duration_ms - rng.integers(60_000, 360_000, k)
        return self._session_batch(cust, start, lay)

    def _browsing(self, day: date, live: np.ndarray, offsets_ms: np.ndarray, day_ms: int) -> Batch:
        """Browsing-only sessions; a quarter of browsers come back for a second session > 30 min later."""
        rng, pop, t = self.rng, self.pop, self.table
        rate = t.browse_rate[pop.persona] * browse_factor(day)
        if in_gift_season(day):
            rate = rate * np.where(t.season_mult[pop.persona] > 10, 8.0, 1.0)
        cust = np.flatnonzero(live & (rng.random(pop.size) < rate))
        first = self._views_only(cust, self._utc_times(cust, offsets_ms, day_ms))
        again = rng.random(cust.shape[0]) < 0.25
        lay_end = first[1][again] + rng.integers(31 * 60_000, 300 * 60_000, int(again.sum()))
        second = self._views_only(cust[again], lay_end)
        return concat_batches([first[0], second[0]])

    def _views_only(self, cust: np.ndarray, start: np.ndarray) -> tuple[Batch, np.ndarray]:
        k = cust.shape[0]
        persona = self.pop.persona[cust]
        views = 1 + self.rng.poisson(np.maximum(self.table.views_mean[persona] - 1, 0.1), k)
        category = pick(self.table.category_cum, persona, self.rng.random(k)).astype(np.int64)
        lay = self._layout(self._app_open(cust), views, np.zeros(k, dtype=np.int64), category)
        return self._session_batch(cust, start, lay), start + lay.duration_ms

    def _abandoned_carts(
        self, day: date, live: np.ndarray, ordered: np.ndarray, offsets_ms: np.ndarray, day_ms: int
    ) -> Batch:
        """add_to_cart (half the time also checkout_started) and then nothing: no order that day."""
        rng, pop, t = self.rng, self.pop, self.table
        eligible = live.copy()
        eligible[ordered] = False
        cust = np.flatnonzero(
            eligible & (rng.random(pop.size) < t.abandon_rate[pop.persona] * browse_factor(day))
        )
        k = cust.shape[0]
        persona = pop.persona[cust]
        category = pick(t.category_cum, persona, rng.random(k)).astype(np.int64)
        views = 1 + rng.poisson(0.8, k)
        tail = 1 + (rng.random(k) < 0.5)
        lay = self._layout(self._app_open(cust), views, tail.astype(np.int64), category)
        return self._session_batch(cust, self._utc_times(cust, offsets_ms, day_ms), lay)

    # ------------------------------------------------------------------ other events
    def _social(self, live: np.ndarray, day_ms: int) -> Batch:
        cust = np.flatnonzero(
            live & (self.rng.random(self.pop.size) < self.table.social_rate[self.pop.persona])
        )
        return _events(cust, day_ms + self.rng.integers(0, DAY_MS, cust.shape[0]), SOCIAL, SOCIAL_CH)

    def _surveys(self, d: int, orders: Batch) -> Batch:
        """Some orders get a CSAT survey answered 1-3 days later (by email link or on the web)."""
        rng, pop, t = self.rng, self.pop, self.table
        cust = orders["cust"]
        persona = pop.persona[cust]
        quiet_soon = (persona == CHURNER) & (d + 3 >= pop.churn_day[cust])
        answered = (rng.random(cust.shape[0]) < t.survey_rate[persona]) & ~quiet_soon
        cust, persona = cust[answered], persona[answered]
        ts = orders["ts"][answered] + rng.integers(DAY_MS, 3 * DAY_MS, cust.shape[0])
        channel = np.where(rng.random(cust.shape[0]) < 0.6, EMAIL, WEB)
        score = pick(t.csat_cum, persona, rng.random(cust.shape[0])).astype(np.int64) + 1
        return _events(cust, ts, SURVEY, channel, csat=score)

    def _campaign(self, d: int, day_ms: int) -> Batch:
        """email_sent to a share of consenting customers, A/B split; opens, clicks and their effect."""
        rng, pop, t = self.rng, self.pop, self.table
        index, campaign = self.campaigns[d]
        comeback = pop.comeback_day == d
        consenting = pop.consent & (d < pop.withdraw_day) & (pop.signup_day <= d)
        cust = np.flatnonzero((consenting & (rng.random(pop.size) < campaign.audience_share)) | comeback)
        k = cust.shape[0]
        persona = pop.persona[cust]
        treated = rng.random(k) < 0.5
        lift = np.where(treated, TREATMENT_LIFT, 1.0)
        silent = ((persona == CHURNER) & (d >= pop.churn_day[cust] - 2)) | (
            (persona == WON_BACK) & (pop.dormant_day[cust] <= d) & (d < pop.comeback_day[cust])
        )
        forced = comeback[cust]
        opened = ((rng.random(k) < t.open_rate[persona] * lift) & ~silent) | forced
        clicked = opened & ((rng.random(k) < t.click_rate[persona] * lift) | forced)
        sent_ts = day_ms + 8 * 3_600_000 + rng.integers(0, 2 * 3_600_000, k)
        open_ts = sent_ts + np.minimum(rng.exponential(4 * 3_600_000, k), 40 * 3_600_000).astype(np.int64)
        click_ts = open_ts + rng.integers(5_000, 900_000, k)
        self.last_click_day[cust[clicked]] = d
        self.click_boost[cust[clicked]] = t.click_conversion[persona[clicked]] * lift[clicked]
        variant = treated.astype(np.int64)
        return concat_batches(
            [
                _events(cust, sent_ts, SENT, EMAIL, campaign=index, variant=variant),
                _events(cust[opened], open_ts[opened], OPEN, EMAIL, campaign=index, variant=variant[opened]),
                _events(
                    cust[clicked], click_ts[clicked], CLICK, EMAIL, campaign=index, variant=variant[clicked]
                ),
            ]
        )
