"""The segment stage's store in the working DuckDB: what a chunk's write leaves behind."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.segments.store import HISTORY_TABLE, checkpoint, ensure_tables


def _wal_bytes(db: Path) -> int:
    wal = db.with_name(db.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_a_checkpoint_moves_the_written_stays_from_the_log_into_the_file(tmp_path: Path) -> None:
    db = tmp_path / "work.duckdb"
    conn = duckdb.connect(str(db))
    ensure_tables(conn)
    conn.execute("checkpoint")
    conn.execute(
        f"""insert into {HISTORY_TABLE} (customer_key, family, segment, valid_from)
        select 'c' || range, 'rfm', 'champions', date '2025-01-01' from range(50000)"""
    )
    assert _wal_bytes(db) > 0
    assert checkpoint(conn)
    assert _wal_bytes(db) == 0
    conn.close()
    reopened = duckdb.connect(str(db), read_only=True)
    assert reopened.execute(f"select count(*) from {HISTORY_TABLE}").fetchall() == [(50000,)]
