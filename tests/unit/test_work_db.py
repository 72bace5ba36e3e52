"""Helpers around the working DuckDB that the stages share."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from assets.work_db import memory_limit, scalar
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
