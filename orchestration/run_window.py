"""`python -m orchestration.run_window`: materialize the whole graph for a range of days as ONE run.

This is what `make run` calls on the bundled sample. The range defaults to every day that has an
orders file in the landing zone, so the command works for any generated window. The run goes
through the Dagster instance in DAGSTER_HOME, so it shows up in the UI (`make dev`) like any other.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from datetime import date

import dagster as dg
import duckdb

from assets.extract.landing import ORDERS
from assets.publish.tables import PUBLISHED_TABLES, SEGMENT_CATALOG
from assets.work_db import scalar
from orchestration.partitions import daily_partitions
from orchestration.settings import get_settings


def landing_days() -> list[date]:
    folder = ORDERS.path_for(get_settings().landing_dir, date.today()).parent
    stems = sorted(p.stem.removeprefix(f"{ORDERS.name}_") for p in folder.glob(f"{ORDERS.name}_*.csv"))
    return [date.fromisoformat(s) for s in stems]


# Which process runs a run started here, so a later run can tell that it died (see release_dead_runs).
HOST_TAG = "segments/host"
PID_TAG = "segments/pid"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the runs started here whose process is gone, and free their concurrency slots.

    A run killed hard (SIGKILL, OOM, power loss) never releases its `duckdb_writer` slot (limit 1),
    and no daemon watches in-process runs: every later run would wait for that slot forever. Only
    runs tagged with this host and a pid that no longer exists are touched (a reused pid leaves the
    run alone, as before).
    """
    in_progress = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    host = socket.gethostname()
    released = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=in_progress, tags={HOST_TAG: host})):
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or _process_alive(int(pid)):
            continue
        instance.report_run_failed(run, f"process {pid} on {host} died while the run was in progress")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


def run_range(
    start: date, end: date, instance: dg.DagsterInstance | None = None, defs: dg.Definitions | None = None
) -> dg.ExecuteInProcessResult:
    """One run for [start, end]: each stage sees the whole range (single-run backfill policy)."""
    if defs is None:
        from orchestration.definitions import defs
    job = defs.resolve_job_def("daily_segmentation")
    instance = instance or dg.DagsterInstance.get()
    for run_id in release_dead_runs(instance):
        print(f"run {run_id} died unfinished: marked failed, its concurrency slots freed", file=sys.stderr)
    return job.execute_in_process(
        instance=instance,
        # Per-step DEBUG events stay in the instance (UI); the terminal gets progress at INFO.
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            HOST_TAG: socket.gethostname(),
            PID_TAG: str(os.getpid()),
        },
        raise_on_error=False,
    )


def summary(result: dg.ExecuteInProcessResult) -> str:
    settings = get_settings()
    checks = result.get_asset_check_evaluations()
    passed = sum(1 for c in checks if c.passed)
    lines = [f"checks passed: {passed}/{len(checks)}"]
    failed = [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed]
    if failed:
        lines.append(f"checks FAILED: {failed}")
    if not settings.serving_db.exists():
        return "\n".join([*lines, "nothing published yet"])
    with duckdb.connect(str(settings.serving_db), read_only=True) as conn:
        lines.append(f"published tables in {settings.serving_db}:")
        for table in PUBLISHED_TABLES:
            rows = scalar(conn, f"select count(*) from {table.name}")
            lines.append(f"  {table.name:<22} {rows:>10,} rows")
        lines.append("segment sizes today (segment_catalog):")
        for family, segment, size in conn.execute(
            f"select family, segment, customers from {SEGMENT_CATALOG.name} order by family, customers desc"
        ).fetchall():
            lines.append(f"  {family:<12} {segment:<28} {size:>10,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, help="first day (default: first landing day)")
    parser.add_argument("--end", type=date.fromisoformat, help="last day (default: last landing day)")
    args = parser.parse_args(argv)
    days = landing_days()
    if not days and not (args.start and args.end):
        print(f"no landing files in {get_settings().landing_dir}; run `make sample` first", file=sys.stderr)
        return 2
    start, end = args.start or days[0], args.end or days[-1]
    first_key, last_key = (
        daily_partitions.get_first_partition_key(),
        daily_partitions.get_last_partition_key(),
    )
    if start.isoformat() < first_key or end.isoformat() > last_key:
        print(
            f"{start} .. {end} is outside the daily partitions {first_key} .. {last_key} "
            "(partitions_start in config/pipeline.toml or SEGMENTS_PARTITIONS_START; days after "
            "yesterday do not exist yet)",
            file=sys.stderr,
        )
        return 2
    print(f"materializing {start} .. {end} as one run")
    result = run_range(start, end)
    print(summary(result))
    if not result.success:
        failures = [e.message for e in result.all_events if e.is_failure]
        print("run FAILED:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
