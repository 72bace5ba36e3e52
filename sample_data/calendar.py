"""The shop's calendar: demand peaks, the holiday season, email campaigns, and time-zone offsets.

Everything here is a pure function of the date, so a day's behaviour does not depend on how long the
window is or where it starts (the same Black Friday spike appears in every size).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

EPOCH = date(1970, 1, 1)
DAY_MS = 86_400_000


def epoch_day(day: date) -> int:
    return (day - EPOCH).days


def black_friday(year: int) -> date:
    """The day after US Thanksgiving (4th Thursday of November)."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
    return thursday + timedelta(days=1)


def demand_factor(day: date) -> float:
    """Shop-wide order multiplier: weekends, Black Friday week, Cyber Monday, December, January sales."""
    bf = black_friday(day.year)
    factor = 1.15 if day.weekday() >= 5 else 1.0
    if day == bf:
        return factor * 3.0
    if day == bf + timedelta(days=3):
        return factor * 2.5
    if bf - timedelta(days=4) <= day < bf or bf < day < bf + timedelta(days=3):
        return factor * 1.5
    if day.month == 12 and day.day <= 21:
        return factor * 1.35
    if day.month == 12 and 24 <= day.day <= 26:
        return factor * 0.6
    if day.month == 1 and 2 <= day.day <= 10:
        return factor * 1.2
    if day.month == 2 and 10 <= day.day <= 14:
        return factor * 1.15
    return factor


def browse_factor(day: date) -> float:
    """Browsing rises before the holidays more gently than ordering does."""
    bf = black_friday(day.year)
    if bf - timedelta(days=7) <= day <= bf + timedelta(days=3):
        return 1.8
    if (day.month == 11 and day.day >= 15) or (day.month == 12 and day.day <= 22):
        return 1.3
    return 1.0


def in_gift_season(day: date) -> bool:
    """When the seasonal_holiday persona shops: 20 Nov - 23 Dec and 6-14 Feb."""
    return (
        (day.month == 11 and day.day >= 20)
        or (day.month == 12 and day.day <= 23)
        or (day.month == 2 and 6 <= day.day <= 14)
    )


def birthday_window_keys(day: date) -> np.ndarray:
    """month*100+day of the birthdays that fall 2 days before .. 7 days after `day` (shopping window)."""
    return np.array([_mmdd(day + timedelta(days=k)) for k in range(-2, 8)], dtype=np.int16)


def _mmdd(day: date) -> int:
    return day.month * 100 + day.day


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    send_day: date
    audience_share: float  # share of consenting customers who receive it


_YEARLY_CAMPAIGNS = (
    (1, 8, "wintersale", 0.35),
    (2, 7, "valentines", 0.35),
    (4, 10, "spring", 0.30),
    (6, 26, "summersale", 0.35),
    (9, 4, "backtoschool", 0.30),
    (11, 0, "blackfriday", 0.50),  # day 0 = four days before Black Friday
    (12, 9, "christmas", 0.40),
)


def campaigns_between(first: date, last: date) -> list[Campaign]:
    """Campaigns sent in [first, last], in send order; ids look like `cmp_2025_11_blackfriday`."""
    found = []
    for year in range(first.year, last.year + 1):
        for month, dom, name, share in _YEARLY_CAMPAIGNS:
            send = black_friday(year) - timedelta(days=4) if dom == 0 else date(year, month, dom)
            if first <= send <= last:
                found.append(Campaign(f"cmp_{year}_{month:02d}_{name}", send, share))
    return sorted(found, key=lambda c: c.send_day)


# Time-zone groups: fixed standard offset, summer offset, and the DST rule that switches them.
TZ_GROUPS = ("eu_central", "eu_west", "us_east", "india")
_STANDARD_MIN = (60, 0, -300, 330)
_SUMMER_MIN = (120, 60, -240, 330)


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def tz_offsets_minutes(day: date) -> np.ndarray:
    """UTC offset of each TZ group on `day` (switch days resolved per day; offsets stay explicit)."""
    eu_summer = _last_sunday(day.year, 3) <= day < _last_sunday(day.year, 10)
    us_summer = _nth_sunday(day.year, 3, 2) <= day < _nth_sunday(day.year, 11, 1)
    summer = (eu_summer, eu_summer, us_summer, False)
    return np.array(
        [s if on else w for s, w, on in zip(_SUMMER_MIN, _STANDARD_MIN, summer, strict=True)], dtype=np.int32
    )


# Where customers live: ISO country, weight, TZ group index, currency.
COUNTRIES = (
    ("DE", 0.22, 0, "EUR"),
    ("FR", 0.12, 0, "EUR"),
    ("NL", 0.07, 0, "EUR"),
    ("ES", 0.06, 0, "EUR"),
    ("IT", 0.06, 0, "EUR"),
    ("AT", 0.03, 0, "EUR"),
    ("BE", 0.03, 0, "EUR"),
    ("GB", 0.16, 1, "GBP"),
    ("IE", 0.03, 1, "EUR"),
    ("PT", 0.02, 1, "EUR"),
    ("US", 0.16, 2, "USD"),
    ("IN", 0.04, 3, "USD"),
)
CURRENCIES = ("EUR", "USD", "GBP")
EUR_PER_UNIT = np.array([1.0, 0.92, 1.17])

# Share of activity by local hour of day (evening peak), used for orders and sessions.
_HOURLY = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.4,
        0.8,
        1.5,
        2.5,
        3,
        3.2,
        3.4,
        3.8,
        3.6,
        3.4,
        3.4,
        3.6,
        4,
        4.6,
        5.2,
        5.6,
        5,
        3.6,
        2,
    ]
)
HOURLY_CUM = np.cumsum(_HOURLY / _HOURLY.sum())
