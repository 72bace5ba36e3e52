"""What a long step logs as it goes: where each chunk's time went and how memory stands.

A backfill at a million customers runs for hours; its per-chunk progress lines are what shows
whether a day's cost and the process's memory stay flat as history grows, and which step or which
side (polars or DuckDB) grows when they do not.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import duckdb

from assets.work_db import scalar


class Laps:
    """Durations of a chunk's steps, for its progress line: where a slow day spends its time."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        steps = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.laps)
        return f"{time.perf_counter() - self.started:.1f} s ({steps})"


def memory_note(conn: duckdb.DuckDBPyConnection) -> str:
    """The process's RSS now and at its peak, and what DuckDB's buffer manager holds, for progress
    logs: a long backfill shows whether memory stays flat as history grows, and which side grows."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    duckdb_mb = scalar(conn, "select coalesce(sum(memory_usage_bytes), 0) from duckdb_memory()") / 2**20
    return f"RSS {_current_rss_mb():,.0f} MB, peak {peak_mb:,.0f} MB, DuckDB {duckdb_mb:,.0f} MB"


def _current_rss_mb() -> float:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: only the peak is known
        return float("nan")
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kib) / 1024
