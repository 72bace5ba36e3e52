"""Helpers around the working DuckDB that the stages share."""

from __future__ import annotations

import duckdb
import pytest

from assets.work_db import memory_limit, scalar


def _limit(conn: duckdb.DuckDBPyConnection) -> str:
    return str(scalar(conn, "select current_setting('memory_limit')"))


def test_memory_limit_lowers_the_cap_inside_and_restores_the_configured_one_after() -> None:
    conn = duckdb.connect()
    conn.execute("set memory_limit = '4GB'")
    configured = _limit(conn)
    with memory_limit(conn, "1GB", "4GB"):
        assert _limit(conn) == "953.6 MiB"  # 1 GB in DuckDB's binary units
    assert _limit(conn) == configured
    with pytest.raises(RuntimeError), memory_limit(conn, "512MB", "4GB"):
        raise RuntimeError("a failing chunk")
    assert _limit(conn) == configured
