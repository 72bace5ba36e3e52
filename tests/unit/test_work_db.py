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
from assets.work_db import memory_limit, scalar, segments_by_day
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


@hyp_settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 60), st.integers(0, 20))
def test_segments_by_day_equal_the_range_join_over_every_stored_stay(
    stays: list[tuple[str, str, str, date, date | None]], start: int, length: int
) -> None:
    conn = duckdb.connect()
    ensure_tables(conn)
    for stay in stays:
        table = OPEN_TABLE if stay[-1] is None else CLOSED_TABLE
        conn.execute(
            f"insert into {table} (customer_key, family, segment, valid_from, valid_to) "
            "values (?, ?, ?, ?, ?)",
            stay,
        )
    first, last = D0 + timedelta(days=start), D0 + timedelta(days=start + length)
    expected = sorted(conn.execute(NAIVE_SEGMENTS_BY_DAY, [first, last]).fetchall(), key=repr)
    got = segments_by_day(conn, first, last).collect()
    assert got.columns == ["as_of_date", "customer_key", "segment", "lifecycle", "loyalty"]
    assert sorted(got.rows(), key=repr) == expected
