"""Jobs and schedules: the whole graph per day, and a daily schedule for yesterday's deliveries."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import get_settings

_operations = get_settings().operations

daily_segmentation_job = dg.define_asset_job(
    name="daily_segmentation",
    selection=dg.AssetSelection.all(),
    description="Extract → dbt → segments → KPIs → publish for one day or a range (one run per range).",
    # Steps share one process: they run one at a time anyway (the duckdb_writer pool), and a fresh
    # process per step paid ~12 s of imports (Dagster, dbt, GX, PyMC) each, two minutes a daily run.
    executor_def=dg.in_process_executor,
    # Broken landing files raise Failure(allow_retries=False) and failed blocking checks are not
    # retried by Dagster either: only errors that might pass on a second try (I/O, locks) are.
    op_retry_policy=dg.RetryPolicy(
        max_retries=_operations.retry_max,
        delay=_operations.retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    ),
)

# Landing files for day D are complete after midnight; 02:00 leaves the shop's export time to finish.
daily_segmentation_schedule = dg.build_schedule_from_partitioned_job(
    daily_segmentation_job, hour_of_day=2, minute_of_hour=0
)
