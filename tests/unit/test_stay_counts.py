"""stay_counts: the running sum over stay edges counts what the plain range join counts."""

from datetime import date, timedelta

import duckdb
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from assets.publish.stay_counts import stayed_counts_sql

START = date(2026, 1, 1)
PLAIN_JOIN = """
    select h.family, d.as_of_date, h.segment as from_segment, h.segment as to_segment,
        count(*)::bigint as customers
    from history as h
    join days as d on h.valid_from < d.as_of_date and (h.valid_to is null or h.valid_to > d.as_of_date)
    group by all"""
ORDER = " order by all"


def _connection(stays: list[tuple[str, str, int, int | None]], days: list[int]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("create table history (family varchar, segment varchar, valid_from date, valid_to date)")
    rows = [
        (family, segment, START + timedelta(begin), None if end is None else START + timedelta(end))
        for family, segment, begin, end in stays
    ]
    if rows:  # executemany refuses an empty list
        conn.executemany("insert into history values (?, ?, ?, ?)", rows)
    conn.execute("create table days (as_of_date date)")
    if days:
        conn.executemany("insert into days values (?)", [(START + timedelta(day),) for day in days])
    return conn


def test_a_stay_counts_on_the_days_strictly_inside_it() -> None:
    # valid_from day 1, valid_to day 4: stayed on days 2 and 3; an open stay from day 2: days 3, 4.
    conn = _connection([("rfm", "Loyal", 1, 4), ("rfm", "Loyal", 2, None)], [0, 1, 2, 3, 4])
    rows = conn.sql(stayed_counts_sql("history", "days") + ORDER).fetchall()
    day = [START + timedelta(i) for i in range(5)]
    assert rows == [
        ("rfm", day[2], "Loyal", "Loyal", 1),
        ("rfm", day[3], "Loyal", "Loyal", 2),
        ("rfm", day[4], "Loyal", "Loyal", 1),
    ]


@st.composite
def stays_and_days(draw: st.DrawFn) -> tuple[list[tuple[str, str, int, int | None]], list[int], int, int]:
    stays = []
    for _ in range(draw(st.integers(0, 25))):
        begin = draw(st.integers(0, 20))
        length = draw(st.one_of(st.none(), st.integers(1, 8)))
        family = draw(st.sampled_from(["rfm", "lifecycle"]))
        segment = draw(st.sampled_from(["A", "B", "C"]))
        stays.append((family, segment, begin, None if length is None else begin + length))
    days = sorted(draw(st.sets(st.integers(0, 30), max_size=12)))
    first = draw(st.integers(0, 30))
    last = draw(st.integers(first, 30))
    return stays, days, first, last


@hyp_settings(max_examples=80, deadline=None)
@given(stays_and_days())
def test_running_sum_equals_the_range_join(case: tuple[list, list[int], int, int]) -> None:
    stays, days, first, last = case
    conn = _connection(stays, days)
    assert (
        conn.sql(stayed_counts_sql("history", "days") + ORDER).fetchall()
        == conn.sql(PLAIN_JOIN + ORDER).fetchall()
    )
    # Narrowed to the stays that can touch [first, last], the days in that range count the same.
    window = f"as_of_date between date '{START + timedelta(first)}' and date '{START + timedelta(last)}'"
    conn.execute(f"create table window_days as select * from days where {window}")
    touching = (
        f"valid_from < date '{START + timedelta(last)}' "
        f"and (valid_to is null or valid_to > date '{START + timedelta(first)}')"
    )
    narrowed = conn.sql(stayed_counts_sql("history", "window_days", touching) + ORDER).fetchall()
    plain = conn.sql(PLAIN_JOIN.replace("join days", "join window_days") + ORDER).fetchall()
    assert narrowed == plain
