"""Resources, built from the one typed config: the working DuckDB, dbt and the PostgreSQL warehouse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.publish.postgres import PostgresPublish, WarehouseTarget, publish_to_postgres
from assets.transform.project import dbt_cli
from orchestration.settings import Settings

WAREHOUSE_URL_ENV = "WAREHOUSE_URL"


class PostgresWarehouse(dg.ConfigurableResource):
    """The PostgreSQL database BI reads. `url` comes from WAREHOUSE_URL through `dg.EnvVar`, so Dagster
    resolves it at run time and never shows it in the UI; the rest comes from `[warehouse]` in config."""

    url: str
    # No defaults here: `[warehouse]` in config/pipeline.toml is the one place for them.
    schema_name: str
    reader_role: str
    swap_wait_seconds: float
    lock_timeout_seconds: float

    def target(self) -> WarehouseTarget:
        return WarehouseTarget(
            url=self.url,
            schema=self.schema_name,
            reader_role=self.reader_role,
            swap_wait_seconds=self.swap_wait_seconds,
            lock_timeout_seconds=self.lock_timeout_seconds,
        )

    def publish(self, serving_db: Path, on_step: Callable[[str], None] | None = None) -> PostgresPublish:
        return publish_to_postgres(serving_db, self.target(), on_step)


def postgres_warehouse_resource(settings: Settings) -> PostgresWarehouse | None:
    """None when WAREHOUSE_URL is unset: the DuckDB serving file alone is the zero-setup default."""
    if settings.warehouse_url is None:
        return None
    options = settings.warehouse
    return PostgresWarehouse(
        url=dg.EnvVar(WAREHOUSE_URL_ENV),
        schema_name=options.schema_name,
        reader_role=options.reader_role,
        swap_wait_seconds=options.swap_wait_seconds,
        lock_timeout_seconds=options.lock_timeout_seconds,
    )


def build_resources(settings: Settings) -> dict[str, object]:
    settings.work_db.parent.mkdir(parents=True, exist_ok=True)
    resources: dict[str, object] = {
        "work_db": DuckDBResource(
            database=str(settings.work_db),
            connection_config={"memory_limit": settings.operations.duckdb_memory_limit},
        ),
        "dbt": dbt_cli(),
    }
    warehouse = postgres_warehouse_resource(settings)
    if warehouse is not None:
        resources["warehouse"] = warehouse
    return resources
