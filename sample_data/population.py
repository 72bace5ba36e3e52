"""The customer base: who exists, which persona they follow, and the dates that shape their story.

All per-customer state lives in numpy arrays indexed by customer number, so the day loop only ever
gathers and masks vectors; nothing iterates over customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from sample_data.calendar import COUNTRIES, CURRENCIES, campaigns_between, epoch_day
from sample_data.personas import CHURNER, NEW, PERSONA_NAMES, WON_BACK, PersonaTable

NEVER = np.iinfo(np.int32).max  # "no such day" for day-index arrays
TEST_DOMAIN = "shop-qa.test"
TEST_ACCOUNT_SHARE = 0.005
CONSENT_SHARE = 0.75
CONSENT_WITHDRAWAL_SHARE = 0.02
BIRTHDAY_MISSING_SHARE = 0.08

_FIRST = (
    "Anna",
    "Ben",
    "Chloe",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Zoe",
    "Aarav",
    "Léa",
    "Jürgen",
    "Siobhán",
    "María",
)
_LAST = (
    "Schmidt",
    "Martin",
    "de Vries",
    "García",
    "Rossi",
    "Huber",
    "Peeters",
    "Smith",
    "Murphy",
    "Silva",
    "Johnson",
    "Sharma",
    "Müller",
    "Dubois",
    "Jansen",
    "López",
    "Bianchi",
    "Gruber",
    "Jones",
    "Walsh",
    "Brown",
    "Patel",
    "O'Brien",
    "Nowak",
    "Fischer",
)
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")


@dataclass
class Population:
    """Per-customer attributes; day indices are relative to the window start (negative = before)."""

    persona: np.ndarray  # int8 persona code
    signup_day: np.ndarray  # int32
    country: np.ndarray  # int8 index into COUNTRIES
    tz_group: np.ndarray  # int8
    currency: np.ndarray  # int8 index into CURRENCIES
    app_user: np.ndarray  # bool
    consent: np.ndarray  # bool, at signup
    withdraw_day: np.ndarray  # int32, NEVER if consent is never withdrawn in the window
    churn_day: np.ndarray  # int32, churners only
    dormant_day: np.ndarray  # int32, won_back only: first dormant day
    comeback_day: np.ndarray  # int32, won_back only: campaign day that wins them back
    comeback_order_day: np.ndarray  # int32
    birthday: np.ndarray  # datetime64[D], NaT when unknown
    birthday_key: np.ndarray  # int16 month*100+day, 0 when unknown
    test_account: np.ndarray  # bool
    ids: pl.Series
    emails: pl.Series
    first_names: pl.Series
    last_names: pl.Series

    @property
    def size(self) -> int:
        return int(self.persona.shape[0])


def build_population(
    rng: np.random.Generator, n: int, start: date, days: int, table: PersonaTable
) -> Population:
    persona = rng.choice(len(PERSONA_NAMES), size=n, p=table.share / table.share.sum()).astype(np.int8)
    signup_day = _signup_days(rng, persona, days)
    country = rng.choice(len(COUNTRIES), size=n, p=_country_weights()).astype(np.int8)
    tz_group = np.array([c[2] for c in COUNTRIES], dtype=np.int8)[country]
    currency_of = np.array([CURRENCIES.index(c[3]) for c in COUNTRIES], dtype=np.int8)
    app_user = rng.random(n) < table.app_share[persona]
    consent = (rng.random(n) < CONSENT_SHARE) | (persona == WON_BACK)
    withdraw_day = _withdraw_days(rng, consent & (persona != WON_BACK), signup_day, days)
    churn_day = np.where(persona == CHURNER, _fraction_days(rng, n, days, 0.10, 0.35), NEVER).astype(np.int32)
    dormant, comeback, comeback_order = _won_back_days(rng, persona, start, days)
    birthday, birthday_key = _birthdays(rng, n)
    test_account = _test_accounts(rng, n)
    ids = _customer_ids(n)
    first = pl.Series(_FIRST).gather(rng.integers(0, len(_FIRST), n))
    last = pl.Series(_LAST).gather(rng.integers(0, len(_LAST), n))
    emails = _emails(rng, first, last, ids, test_account)
    return Population(
        persona=persona,
        signup_day=signup_day,
        country=country,
        tz_group=tz_group,
        currency=currency_of[country],
        app_user=app_user,
        consent=consent,
        withdraw_day=withdraw_day,
        churn_day=churn_day,
        dormant_day=dormant,
        comeback_day=comeback,
        comeback_order_day=comeback_order,
        birthday=birthday,
        birthday_key=birthday_key,
        test_account=test_account,
        ids=ids,
        emails=emails,
        first_names=first,
        last_names=last,
    )


def _customer_ids(n: int) -> pl.Series:
    """`C00000001` ...: fixed width so ids sort like numbers and look like a real CRM key."""
    numbers = pl.Series("n", np.arange(1, n + 1, dtype=np.int64)).to_frame()
    return numbers.select(
        (pl.lit("C") + pl.col("n").cast(pl.String).str.zfill(8)).alias("customer_id")
    ).to_series()


def _country_weights() -> np.ndarray:
    weights = np.array([c[1] for c in COUNTRIES])
    return weights / weights.sum()


def _fraction_days(rng: np.random.Generator, n: int, days: int, lo: float, hi: float) -> np.ndarray:
    """A day index uniformly in [lo*days, hi*days], at least 1 so there is an 'before'."""
    return np.maximum(1, np.floor(days * rng.uniform(lo, hi, n))).astype(np.int32)


def _signup_days(rng: np.random.Generator, persona: np.ndarray, days: int) -> np.ndarray:
    """new_customer signs up inside the window; everyone else was already a customer (up to ~4 years)."""
    before = -rng.integers(1, 1500, persona.shape[0])
    inside = rng.integers(0, days, persona.shape[0])
    return np.where(persona == NEW, inside, before).astype(np.int32)


def _withdraw_days(
    rng: np.random.Generator, eligible: np.ndarray, signup_day: np.ndarray, days: int
) -> np.ndarray:
    """~2% withdraw marketing consent on a random day after signup, which shows up as a CRM change."""
    lo = np.maximum(signup_day + 1, 1)
    chosen = eligible & (rng.random(eligible.shape[0]) < CONSENT_WITHDRAWAL_SHARE) & (lo < days)
    day = lo + np.floor(rng.random(eligible.shape[0]) * np.maximum(days - lo, 1)).astype(np.int32)
    return np.where(chosen, day, NEVER).astype(np.int32)


def _won_back_days(
    rng: np.random.Generator, persona: np.ndarray, start: date, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dormant from an early day, won back by the first campaign >= 65-100 days later (if any in window)."""
    n = persona.shape[0]
    is_won_back = persona == WON_BACK
    dormant = _fraction_days(rng, n, days, 0.05, 0.30)
    target = dormant + rng.integers(65, 101, n)
    sends = np.array(
        [(c.send_day - start).days for c in campaigns_between(start, start + timedelta(days=days - 1))]
        + [NEVER],
        dtype=np.int64,
    )
    comeback = sends[np.searchsorted(sends, target)]
    order_day = np.where(comeback < NEVER, comeback + rng.integers(0, 3, n), NEVER)
    as_days = [np.where(is_won_back, a, NEVER).astype(np.int32) for a in (dormant, comeback, order_day)]
    return as_days[0], as_days[1], as_days[2]


def _birthdays(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    born = np.datetime64("1950-01-01") + rng.integers(0, 20_800, n).astype("timedelta64[D]")
    missing = rng.random(n) < BIRTHDAY_MISSING_SHARE
    born = np.where(missing, np.datetime64("NaT"), born)
    months = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (born - born.astype("datetime64[M]")).astype(np.int64) + 1
    key = np.where(missing, 0, months * 100 + dom).astype(np.int16)
    return born, key


def _test_accounts(rng: np.random.Generator, n: int) -> np.ndarray:
    """A fixed count (at least one) so even a tiny run has a QA account to filter out."""
    flags = np.zeros(n, dtype=bool)
    flags[rng.choice(n, size=max(1, round(n * TEST_ACCOUNT_SHARE)), replace=False)] = True
    return flags


def _emails(
    rng: np.random.Generator, first: pl.Series, last: pl.Series, ids: pl.Series, test: np.ndarray
) -> pl.Series:
    domain = pl.Series(_DOMAINS).gather(rng.integers(0, len(_DOMAINS), first.len()))
    frame = pl.DataFrame({"f": first, "l": last, "id": ids, "d": domain, "t": test})
    local = pl.concat_str(
        _ascii(pl.col("f")),
        pl.lit("."),
        _ascii(pl.col("l")),
        pl.col("id").str.slice(3).str.strip_chars_start("0"),
    )
    qa = pl.concat_str(pl.lit("qa."), pl.col("id").str.to_lowercase(), pl.lit("@" + TEST_DOMAIN))
    email = pl.when(pl.col("t")).then(qa).otherwise(pl.concat_str(local, pl.lit("@"), pl.col("d")))
    return frame.select(email.alias("email")).to_series()


def _ascii(name: pl.Expr) -> pl.Expr:
    """Email local parts are ASCII here (names keep their accents: the CSV must be real UTF-8)."""
    folded = name.str.to_lowercase().str.replace_many(
        ["ä", "ö", "ü", "é", "á", "í", "ó", "ñ"], ["ae", "oe", "ue", "e", "a", "i", "o", "n"]
    )
    return folded.str.replace_all(r"[^a-z]", "")


def truth_frame(pop: Population, start: date) -> pl.DataFrame:
    """Ground truth for evaluation; lives outside the landing zone and never enters it."""

    def as_date(days: np.ndarray) -> pl.Series:
        never = pl.Series(days == NEVER)
        values = pl.Series(np.where(days == NEVER, 0, days.astype(np.int64) + epoch_day(start))).cast(
            pl.Int32
        )
        return pl.select(pl.when(never).then(None).otherwise(values.cast(pl.Date))).to_series()

    return pl.DataFrame(
        {
            "customer_id": pop.ids,
            "persona": pl.Series(PERSONA_NAMES).gather(pop.persona.astype(np.int64)),
            "is_test_account": pop.test_account,
            "app_user": pop.app_user,
            "signup_date": as_date(pop.signup_day),
            "churn_date": as_date(pop.churn_day),
            "dormant_from": as_date(pop.dormant_day),
            "comeback_campaign_date": as_date(pop.comeback_day),
            "consent_withdrawn_on": as_date(pop.withdraw_day),
        }
    )
