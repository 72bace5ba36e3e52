"""`serving_warehouse`: the published tables, swapped in only after every upstream gate passed."""

# No `from __future__ import annotations`: Dagster inspects the context annotation at definition time.
import dagster as dg

from assets.extract.sources import EXTRACT_SOURCES
from assets.kpis.assets import CAMPAIGNS_DATASET, EXPERIMENTS_DATASET, RETENTION_DATASET, segment_kpis
from assets.kpis.assets import DATASET as KPIS_DATASET
from assets.kpis.assets import LONG_DATASET as KPI_LONG_DATASET
from assets.kpis.lifetime_value import DATASET as CLV_DATASET
from assets.kpis.lifetime_value import KPI_DATASET as CLV_KPI_DATASET
from assets.kpis.lifetime_value import clv_customer
from assets.partition_store import partition_path
from assets.publish.serving import PublishRequest, publish
from assets.segments.assets import segment_history
from assets.segments.engine import segment_catalog
from assets.transform.assets import WORK_DB_POOL
from orchestration.partitions import daily_partitions, partition_days
from orchestration.settings import get_settings


@dg.asset(
    group_name="publish",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WORK_DB_POOL,
    kinds={"duckdb"},
    deps=[
        segment_history,
        segment_kpis,
        clv_customer,
        "dim_customers",
        *(s.asset_name for s in EXTRACT_SOURCES),
    ],
)
def serving_warehouse(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Segment history, membership, migration, catalog, audiences, KPIs, customers in the serving file."""
    settings = get_settings()
    days = partition_days(context)
    request = PublishRequest(
        serving_db=settings.serving_db,
        work_db=settings.work_db,
        run_id=context.run.run_id,
        days=days,
        kpi_files=[partition_path(settings.gold_dir, KPIS_DATASET, day) for day in days],
        kpi_long_files=[partition_path(settings.gold_dir, KPI_LONG_DATASET, day) for day in days],
        retention_file=partition_path(settings.gold_dir, RETENTION_DATASET, days[-1]),
        experiments_file=partition_path(settings.gold_dir, EXPERIMENTS_DATASET, days[-1]),
        quality_files=[
            partition_path(settings.quality_dir, source.landing.name, day)
            for source in EXTRACT_SOURCES
            for day in days
        ],
        catalog=segment_catalog(settings),
        campaigns_file=partition_path(settings.gold_dir, CAMPAIGNS_DATASET, days[-1]),
        clv_file=partition_path(settings.gold_dir, CLV_DATASET, days[-1]),
        clv_kpis_file=partition_path(settings.gold_dir, CLV_KPI_DATASET, days[-1]),
        memory_limit=settings.operations.duckdb_memory_limit,
    )
    counts = publish(request)
    context.log.info(f"published {settings.serving_db}: {counts}")
    return dg.MaterializeResult(
        metadata={
            "serving_db": dg.MetadataValue.path(str(settings.serving_db)),
            "row_counts": dg.MetadataValue.json(counts),
            "dagster/row_count": counts["segment_membership"],
        }
    )
