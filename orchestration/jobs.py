"""Jobs and schedules: the whole graph per day, and a daily schedule for yesterday's deliveries."""

from __future__ import annotations

import dagster as dg

from orchestration.partitions import daily_partitions

daily_segmentation_job = dg.define_asset_job(
    name="daily_segmentation",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Extract → dbt → segments → KPIs → publish for one day or a range (one run per range).",
)

# Landing files for day D are complete after midnight; 02:00 leaves the shop's export time to finish.
daily_segmentation_schedule = dg.build_schedule_from_partitioned_job(
    daily_segmentation_job, hour_of_day=2, minute_of_hour=0
)
