"""`landing_sensor`: start the pipeline when a delivery day's landing files are complete.

A day is ready when every source's file for it exists (orders, events, customers). The sensor
remembers, per day inside the lookback window, a fingerprint of those files (name, size, mtime).
A new or re-delivered day inside the window starts ONE run from that day through the newest ready
day, because everything computed for later days includes what was delivered on it. A day whose
files are still incomplete stops the range just before it: later days wait for the gap to fill
instead of being published on top of a missing delivery.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from assets.extract.sources import EXTRACT_SOURCES
from orchestration.jobs import daily_segmentation_job
from orchestration.partitions import daily_partitions
from orchestration.settings import get_settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def day_fingerprint(landing_dir: Path, day: date) -> str | None:
    """What the day's delivery looks like now; None while any source's file is missing."""
    parts = []
    for source in EXTRACT_SOURCES:
        path = source.landing.path_for(landing_dir, day)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def lookback_days(newest: date, lookback: int, first_partition: date) -> list[date]:
    """The days the sensor watches: `newest` and the `lookback` days before it, within the partitions."""
    first = max(first_partition, newest - timedelta(days=lookback))
    return [first + timedelta(days=i) for i in range((newest - first).days + 1)]


def range_to_run(current: Mapping[date, str | None], seen: Mapping[date, str]) -> tuple[date, date] | None:
    """The contiguous range of ready days that starts at the oldest new or changed ready day.

    `current` maps every watched day to its fingerprint (None = incomplete); `seen` holds the
    fingerprints of the last evaluation. None when nothing changed, or when a day between the oldest
    delivered day and the change is still incomplete (days before the first delivery are no gap).
    """
    days = sorted(current)
    changed = [d for d in days if current[d] is not None and current[d] != seen.get(d)]
    if not changed:
        return None
    start = changed[0]
    delivered = [d for d in days if current[d] is not None]
    if any(current[d] is None for d in days if delivered[0] < d < start):
        return None  # a gap before the change: wait for it, the run will then cover both
    end = start
    for day in days[days.index(start) + 1 :]:
        if current[day] is None:
            break
        end = day
    return start, end


def run_request_for(start: date, end: date, current: Mapping[date, str | None]) -> dg.RunRequest:
    """One single-run backfill over [start, end]; the key changes only when the files change."""
    delivered = {d.isoformat(): current[d] for d in sorted(current) if start <= d <= end}
    digest = hashlib.sha256(json.dumps(delivered, sort_keys=True).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"landing-{start}-{end}-{digest}",
        tags={RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()},
    )


def decode_cursor(cursor: str | None) -> dict[date, str]:
    return {date.fromisoformat(d): fp for d, fp in json.loads(cursor or "{}").items()}


def encode_cursor(fingerprints: Mapping[date, str | None]) -> str:
    return json.dumps({d.isoformat(): fp for d, fp in sorted(fingerprints.items()) if fp is not None})


def next_cursor(
    current: Mapping[date, str | None], seen: Mapping[date, str], span: tuple[date, date] | None
) -> str:
    """Days up to the requested range count as seen; later (held) days stay new until a run covers them."""
    remembered = {d: seen.get(d) for d in current}
    if span is not None:
        remembered |= {d: fp for d, fp in current.items() if d <= span[1]}
    return encode_cursor(remembered)


@dg.sensor(
    job=daily_segmentation_job,
    minimum_interval_seconds=get_settings().operations.sensor_interval_seconds,
    description="Runs the pipeline for delivery days whose landing files arrived or changed within the "
    "lookback window (operations.lookback_days), as one run from the oldest such day to the newest.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = get_settings()
    last_key = daily_partitions.get_last_partition_key()
    if last_key is None:
        return dg.SensorResult(skip_reason="no daily partition exists yet")
    watched = lookback_days(
        date.fromisoformat(last_key), settings.operations.lookback_days, settings.partitions_start
    )
    current = {day: day_fingerprint(settings.landing_dir, day) for day in watched}
    seen = decode_cursor(context.cursor)
    span = range_to_run(current, seen)
    cursor = next_cursor(current, seen, span)
    if span is None:
        return dg.SensorResult(
            skip_reason=f"no new or changed complete deliveries ready in {watched[0]} .. {watched[-1]}",
            cursor=cursor,
        )
    context.log.info(f"landing files ready for {span[0]} .. {span[1]}: requesting one run")
    return dg.SensorResult(run_requests=[run_request_for(*span, current)], cursor=cursor)
