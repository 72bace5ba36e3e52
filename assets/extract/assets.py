"""Extract assets: `raw_orders`, `raw_events`, `raw_customers` — bronze Parquet per delivery day."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at definition time.
import time
from datetime import date

import dagster as dg
import polars as pl

from assets.extract.gate import GateResult, apply_gate
from assets.extract.landing import LandingContractError, read_landing_file
from assets.extract.sources import EXTRACT_SOURCES, ExtractSource
from assets.partition_store import remove_partition, replace_partition
from orchestration.partitions import daily_partitions, partition_days
from orchestration.settings import Settings, get_settings

QUARANTINE_CHECK = "quarantine_share_within_limit"


def extract_day(source: ExtractSource, day: date, settings: Settings) -> GateResult:
    """Gate one delivery day and replace its bronze (and quarantine) partition."""
    raw = read_landing_file(source.landing, settings.landing_dir, day)
    gate = apply_gate(
        raw, source.landing, source.model(settings.extract), day, settings.extract.max_lateness_days
    )
    bronze = source.to_bronze(gate.valid, settings.extract, settings.pseudonymisation_key_bytes())
    replace_partition(bronze, settings.bronze_dir, source.landing.name, day)
    if gate.quarantined.height:
        replace_partition(gate.quarantined, settings.quarantine_dir, source.landing.name, day)
    else:
        remove_partition(settings.quarantine_dir, source.landing.name, day)
    source_file = str(source.landing.path_for(settings.landing_dir, day))
    replace_partition(
        gate.quality_log(source.landing.name, day, source_file),
        settings.quality_dir,
        source.landing.name,
        day,
    )
    return gate


def _day_share(day_stats: dict) -> float:
    return day_stats["rows_quarantined"] / day_stats["rows_read"] if day_stats["rows_read"] else 0.0


def _build_extract_asset(source: ExtractSource) -> dg.AssetsDefinition:
    @dg.asset(
        name=source.asset_name,
        group_name="extract",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"polars", "parquet"},
        description=(
            f"Validated, pseudonymised {source.landing.name} as delivered each day "
            f"(bronze/{source.landing.name}/dt=YYYY-MM-DD). Rejected rows go to quarantine with a reason."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                QUARANTINE_CHECK,
                asset=source.asset_name,
                blocking=True,
                description="Share of quarantined rows stays below extract.max_quarantine_share.",
            )
        ],
    )
    def _extract(context: dg.AssetExecutionContext):
        settings = get_settings()
        if settings.uses_development_key:
            context.log.warning(
                "SEGMENTS_PSEUDONYMISATION_KEY is not set: using the development-only key. "
                "Set it (and SEGMENTS_ENVIRONMENT=production) for real customer data."
            )
        per_day = []
        for day in partition_days(context):
            started = time.perf_counter()
            try:
                gate = extract_day(source, day, settings)
            except LandingContractError as exc:
                raise dg.Failure(
                    description=f"{source.asset_name}: broken landing file, nothing downstream runs. {exc}",
                    allow_retries=False,
                ) from exc
            per_day.append(
                {
                    "day": day.isoformat(),
                    "rows_read": gate.rows_read,
                    "rows_valid": gate.valid.height,
                    "rows_quarantined": gate.quarantined.height,
                    "exact_duplicates_dropped": gate.exact_duplicates_dropped,
                    "reasons": gate.reason_counts(),
                }
            )
            context.log.info(
                f"{source.asset_name} {day}: {per_day[-1]} in {time.perf_counter() - started:.1f} s"
            )
        totals = (
            pl.DataFrame(per_day)
            .select(pl.col("rows_read", "rows_valid", "rows_quarantined", "exact_duplicates_dropped").sum())
            .row(0, named=True)
        )
        share = totals["rows_quarantined"] / totals["rows_read"] if totals["rows_read"] else 0.0
        worst = max(per_day, key=_day_share)
        worst_share = _day_share(worst)
        limit = settings.extract.max_quarantine_share
        yield dg.MaterializeResult(
            metadata={
                **totals,
                "quarantine_share": share,
                "days": len(per_day),
                "dagster/row_count": totals["rows_valid"],
            }
        )
        yield dg.AssetCheckResult(
            check_name=QUARANTINE_CHECK,
            passed=worst_share <= limit,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                f"worst day {worst['day']}: {worst_share:.3%} quarantined (limit {limit:.2%} a day); "
                f"{share:.3%} over the range"
            ),
            metadata={"worst_day_share": worst_share, "limit": limit, "worst_day": str(worst)},
        )

    return _extract


extract_assets = [_build_extract_asset(source) for source in EXTRACT_SOURCES]
