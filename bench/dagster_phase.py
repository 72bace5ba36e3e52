"""`python -m bench.dagster_phase --start D1 --end D2 --result FILE [--assets a,b | --select S]`: one measured
Dagster run.

Without `--assets` or `--select`: the whole graph for [D1, D2] as one run, through
`orchestration.run_window.run_range` (what `make run` does). With `--assets`: the same job restricted to
those assets (their checks included), on whatever the earlier runs left in the data directory. With
`--select`: the assets a Dagster selection string names (`dagster asset list --select` syntax), e.g.
`'not key:"segment_history"+'` for every stage before the segment stage. Writes success, the per-step
durations from the run's STEP_SUCCESS / STEP_FAILURE events and the check outcomes to FILE as JSON.
Paths and the partition start come from the environment (SEGMENTS_DATA_DIR, DAGSTER_HOME, ...).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

STEP_EVENTS = ("STEP_SUCCESS", "STEP_FAILURE")


def selected_keys(assets: list[str], select: str) -> list[dg.AssetKey]:
    """The asset keys `--assets` lists, or those the selection string `--select` resolves to."""
    if not select:
        return [dg.AssetKey(name) for name in assets]
    from orchestration.definitions import defs

    keys = dg.AssetSelection.from_string(select).resolve(defs.resolve_asset_graph())
    if not keys:
        raise SystemExit(f"--select {select!r} names no asset")
    return sorted(keys, key=lambda key: key.to_user_string())


def execute(start: date, end: date, keys: list[dg.AssetKey]) -> dg.ExecuteInProcessResult:
    from orchestration.run_window import run_range

    if not keys:
        return run_range(start, end)
    from orchestration.definitions import defs

    job = defs.resolve_job_def("daily_segmentation")
    return job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        asset_selection=keys,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
        raise_on_error=False,
    )


def describe(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    steps: dict[str, float] = {}
    failed: list[str] = []
    for event in result.all_events:
        if event.event_type_value in STEP_EVENTS and event.step_key:
            data = event.event_specific_data
            duration = getattr(data, "duration_ms", None)
            if duration is not None:
                steps[event.step_key] = round(duration / 1000, 3)
            if event.event_type_value == "STEP_FAILURE":
                failed.append(event.step_key)
    checks = result.get_asset_check_evaluations()
    return {
        "success": result.success,
        "run_id": result.run_id,
        "steps_s": dict(sorted(steps.items(), key=lambda item: -item[1])),
        "failed_steps": failed,
        "checks_passed": sum(1 for c in checks if c.passed),
        "checks_total": len(checks),
        "checks_failed": [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--end", type=date.fromisoformat, required=True)
    parser.add_argument("--assets", default="", help="comma-separated asset keys (default: the whole graph)")
    parser.add_argument("--select", default="", help="a Dagster asset selection string instead of --assets")
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.assets and args.select:
        parser.error("give --assets or --select, not both")
    keys = selected_keys([name for name in args.assets.split(",") if name], args.select)
    names = ", ".join(key.to_user_string() for key in keys) or "the whole graph"
    print(f"[dagster_phase] {args.start}..{args.end}: {names}", flush=True)
    outcome = describe(execute(args.start, args.end, keys))
    args.result.write_text(json.dumps(outcome, indent=2) + "\n")
    return 0 if outcome["success"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
