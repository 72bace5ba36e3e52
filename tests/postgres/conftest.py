"""A real PostgreSQL server for the warehouse tests: a fresh database and roles per session, dropped after.

The server is 127.0.0.1:5432 with trust auth on development machines and in CI (override the admin
connection with SEGMENTS_TEST_POSTGRES_URL). Under CI (env CI set) an unreachable server FAILS the
tests; locally they are skipped with the reason.
"""

from __future__ import annotations

import getpass
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from orchestration.settings import get_settings
from tests.e2e.landing_fixture import DAYS, write_landing

ADMIN_URL_ENV = "SEGMENTS_TEST_POSTGRES_URL"
SERVER = "host=127.0.0.1 port=5432 dbname=postgres connect_timeout=5"


def _admin_candidates() -> list[str]:
    if os.environ.get(ADMIN_URL_ENV):
        return [os.environ[ADMIN_URL_ENV]]
    return [f"{SERVER} user=postgres", f"{SERVER} user={getpass.getuser()}"]


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    errors = []
    for url in _admin_candidates():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                if conn.execute(
                    "select rolsuper or rolcreaterole from pg_roles where rolname = current_user"
                ).fetchone()[0]:
                    return url
                errors.append(f"{url}: cannot create roles")
        except psycopg.OperationalError as exc:
            errors.append(f"{url}: {str(exc).strip()}")
    message = "PostgreSQL for the warehouse tests is not usable: " + "; ".join(errors)
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: a missing server is a failure)")
    pytest.skip(message)


@dataclass(frozen=True)
class Warehouse:
    """The session's test database: `url` connects as its owner, the non-superuser publisher."""

    admin_url: str
    database: str
    publisher: str
    reader: str

    @property
    def url(self) -> str:
        return self.url_as(self.publisher)

    @property
    def admin_db_url(self) -> str:
        return make_conninfo(self.admin_url, dbname=self.database)

    def url_as(self, role: str) -> str:
        return make_conninfo(self.admin_url, dbname=self.database, user=role)


@pytest.fixture(scope="session")
def warehouse(pg_admin_url: str) -> Iterator[Warehouse]:
    name = f"segments_test_{uuid.uuid4().hex[:10]}"
    wh = Warehouse(pg_admin_url, name, f"{name}_publisher", f"{name}_reader")
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} login").format(sql.Identifier(wh.publisher)))
        admin.execute(
            sql.SQL("create database {} owner {}").format(sql.Identifier(name), sql.Identifier(wh.publisher))
        )
    try:
        yield wh
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
            for role in (wh.reader, wh.publisher):
                admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


@pytest.fixture(scope="session")
def reader_role(warehouse: Warehouse) -> str:
    """The BI role, created by the documented CLI (run as an admin of the test database)."""
    from assets.publish import postgres_roles

    assert (
        postgres_roles.main(
            ["--url", warehouse.admin_db_url, "--role", warehouse.reader, "--schema", "segments"]
        )
        == 0
    )
    return warehouse.reader


@dataclass(frozen=True)
class SampleRun:
    data_dir: Path
    serving_copy: Path  # the serving file right after the first run (other tests copy it, never change it)
    materialized: dict[str, dict[str, object]]  # asset → metadata of the first run


def env_for(warehouse: Warehouse, data_dir: Path, schema: str) -> dict[str, str]:
    return {
        "SEGMENTS_DATA_DIR": str(data_dir),
        "WAREHOUSE_URL": warehouse.url,
        "SEGMENTS_WAREHOUSE__SCHEMA_NAME": schema,
        "SEGMENTS_WAREHOUSE__READER_ROLE": warehouse.reader,
    }


def run_pipeline(
    env: dict[str, str], first: date, last: date, only: list[str] | None = None
) -> dg.ExecuteInProcessResult:
    """The real Definitions (built with WAREHOUSE_URL set) over [first, last], as `make run` does;
    `only`: materialize just these assets (a single day)."""
    from orchestration.definitions import build_definitions
    from orchestration.run_window import run_range

    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        try:
            defs = build_definitions(get_settings())
            with dg.instance_for_test() as instance:
                if only is None:
                    return run_range(first, last, instance=instance, defs=defs)
                assert first == last
                return defs.resolve_job_def("daily_segmentation").execute_in_process(
                    instance=instance,
                    partition_key=first.isoformat(),
                    asset_selection=[dg.AssetKey(key) for key in only],
                    raise_on_error=False,
                )
        finally:
            get_settings.cache_clear()


@pytest.fixture(scope="session")
def sample_run(
    warehouse: Warehouse, reader_role: str, dbt_manifest: Path, tmp_path_factory: pytest.TempPathFactory
) -> SampleRun:
    """The whole graph, PostgreSQL publish included, on the 3-day hand-written landing zone: once."""
    root = tmp_path_factory.mktemp("warehouse_sample")
    data_dir = root / "data"
    write_landing(data_dir / "landing")
    result = run_pipeline(env_for(warehouse, data_dir, "segments"), DAYS[0], DAYS[-1])
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    copy = root / "serving_after_first_run.duckdb"
    shutil.copyfile(data_dir / "serving" / "segments.duckdb", copy)
    materialized = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    return SampleRun(data_dir, copy, materialized)
