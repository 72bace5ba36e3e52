"""Resources, built from the one typed config: the working DuckDB and the dbt CLI."""

from __future__ import annotations

from dagster_duckdb import DuckDBResource

from assets.transform.project import dbt_cli
from orchestration.settings import Settings


def build_resources(settings: Settings) -> dict[str, object]:
    settings.work_db.parent.mkdir(parents=True, exist_ok=True)
    return {
        "work_db": DuckDBResource(database=str(settings.work_db)),
        "dbt": dbt_cli(),
    }
