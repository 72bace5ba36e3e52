"""The one Definitions of the project: it only wires assets, checks, resources, jobs and schedules."""

from __future__ import annotations

import dagster as dg

from assets.extract.assets import extract_assets
from assets.kpis.assets import segment_kpis, segment_kpis_gx_suite
from assets.kpis.lifetime_value import clv_customer, clv_customer_gx_suite
from assets.publish.assets import serving_warehouse
from assets.publish.postgres_asset import postgres_warehouse
from assets.segments.assets import segment_history
from assets.transform.assets import behaviour_models
from orchestration.jobs import daily_segmentation_job, daily_segmentation_schedule
from orchestration.resources import build_resources
from orchestration.sensors import landing_sensor
from orchestration.settings import Settings, get_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """Definitions bound to one configuration (tests build their own against a temporary data_dir)."""
    return dg.Definitions(
        assets=[
            *extract_assets,
            behaviour_models,
            segment_history,
            segment_kpis,
            clv_customer,
            serving_warehouse,
            # PostgreSQL publish only when WAREHOUSE_URL is set; the serving file alone is the default.
            *([postgres_warehouse] if settings.warehouse_url is not None else []),
        ],
        asset_checks=[segment_kpis_gx_suite, clv_customer_gx_suite],
        jobs=[daily_segmentation_job],
        schedules=[daily_segmentation_schedule],
        sensors=[landing_sensor],
        resources=build_resources(settings),
        # Also for runs outside the job (`dagster asset materialize`, the UI's ad-hoc materialize):
        # see the job's executor in orchestration/jobs.py.
        executor=dg.in_process_executor,
    )


defs = build_definitions(get_settings())
