"""The real graph with WAREHOUSE_URL set: PostgreSQL ends up equal to the DuckDB serving file."""

from __future__ import annotations

import psycopg
import pytest

from assets.publish.tables import PUBLISH_LOG, PUBLISHED_TABLES
from tests.e2e.landing_fixture import DAYS
from tests.postgres.conftest import SampleRun, Warehouse, env_for, run_pipeline
from tests.postgres.helpers import duck_rows, fingerprint, pg_rows, schemas_like

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

SCHEMA = "segments"
# What tests/e2e/test_daily_graph.py holds unchanged by a rerun (the CLV rows of kpi_daily, e.g.,
# follow the run's last day by design); every table is compared with the serving file besides.
IDEMPOTENT = ["segment_membership", "segment_history", "segment_migration", "segment_kpis_daily", "customers"]


def assert_warehouse_equals_serving(pg: psycopg.Connection, run: SampleRun) -> None:
    serving = run.data_dir / "serving" / "segments.duckdb"
    for table in PUBLISHED_TABLES:
        pg_columns, pg_data = pg_rows(pg, SCHEMA, table.name)
        duck_columns, duck_data = duck_rows(serving, table.name)
        assert pg_columns == duck_columns == list(table.columns), table.name
        assert pg_data == duck_data, table.name


def test_publish_equals_the_serving_file_with_keys_types_and_comments(
    sample_run: SampleRun, warehouse: Warehouse
) -> None:
    metadata = sample_run.materialized["postgres_warehouse"]
    assert metadata["swapped"] is True and metadata["schema"] == SCHEMA
    assert metadata["publish_seconds"] > 0
    with psycopg.connect(warehouse.url, autocommit=True) as pg:
        assert_warehouse_equals_serving(pg, sample_run)
        counts = metadata["row_counts"]
        assert counts["segment_membership"] > 0 and set(counts) == {t.name for t in PUBLISHED_TABLES}

        for table in PUBLISHED_TABLES:
            key = pg.execute(
                """select array_agg(a.attname::text order by k.ord)
                from pg_constraint c
                cross join unnest(c.conkey) with ordinality as k(attnum, ord)
                join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
                where c.contype = 'p' and c.conrelid = %s::regclass""",
                [f"{SCHEMA}.{table.name}"],
            ).fetchone()[0]
            assert tuple(key) == table.primary_key, table.name
            comment = pg.execute(
                "select obj_description(%s::regclass, 'pg_class')", [f"{SCHEMA}.{table.name}"]
            )
            assert comment.fetchone()[0] == table.description
            column_comments = dict(
                pg.execute(
                    """select a.attname::text, col_description(a.attrelid, a.attnum) from pg_attribute a
                    where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped""",
                    [f"{SCHEMA}.{table.name}"],
                ).fetchall()
            )
            assert column_comments == table.columns, table.name

        types = dict(
            pg.execute(
                """select table_name || '.' || column_name, data_type from information_schema.columns
                where table_schema = %s""",
                [SCHEMA],
            ).fetchall()
        )
        assert types["publish_log.row_counts"] == "jsonb"
        assert types["publish_log.published_at"] == "timestamp with time zone"
        assert types["segment_history.valid_from"] == "date"
        assert types["segment_kpis_daily.revenue_eur"] == "double precision"
        assert types["segment_kpis_daily.customers"] == "bigint"
        assert types["customers.marketing_consent"] == "boolean"

        # The serving file's segments_as_of(D) macro exists in PostgreSQL too.
        as_of = pg.execute(
            f"select count(*) from {SCHEMA}.segments_as_of(%s) where family = 'rfm'", [DAYS[1]]
        ).fetchone()[0]
        assert as_of == 3  # c1, c2, c3 were known on day 2
        leftovers = schemas_like(pg, f"{SCHEMA}_staging_") + schemas_like(pg, f"{SCHEMA}_old_")
        assert leftovers == []  # no staging or old schema left behind


def test_rerunning_changes_nothing_but_the_publish_log(sample_run: SampleRun, warehouse: Warehouse) -> None:
    env = env_for(warehouse, sample_run.data_dir, SCHEMA)
    with psycopg.connect(warehouse.url, autocommit=True) as pg:
        before = {t: pg_rows(pg, SCHEMA, t)[1] for t in IDEMPOTENT}
        logged_before = pg_rows(pg, SCHEMA, PUBLISH_LOG.name)[1]

    result = run_pipeline(env, DAYS[1], DAYS[1])
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert "postgres_warehouse" in {
        e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
    }
    with psycopg.connect(warehouse.url, autocommit=True) as pg:
        # The tables tests/e2e holds idempotent are unchanged; every table still mirrors the serving file.
        assert {t: pg_rows(pg, SCHEMA, t)[1] for t in IDEMPOTENT} == before
        assert len(pg_rows(pg, SCHEMA, PUBLISH_LOG.name)[1]) == len(logged_before) + 1
        assert_warehouse_equals_serving(pg, sample_run)
        everything = {t.name: pg_rows(pg, SCHEMA, t.name) for t in PUBLISHED_TABLES}
        oids = fingerprint(pg, SCHEMA)

    # Publishing the same serving file again changes nothing at all, publish_log included (it mirrors
    # the file), though the tables are new ones swapped in.
    again = run_pipeline(env, DAYS[1], DAYS[1], only=["postgres_warehouse"])
    assert again.success, [e.message for e in again.all_events if e.is_failure]
    with psycopg.connect(warehouse.url, autocommit=True) as pg:
        assert {t.name: pg_rows(pg, SCHEMA, t.name) for t in PUBLISHED_TABLES} == everything
        swapped = fingerprint(pg, SCHEMA)
        assert {name: digest for name, (_, digest) in swapped.items()} == {
            name: digest for name, (_, digest) in oids.items()
        }
        assert all(swapped[name][0] != oids[name][0] for name in oids)
