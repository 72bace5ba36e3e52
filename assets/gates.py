"""great-expectations gates for the polars output tables, as Dagster asset check results.

GX 1.x has no polars data source, so each gate converts *at its edge* (the frame it checks is a
small per-day summary or one day's rows, not history) and validates through the documented path:
ephemeral context → pandas data source → whole-dataframe batch → suite → validation definition →
checkpoint. The result becomes an `AssetCheckResult` whose metadata names every failed
expectation with its column and a few failing values.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import dagster as dg
import polars as pl

# GX would phone home with usage statistics; this pipeline runs offline and must not try.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations import Expectation


def validate_with_gx(
    suite_name: str, batches: Sequence[tuple[str, pl.DataFrame, Sequence[Expectation]]]
) -> tuple[bool, dict[str, Any]]:
    """Run each (batch name, frame, expectations) through a GX checkpoint; return (passed, details)."""
    context = gx.get_context(mode="ephemeral")
    # Per-metric tqdm bars would flood the Dagster run log.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas(suite_name)
    failures: list[dict[str, Any]] = []
    evaluated = 0
    for batch_name, frame, expectations in batches:
        batch = source.add_dataframe_asset(batch_name).add_batch_definition_whole_dataframe("whole")
        suite = context.suites.add(gx.ExpectationSuite(name=f"{suite_name}.{batch_name}"))
        for expectation in expectations:
            suite.add_expectation(expectation)
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite_name}.{batch_name}", data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(name=f"{suite_name}.{batch_name}", validation_definitions=[validation])
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": frame.to_pandas()})
        for validation_result in outcome.run_results.values():
            for result in validation_result.results:
                evaluated += 1
                if not result.success:
                    config = result.expectation_config
                    failures.append(
                        {
                            "batch": batch_name,
                            "expectation": config.type,
                            "kwargs": {k: v for k, v in config.kwargs.items() if k != "batch_id"},
                            "unexpected_count": result.result.get("unexpected_count"),
                            "examples": [
                                str(v) for v in (result.result.get("partial_unexpected_list") or [])[:5]
                            ],
                            "observed": str(result.result.get("observed_value")),
                        }
                    )
    return not failures, {"expectations_evaluated": evaluated, "failed_expectations": failures}


def gx_check_result(
    suite_name: str, batches: Sequence[tuple[str, pl.DataFrame, Sequence[Expectation]]]
) -> dg.AssetCheckResult:
    passed, details = validate_with_gx(suite_name, batches)
    failed = details["failed_expectations"]
    summary = (
        f"{details['expectations_evaluated']} expectations passed"
        if passed
        else "; ".join(f"{f['batch']}: {f['expectation']} {f['kwargs']} e.g. {f['examples']}" for f in failed)
    )
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary[:2000],
        metadata={
            "expectations_evaluated": details["expectations_evaluated"],
            "failed_expectations": dg.MetadataValue.json(failed),
        },
    )
