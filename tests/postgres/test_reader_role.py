"""The BI role can SELECT the published schema and nothing else."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import psycopg
import pytest

from assets.publish.postgres import WarehouseTarget, publish_to_postgres
from tests.postgres.conftest import SampleRun, Warehouse

pytestmark = pytest.mark.postgres

SCHEMA = "bi_segments"


@pytest.fixture(scope="module")
def bi(
    sample_run: SampleRun, warehouse: Warehouse, reader_role: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[psycopg.Connection]:
    serving = tmp_path_factory.mktemp("role") / "segments.duckdb"
    shutil.copyfile(sample_run.serving_copy, serving)
    publish_to_postgres(serving, WarehouseTarget(url=warehouse.url, schema=SCHEMA, reader_role=reader_role))
    with psycopg.connect(warehouse.url, autocommit=True) as owner:
        # What BI must never see: a staging schema as a publisher leaves it, and pipeline-internal data.
        for schema in (f"{SCHEMA}_staging_0123456789ab", "quarantine", "bronze"):
            owner.execute(f"create schema {schema}")
            owner.execute(f"create table {schema}.rows as select 1 as id")
    with psycopg.connect(warehouse.url_as(reader_role), autocommit=True) as conn:
        yield conn


def test_reader_can_select_the_published_tables(bi: psycopg.Connection) -> None:
    assert bi.execute(f"select count(*) from {SCHEMA}.segment_membership").fetchone()[0] > 0
    assert bi.execute(f"select count(*) from {SCHEMA}.segments_as_of(date '2025-09-02')").fetchone()[0] > 0
    assert bi.execute("show default_transaction_read_only").fetchone()[0] == "on"


@pytest.mark.parametrize(
    "statement",
    [
        f"insert into {SCHEMA}.customers (customer_key) values ('x')",
        f"update {SCHEMA}.segment_catalog set customers = 0",
        f"delete from {SCHEMA}.publish_log",
        f"truncate {SCHEMA}.customers",
        f"create table {SCHEMA}.mine (id int)",
        "create table public.mine (id int)",
        "create schema mine",
        f"drop table {SCHEMA}.customers",
        f"alter table {SCHEMA}.customers add column x int",
    ],
)
def test_reader_cannot_write_or_create_even_in_a_read_write_transaction(
    bi: psycopg.Connection, statement: str
) -> None:
    # Read-only sessions are only the default: privileges must refuse the statement on their own.
    with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)):
        bi.execute(statement)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), bi.transaction():
        bi.execute("set transaction read write")
        bi.execute(statement)


@pytest.mark.parametrize("schema", [f"{SCHEMA}_staging_0123456789ab", "quarantine", "bronze"])
def test_reader_cannot_read_staging_or_pipeline_data(bi: psycopg.Connection, schema: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bi.execute(f"select * from {schema}.rows")


def test_role_cli_is_idempotent(warehouse: Warehouse, reader_role: str) -> None:
    from assets.publish import postgres_roles

    args = ["--url", warehouse.admin_db_url, "--role", reader_role, "--schema", SCHEMA]
    assert postgres_roles.main(args) == 0
    assert postgres_roles.main(args) == 0
