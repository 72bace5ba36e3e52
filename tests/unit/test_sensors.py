"""The landing sensor: which delivery days start a run, as one range, and what it remembers."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from assets.extract.sources import EXTRACT_SOURCES
from orchestration.sensors import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    decode_cursor,
    lookback_days,
    next_cursor,
    range_to_run,
)
from orchestration.settings import get_settings

D1, D2, D3, D4 = (date(2026, 3, d) for d in (1, 2, 3, 4))


def test_lookback_window_is_clipped_to_the_first_partition() -> None:
    assert lookback_days(D4, 2, date(2026, 1, 1)) == [D2, D3, D4]
    assert lookback_days(D4, 7, D3) == [D3, D4]


def test_a_new_day_runs_from_the_oldest_change_through_the_newest_ready_day() -> None:
    current = {D1: "a", D2: "b", D3: "c", D4: None}
    assert range_to_run(current, {}) == (D1, D3)
    assert range_to_run(current, {D1: "a", D2: "b", D3: "c"}) is None
    # A re-delivery of D2 reruns D2 and every later ready day: they include what D2 delivered.
    assert range_to_run(current, {D1: "a", D2: "old", D3: "c"}) == (D2, D3)


def test_an_incomplete_day_ends_the_range_and_holds_later_changes() -> None:
    assert range_to_run({D1: "a", D2: None, D3: "c"}, {}) == (D1, D1)
    # D3 arrived but D2 is still missing: nothing runs until the gap is filled...
    assert range_to_run({D1: "a", D2: None, D3: "c"}, {D1: "a"}) is None
    # ...and then one run covers both.
    assert range_to_run({D1: "a", D2: "b", D3: "c"}, {D1: "a"}) == (D2, D3)


def test_days_before_the_first_delivery_are_not_a_gap() -> None:
    assert range_to_run({D1: None, D2: None, D3: "c", D4: "d"}, {}) == (D3, D4)


def test_held_days_stay_new_in_the_cursor() -> None:
    current = {D1: "a", D2: None, D3: "c"}
    assert decode_cursor(next_cursor(current, {D1: "a"}, None)) == {D1: "a"}
    assert decode_cursor(next_cursor(current, {}, (D1, D1))) == {D1: "a"}
    # Days that left the lookback window are forgotten.
    assert decode_cursor(next_cursor({D3: "c"}, {D1: "a"}, (D3, D3))) == {D3: "c"}


def _deliver(landing: Path, day: date, content: str = "x") -> None:
    for source in EXTRACT_SOURCES:
        path = source.landing.path_for(landing, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def test_sensor_requests_one_range_run_and_then_only_for_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENTS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    from orchestration.sensors import landing_sensor

    landing = get_settings().landing_dir
    yesterday = date.today() - timedelta(days=1)
    for offset in (2, 1, 0):
        _deliver(landing, yesterday - timedelta(days=offset))

    first = landing_sensor(dg.build_sensor_context(cursor=None))
    assert [r.tags[RANGE_START_TAG] for r in first.run_requests] == [str(yesterday - timedelta(days=2))]
    assert first.run_requests[0].tags[RANGE_END_TAG] == str(yesterday)

    quiet = landing_sensor(dg.build_sensor_context(cursor=first.cursor))
    assert not quiet.run_requests and quiet.skip_reason is not None

    redelivered = orders_path(landing, yesterday - timedelta(days=1))
    redelivered.write_text("x, corrected and longer")
    os.utime(redelivered, ns=(1, 1))
    again = landing_sensor(dg.build_sensor_context(cursor=quiet.cursor))
    (request,) = again.run_requests
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (
        str(yesterday - timedelta(days=1)),
        str(yesterday),
    )
    assert request.run_key != first.run_requests[0].run_key


def orders_path(landing: Path, day: date) -> Path:
    return EXTRACT_SOURCES[0].landing.path_for(landing, day)
