"""Daily partitions: one partition per delivery day, shared by every asset of the graph."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from orchestration.settings import get_settings

daily_partitions = dg.DailyPartitionsDefinition(start_date=get_settings().partitions_start.isoformat())


def partition_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    """Every day of the run's partition range (a single-run backfill hands over many at once)."""
    window = context.partition_time_window
    first = window.start.date()
    count = (window.end.date() - first).days
    return [first + timedelta(days=offset) for offset in range(count)]
