"""`postgres_warehouse`: the serving file's tables, copied into PostgreSQL for BI (when configured)."""

# No `from __future__ import annotations`: Dagster inspects the resource annotation at definition time.
import dagster as dg

from assets.publish.assets import serving_warehouse
from orchestration.partitions import daily_partitions
from orchestration.resources import PostgresWarehouse
from orchestration.settings import get_settings


@dg.asset(
    group_name="publish",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"postgres"},
    deps=[serving_warehouse],
)
def postgres_warehouse(
    context: dg.AssetExecutionContext, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    """Every published table in the warehouse schema, swapped in atomically after the serving file.

    The serving file is the source (it is already gated and swapped in), so whatever days the run
    covers, PostgreSQL ends up equal to the serving file. Only in Definitions when WAREHOUSE_URL is set.
    """
    result = warehouse.publish(get_settings().serving_db, on_step=context.log.debug)
    log = context.log.info if result.swapped else context.log.warning
    for note in result.notes:
        log(note)
    context.log.info(
        f"published {len(result.row_counts)} tables to schema {warehouse.schema_name} in {result.seconds}s"
        + ("" if result.swapped else " (NOT swapped in: the warehouse holds a newer publish)")
    )
    return dg.MaterializeResult(
        metadata={
            "schema": warehouse.schema_name,
            "publish_id": result.publish_id or "",
            "swapped": result.swapped,
            "publish_seconds": dg.MetadataValue.float(result.seconds),
            "row_counts": dg.MetadataValue.json(result.row_counts),
            "dagster/row_count": sum(result.row_counts.values()),
        }
    )
