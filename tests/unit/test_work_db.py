"""Helpers around the working DuckDB that the stages share."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from assets.segments.store import CLOSED_TABLE, OPEN_TABLE, ensure_tables
from assets.work_db import exposure_outcomes, memory_limit, scalar, segments_by_day
from orchestration.settings import OperationsSettings, get_settings


def _operations(segment_cap: str) -> OperationsSettings:
    return get_settings().operations.model_copy(
        update={"segment_duckdb_memory_limit": segment_cap, "duckdb_memory_limit": "4GB"}
    )


def _limit(conn: duckdb.DuckDBPyConnection) -> str:
    return str(scalar(conn, "select current_setting('memory_limit')"))


def test_memory_limit_lowers_the_cap_inside_and_restores_the_configured_one_after() -> None:
    conn = duckdb.connect()
    conn.execute("set memory_limit = '4GB'")
    configured = _limit(conn)
    with memory_limit(conn, _operations("1GB"), "segment_duckdb_memory_limit"):
        assert _limit(conn) == "953.6 MiB"  # 1 GB in DuckDB's binary units
    assert _limit(conn) == configured
    with pytest.raises(RuntimeError), memory_limit(conn, _operations("512MB"), "segment_duckdb_memory_limit"):
        raise RuntimeError("a failing chunk")
    assert _limit(conn) == configured


def test_running_out_of_the_cap_fails_the_step_for_good_naming_the_setting() -> None:
    conn = duckdb.connect()
    with (
        pytest.raises(dg.Failure) as failure,
        memory_limit(conn, _operations("16MB"), "segment_duckdb_memory_limit"),
    ):
        # No temp directory to spill to: an in-memory database must hold the whole sort.
        conn.execute("set temp_directory = ''")
        conn.execute("select range::varchar as v from range(5000000) order by v desc").fetchall()
    assert not failure.value.allow_retries
    assert "16MB cap (operations.segment_duckdb_memory_limit" in failure.value.description
    assert "SEGMENTS_OPERATIONS__SEGMENT_DUCKDB_MEMORY_LIMIT" in failure.value.description
    assert _limit(conn) == "3.7 GiB"


# Each day's segments as the plain range join over every stored stay (what SEGMENTS_BY_DAY was
# before it cut the stays to the range first).
NAIVE_SEGMENTS_BY_DAY = """
    with days as (select unnest(generate_series(?::date, ?::date, interval 1 day))::date as as_of_date)
    select days.as_of_date, rfm.customer_key, rfm.segment, lifecycle.segment, loyalty.segment
    from days
    join segment_history as rfm on rfm.family = 'rfm' and rfm.valid_from <= days.as_of_date
        and (rfm.valid_to is null or rfm.valid_to > days.as_of_date)
    left join segment_history as lifecycle on lifecycle.family = 'lifecycle'
        and lifecycle.customer_key = rfm.customer_key and lifecycle.valid_from <= days.as_of_date
        and (lifecycle.valid_to is null or lifecycle.valid_to > days.as_of_date)
    left join segment_history as loyalty on loyalty.family = 'loyalty'
        and loyalty.customer_key = rfm.customer_key and loyalty.valid_from <= days.as_of_date
        and (loyalty.valid_to is null or loyalty.valid_to > days.as_of_date)
"""
D0 = date(2025, 1, 1)


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, str, str, date, date | None]]:
    """Gap-free or gapped stays of a few customers in the three families the KPIs read and one
    they do not."""
    stays = []
    for customer in "abcd"[: draw(st.integers(1, 4))]:
        for family in ("rfm", "lifecycle", "loyalty", "channel"):
            day = draw(st.integers(0, 20))
            for _ in range(draw(st.integers(0, 4))):
                length = draw(st.integers(1, 15))
                is_open = draw(st.booleans())
                segment = draw(st.sampled_from("xyz"))
                end = None if is_open else D0 + timedelta(days=day + length)
                stays.append((customer, family, segment, D0 + timedelta(days=day), end))
                if is_open:
                    break
                day += length + draw(st.integers(0, 3))
    return stays


def _store_with(stays: list[tuple[str, str, str, date, date | None]]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    ensure_tables(conn)
    for stay in stays:
        table = OPEN_TABLE if stay[-1] is None else CLOSED_TABLE
        conn.execute(
            f"insert into {table} (customer_key, family, segment, valid_from, valid_to) "
            "values (?, ?, ?, ?, ?)",
            stay,
        )
    return conn


@hyp_settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 60), st.integers(0, 20))
def test_segments_by_day_equal_the_range_join_over_every_stored_stay(
    stays: list[tuple[str, str, str, date, date | None]], start: int, length: int
) -> None:
    conn = _store_with(stays)
    first, last = D0 + timedelta(days=start), D0 + timedelta(days=start + length)
    expected = sorted(conn.execute(NAIVE_SEGMENTS_BY_DAY, [first, last]).fetchall(), key=repr)
    got = segments_by_day(conn, first, last).collect()
    assert got.columns == ["as_of_date", "customer_key", "segment", "lifecycle", "loyalty"]
    assert sorted(got.rows(), key=repr) == expected


@st.composite
def exposed_histories(
    draw: st.DrawFn,
) -> tuple[list[tuple[str, str, str, date, date | None]], list[tuple[str, str, date]]]:
    """Stays, and exposures on any day or on the first or last day of a stay (where an off-by-one
    in the range join shows); customer e has no stays."""
    stays = draw(histories())
    edges = [day for *_, start, end in stays for day in (start, end) if day is not None]
    day = st.integers(0, 60).map(lambda offset: D0 + timedelta(days=offset))
    days = st.one_of(day, st.sampled_from(edges)) if edges else day
    exposed = draw(
        st.lists(st.tuples(st.sampled_from(["c1", "c2"]), st.sampled_from("abcde"), days), max_size=12)
    )
    return stays, exposed


@hyp_settings(max_examples=60, deadline=None)
@given(exposed_histories())
def test_each_exposure_gets_the_rfm_segment_of_its_day_once(
    scenario: tuple[list[tuple[str, str, str, date, date | None]], list[tuple[str, str, date]]],
) -> None:
    """Several campaigns may reach one customer on one day."""
    stays, exposed = scenario
    conn = _store_with(stays)
    conn.execute(
        """create table fct_campaign_exposures (campaign_id varchar, variant varchar,
        customer_key varchar, exposed_at timestamptz, exposure_date date, loaded_date date)"""
    )
    conn.execute(
        """create table fct_orders (customer_key varchar, is_completed boolean, loaded_date date,
        order_ts timestamptz, net_amount_eur decimal(12, 2))"""
    )
    conn.execute(
        """create table fct_campaign_responses (campaign_id varchar, customer_key varchar,
        response varchar, loaded_date date)"""
    )
    for campaign, customer, day in exposed:
        conn.execute(
            "insert into fct_campaign_exposures values (?, 'A', ?, ?::timestamp at time zone 'UTC', ?, ?)",
            [campaign, customer, day, day, day],
        )

    def segment_on(customer: str, day: date) -> str:
        return next(
            (
                segment
                for key, family, segment, start, end in stays
                if key == customer and family == "rfm" and start <= day and (end is None or end > day)
            ),
            "(unknown)",
        )

    expected = sorted((campaign, customer, segment_on(customer, day)) for campaign, customer, day in exposed)
    got = exposure_outcomes(conn, D0 + timedelta(days=90), 7).collect()
    assert sorted(got.select("campaign_id", "customer_key", "segment").rows()) == expected
