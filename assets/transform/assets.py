"""dbt models as Dagster assets: sources map onto the extract assets, tests become blocking checks."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at definition time.
import shutil
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from assets.transform.project import dbt_build_args, dbt_environment, dbt_project
from orchestration.partitions import daily_partitions, partition_days
from orchestration.settings import get_settings

WORK_DB_POOL = "duckdb_writer"


class SegmentsDbtTranslator(DagsterDbtTranslator):
    """Models land in the `transform` group; sources keep the keys their `meta.dagster` gives them."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("model."):
            return spec.replace_attributes(group_name="transform")
        return spec


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=SegmentsDbtTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WORK_DB_POOL,
)
def behaviour_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Build every selected model and run its tests, once for the whole partition range."""
    settings = get_settings()
    days = partition_days(context)
    settings.work_db.parent.mkdir(parents=True, exist_ok=True)
    with dbt_environment(settings):
        args = dbt_build_args(settings, days[0], days[-1])
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        yield from invocation.stream()
    if not invocation.is_successful():
        try:
            results = invocation.get_artifact("run_results.json").get("results", [])
        except FileNotFoundError:  # dbt stopped before running anything (bad vars, broken project)
            results = []
        # No failed node means dbt stopped before or around the nodes (profile, lock, parse): its own
        # error (with the tail of dbt.log) says why.
        reason = failed_nodes(results) or str(invocation.get_error())
        raise dg.Failure(
            description=f"dbt build failed for {days[0]} .. {days[-1]}: {reason}",
            allow_retries=is_transient(results),
        )
    # dagster-dbt gives every invocation its own target folder (artifacts, compiled SQL, dbt.log)
    # and never removes it: a daily schedule would add one a day to dbt_project/target. What a
    # successful build said is in the run's event log; a failed build keeps its folder to debug.
    shutil.rmtree(invocation.target_path, ignore_errors=True)


def failed_nodes(results: list[dict[str, Any]]) -> list[str]:
    return [f"{r['unique_id']} ({r['status']})" for r in results if r.get("status") in ("error", "fail")]


def is_transient(results: list[dict[str, Any]]) -> bool:
    """Only a lock held by another process is worth retrying; failed tests and SQL errors repeat."""
    failed = [r for r in results if r.get("status") in ("error", "fail")]
    return bool(failed) and all(
        r.get("status") == "error" and "lock" in (r.get("message") or "").lower() for r in failed
    )
