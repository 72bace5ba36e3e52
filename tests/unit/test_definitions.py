"""The asset graph as wired in the one Definitions: keys, groups, dependencies and blocking checks."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest


def test_graph_wiring(dbt_manifest: Path) -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    stages = {
        "extract": {"raw_orders", "raw_events", "raw_customers"},
        "transform": {"stg_orders", "stg_events", "stg_customers", "fct_orders", "fct_sessions",
                      "dim_customers", "customer_daily_activity"},
        "segments": {"segment_history"},
        "kpis": {"segment_kpis", "clv_customer"},
        "publish": {"serving_warehouse"},
    }  # fmt: skip
    for group, members in stages.items():
        assert members <= keys
        for key in members:
            assert graph.get(dg.AssetKey(key)).group_name == group, key

    def upstream(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(key)).parent_keys}

    assert {"raw_orders"} <= upstream("stg_orders")  # dbt sources map onto the extract assets
    assert {"fct_orders", "fct_sessions", "dim_customers", "customer_daily_activity"} <= upstream(
        "segment_history"
    )
    assert {"segment_history", "customer_daily_activity"} <= upstream("segment_kpis")
    assert {"segment_history", "segment_kpis"} <= upstream("serving_warehouse")
    assert {"segment_history", "fct_orders"} <= upstream("clv_customer")
    assert "clv_customer" in upstream("serving_warehouse")

    check_keys = graph.asset_check_keys
    blocking = {
        (k.asset_key.to_user_string(), k.name) for k in check_keys if graph.get_check_spec(k).blocking
    }
    assert ("segment_history", "segment_history_gx_suite") in blocking
    assert ("segment_kpis", "segment_kpis_gx_suite") in blocking
    assert ("clv_customer", "clv_customer_gx_suite") in blocking
    assert ("raw_orders", "quarantine_share_within_limit") in blocking
    dbt_mart_checks = {asset for asset, _ in blocking if asset in stages["transform"]}
    assert {"fct_orders", "fct_sessions", "dim_customers", "customer_daily_activity"} <= dbt_mart_checks

    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            assert node.partitions_def is not None, key
            assert node.backfill_policy == dg.BackfillPolicy.single_run(), key

    assert defs.resolve_job_def("daily_segmentation") is not None
    assert defs.resolve_schedule_def("daily_segmentation_schedule").cron_schedule == "0 2 * * *"


def test_operations_wiring(dbt_manifest: Path) -> None:
    from orchestration.definitions import defs
    from orchestration.settings import get_settings

    operations = get_settings().operations
    sensor = defs.resolve_sensor_def("landing_sensor")
    assert sensor.minimum_interval_seconds == operations.sensor_interval_seconds
    job = defs.resolve_job_def("daily_segmentation")
    assert job.op_retry_policy is not None
    assert job.op_retry_policy.max_retries == operations.retry_max
    assert job.op_retry_policy.backoff == dg.Backoff.EXPONENTIAL


def test_postgres_publish_is_wired_only_when_warehouse_url_is_set(
    dbt_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.definitions import build_definitions
    from orchestration.settings import get_settings

    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    get_settings.cache_clear()
    default = build_definitions(get_settings()).resolve_asset_graph()
    assert dg.AssetKey("postgres_warehouse") not in default.get_all_asset_keys()

    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://publisher@warehouse.invalid:5432/bi")
    get_settings.cache_clear()
    defs = build_definitions(get_settings())
    node = defs.resolve_asset_graph().get(dg.AssetKey("postgres_warehouse"))
    assert node.group_name == "publish"
    assert {k.to_user_string() for k in node.parent_keys} == {"serving_warehouse"}
    assert node.backfill_policy == dg.BackfillPolicy.single_run() and node.partitions_def is not None
    job = defs.resolve_job_def("daily_segmentation")
    assert dg.AssetKey("postgres_warehouse") in job.asset_layer.asset_graph.get_all_asset_keys()
