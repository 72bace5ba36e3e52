"""The per-chunk progress line of long steps."""

from __future__ import annotations

import re
import time

import duckdb

from assets.progress import Laps, memory_note


def test_memory_note_reports_current_and_peak_rss_and_duckdb() -> None:
    note = memory_note(duckdb.connect())
    assert re.fullmatch(r"RSS [\d,]+ MB, peak [\d,]+ MB, DuckDB [\d,]+ MB", note), note


def test_laps_name_each_step_with_its_own_duration() -> None:
    laps = Laps()
    time.sleep(0.2)
    laps.lap("memberships")
    laps.lap("write")
    line = str(laps)
    match = re.fullmatch(r"(\d+\.\d) s \(memberships (\d+\.\d), write (\d+\.\d)\)", line)
    assert match, line
    total, memberships, write = map(float, match.groups())
    assert memberships >= 0.2 and write < 0.1 and total >= memberships
