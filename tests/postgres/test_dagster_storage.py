"""Dagster's run and event storage in PostgreSQL (config/dagster.postgres.yaml), tested once for real.

The real graph runs on the hand-written landing zone with an instance built from the shipped
production instance file, against a fresh database on the local server; the run, its asset
materializations and its check results must then be readable back from PostgreSQL.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from orchestration.settings import PROJECT_ROOT, get_settings
from tests.e2e.landing_fixture import DAYS, write_landing

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def dagster_database(pg_admin_url: str) -> Iterator[str]:
    """A throwaway database for Dagster's storage, as a SQLAlchemy URL (psycopg2 driver).

    The server comes from the warehouse tests' `pg_admin_url`, which fails under CI when it is missing.
    """
    name = f"dagster_storage_{uuid.uuid4().hex[:10]}"
    params = conninfo_to_dict(pg_admin_url)
    credentials = params["user"] + (f":{params['password']}" if params.get("password") else "")
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        try:
            yield f"postgresql+psycopg2://{credentials}@{params['host']}:{params.get('port', 5432)}/{name}"
        finally:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_real_graph_runs_on_postgres_backed_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dbt_manifest: Path, dagster_database: str
) -> None:
    monkeypatch.setenv("SEGMENTS_DATA_DIR", str(tmp_path / "data"))
    # dagster-postgres needs the psycopg2 driver: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3,
    # whose server-side parameters break Dagster's `NOTIFY run_events, %(id)s`.
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_database)
    get_settings.cache_clear()
    settings = get_settings()
    write_landing(settings.landing_dir)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "config" / "dagster.postgres.yaml", home / "dagster.yaml")

    from orchestration.definitions import build_definitions
    from orchestration.run_window import run_range

    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = run_range(DAYS[0], DAYS[-1], instance=instance, defs=build_definitions(settings))
        assert result.success
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        run_id = result.run_id

    with psycopg.connect(dagster_database.replace("postgresql+psycopg2://", "postgresql://")) as conn:
        (status,) = conn.execute("select status from runs where run_id = %s", [run_id]).fetchone()
        materialized = {
            key
            for (key,) in conn.execute(
                "select distinct asset_key from event_logs where run_id = %s and dagster_event_type = %s",
                [run_id, "ASSET_MATERIALIZATION"],
            )
        }
        checks = conn.execute(
            "select count(*) from event_logs where run_id = %s and dagster_event_type = %s",
            [run_id, "ASSET_CHECK_EVALUATION"],
        ).fetchone()[0]
    assert status == "SUCCESS"
    assert '["serving_warehouse"]' in materialized and '["segment_history"]' in materialized
    assert checks > 0
