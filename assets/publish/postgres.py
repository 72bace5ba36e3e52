"""Copy the published DuckDB serving file into a PostgreSQL schema that BI reads, swapped in atomically.

The serving file is the source: it already holds every gated table of the newest publish, so this
module copies *every* table of `PUBLISHED_TABLES` and needs no code when a table is added there.

1. Under a session advisory lock (one publisher per target schema at a time), drop leftovers of
   publishers that were killed (`<schema>_staging_*`, `<schema>_old_*`).
2. In one transaction: create `<schema>_staging_<id>`, create each table with PostgreSQL types mapped
   from DuckDB's, stream DuckDB → Arrow record batches → CSV → `COPY ... FROM STDIN` (bulk, no
   row-by-row Python), add primary keys (a duplicate key fails the publish), comments from
   `tables.py`, ANALYZE. Commit. A failure or a killed connection here rolls the whole staging
   schema back; the live schema was never touched.
3. In a second, short transaction: lock every live table ACCESS EXCLUSIVE (NOWAIT, retried), rename
   the live schema away, rename staging to live, grant the reader role, drop the old schema. A
   reader sees the old tables or the new ones, never a mix: a reader transaction holds its tables'
   locks until it ends, so the swap waits for it, and a reader starting after the swap resolves
   every name to the new schema, whose rows were committed before the swap.

Why NOWAIT first: a waiting ACCESS EXCLUSIVE request queues every later reader behind it, so a
publisher waiting on one long BI query would stall all of BI. The publisher instead retries without
waiting for `swap_wait_seconds`; only then does it queue once, for at most `lock_timeout_seconds`,
so an endless stream of overlapping queries cannot starve publishing forever either.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import psycopg
import pyarrow.csv as pacsv
from psycopg import sql

from assets.publish.tables import PUBLISH_LOG, PUBLISHED_TABLES, SEGMENT_HISTORY, PublishedTable

APPLICATION_NAME = "segments-publisher"
# Arrow batches of this many rows become one CSV block for COPY: bounded memory whatever the table size.
BATCH_ROWS = 200_000
# PostgreSQL truncates identifiers at 63 bytes; the staging suffix needs 21 of them.
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")

_SCALAR_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "HUGEINT": "numeric(39, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "UUID": "uuid",
    "JSON": "jsonb",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
# Nested DuckDB values (lists, structs, maps) are published as jsonb, serialised by DuckDB itself.
_NESTED = re.compile(r"(\[\d*\]$)|(^(STRUCT|MAP|UNION)\()")

Step = Callable[[str], None]


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB `data_type`; unknown types fail loudly, naming the type."""
    if duckdb_type in _SCALAR_TYPES:
        return _SCALAR_TYPES[duckdb_type]
    if match := _DECIMAL.match(duckdb_type):
        return f"numeric({match[1]}, {match[2]})"
    if _NESTED.search(duckdb_type):
        return "jsonb"
    raise TypeError(f"no PostgreSQL mapping for DuckDB type {duckdb_type!r}; add one to postgres_type()")


def _select_expression(column: str, duckdb_type: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    if _NESTED.search(duckdb_type) and duckdb_type not in _SCALAR_TYPES:
        return f"to_json({quoted})::varchar as {quoted}"
    return quoted


@dataclass(frozen=True)
class WarehouseTarget:
    """Where and how to publish: schema names, the BI role, and how long the swap may wait for readers."""

    url: str
    schema: str = "segments"
    reader_role: str = "segments_reader"
    swap_wait_seconds: float = 30.0
    lock_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        for name, value in (("schema", self.schema), ("reader_role", self.reader_role)):
            if not IDENTIFIER.match(value):
                raise ValueError(f"warehouse {name} {value!r} must match {IDENTIFIER.pattern}")


@dataclass
class PostgresPublish:
    """What one publish did, for the asset's metadata."""

    publish_id: str | None
    row_counts: dict[str, int]
    seconds: float
    swapped: bool
    notes: list[str] = field(default_factory=list)


class StalePublishError(RuntimeError):
    """The warehouse already holds a newer publish than the serving file (another run got there first)."""


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(url, application_name=APPLICATION_NAME, autocommit=True, **kwargs)


def publish_to_postgres(
    serving_db: Path,
    target: WarehouseTarget,
    on_step: Step | None = None,
    tables: Sequence[PublishedTable] = PUBLISHED_TABLES,
) -> PostgresPublish:
    """Publish every table of the serving file to `target.schema`; the live schema changes whole or not.

    `on_step` is called with "loaded <table>" after each COPY and "staged" after the staging commit
    (progress logging; tests use it to kill or fail the publish at a precise point).
    """
    started = time.monotonic()
    step = on_step or (lambda _: None)
    with duckdb.connect(str(serving_db), read_only=True) as duck, connect(target.url) as pg:
        duck.execute("set TimeZone = 'UTC'")  # Arrow carries UTC instants; CSV text then ends in 'Z'
        publish_id, published_at = _newest_publish(duck)
        staging = f"{target.schema}_staging_{uuid.uuid4().hex[:12]}"
        pg.execute("select pg_advisory_lock(hashtextextended(%s, 0))", [_lock_key(target)])
        try:
            notes = _drop_leftovers(pg, target)
            if not pg.execute("select 1 from pg_roles where rolname = %s", [target.reader_role]).fetchone():
                notes.append(f"reader role {target.reader_role} does not exist yet: make warehouse-reader")
            try:
                counts = _load_staging(duck, pg, staging, tables, step)
                step("staged")
                swapped = _swap(pg, target, staging, published_at, notes)
            finally:
                # Still there unless the swap consumed it (rolled back, stale or failed). A dead
                # connection cannot drop it: the next publish does (_drop_leftovers).
                if not pg.broken:
                    pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(staging)))
        finally:
            if not pg.broken:
                pg.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", [_lock_key(target)])
    return PostgresPublish(publish_id, counts, round(time.monotonic() - started, 3), swapped, notes)


def _lock_key(target: WarehouseTarget) -> str:
    return f"segments-publish:{target.schema}"


def _newest_publish(duck: duckdb.DuckDBPyConnection) -> tuple[str | None, datetime | None]:
    row = duck.execute(
        f"select publish_id, published_at from {PUBLISH_LOG.name} order by published_at desc limit 1"
    ).fetchall()
    return (row[0][0], row[0][1]) if row else (None, None)


def _drop_leftovers(pg: psycopg.Connection, target: WarehouseTarget) -> list[str]:
    """Schemas a killed publisher left behind; safe to drop because we hold the publisher lock."""
    prefixes = [f"{target.schema}_staging_", f"{target.schema}_old_"]
    leftovers = [
        name
        for (name,) in pg.execute(
            "select nspname from pg_namespace where starts_with(nspname, %s) or starts_with(nspname, %s)",
            prefixes,
        ).fetchall()
    ]
    for name in leftovers:
        pg.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(name)))
    return [f"dropped leftover schema {name}" for name in leftovers]


def _duckdb_columns(duck: duckdb.DuckDBPyConnection, table: PublishedTable) -> list[tuple[str, str]]:
    columns = duck.execute(
        """select column_name, data_type from duckdb_columns()
        where schema_name = 'main' and table_name = ? order by column_index""",
        [table.name],
    ).fetchall()
    if not columns:
        raise LookupError(f"published table {table.name} is missing from the serving file")
    return columns


def _load_staging(
    duck: duckdb.DuckDBPyConnection,
    pg: psycopg.Connection,
    staging: str,
    tables: Sequence[PublishedTable],
    step: Step,
) -> dict[str, int]:
    """All tables into a fresh staging schema in ONE transaction: it commits complete or not at all."""
    counts: dict[str, int] = {}
    with pg.transaction():
        pg.execute(sql.SQL("create schema {}").format(sql.Identifier(staging)))
        for table in tables:
            counts[table.name] = _load_table(duck, pg, staging, table)
            step(f"loaded {table.name}")
        _create_segments_as_of(pg, staging)
    return counts


def _load_table(
    duck: duckdb.DuckDBPyConnection, pg: psycopg.Connection, schema: str, table: PublishedTable
) -> int:
    columns = _duckdb_columns(duck, table)
    name = sql.Identifier(schema, table.name)
    column_list = sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns)
    pg.execute(
        sql.SQL("create table {} ({})").format(
            name,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(postgres_type(t))) for c, t in columns
            ),
        )
    )
    select = ", ".join(_select_expression(c, t) for c, t in columns)
    reader = duck.sql(f'select {select} from "{table.name}"').to_arrow_reader(BATCH_ROWS)
    rows = 0
    options = pacsv.WriteOptions(include_header=False)
    with pg.cursor().copy(sql.SQL("copy {} ({}) from stdin (format csv)").format(name, column_list)) as copy:
        for batch in reader:
            # Arrow writes the CSV in C++: strings are always quoted, so '' stays '' and NULL stays NULL.
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())
            rows += batch.num_rows
    pg.execute(
        sql.SQL("alter table {} add primary key ({})").format(
            name, sql.SQL(", ").join(sql.Identifier(c) for c in table.primary_key)
        )
    )
    pg.execute(sql.SQL("comment on table {} is {}").format(name, sql.Literal(table.description)))
    present = {c for c, _ in columns}
    for column, description in table.columns.items():
        if column in present:
            pg.execute(
                sql.SQL("comment on column {} is {}").format(
                    sql.Identifier(schema, table.name, column), sql.Literal(description)
                )
            )
    pg.execute(sql.SQL("analyze {}").format(name))  # BI gets sensible plans from the first query on
    return rows


def _create_segments_as_of(pg: psycopg.Connection, schema: str) -> None:
    """The serving file's `segments_as_of(D)` macro as a SQL function. BEGIN ATOMIC binds the table at
    creation, so the function keeps pointing at its own schema's history after the renames."""
    history = sql.Identifier(schema, SEGMENT_HISTORY.name)
    pg.execute(
        sql.SQL(
            """create function {}(d date) returns setof {} language sql stable
            begin atomic
                select * from {} where valid_from <= d and (valid_to is null or valid_to > d);
            end"""
        ).format(sql.Identifier(schema, "segments_as_of"), history, history)
    )


def _live_tables(pg: psycopg.Connection, schema: str) -> list[str]:
    rows = pg.execute(
        "select tablename from pg_tables where schemaname = %s order by tablename", [schema]
    ).fetchall()
    return [name for (name,) in rows]


def _swap(
    pg: psycopg.Connection,
    target: WarehouseTarget,
    staging: str,
    published_at: datetime | None,
    notes: list[str],
) -> bool:
    """Staging becomes the live schema in one transaction; retried while readers hold the live tables.

    Returns False (live schema untouched) when the warehouse already holds a newer publish."""
    deadline = time.monotonic() + target.swap_wait_seconds
    pause = 0.05
    attempts = 0
    while True:
        attempts += 1
        last_try = time.monotonic() >= deadline
        try:
            with pg.transaction():
                _swap_once(pg, target, staging, published_at, wait=last_try)
            if attempts > 1:
                notes.append(f"swapped after {attempts} attempts (readers held the live tables)")
            return True
        except StalePublishError as stale:
            notes.append(str(stale))
            return False
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if last_try:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def _swap_once(
    pg: psycopg.Connection, target: WarehouseTarget, staging: str, published_at: datetime | None, wait: bool
) -> None:
    live = sql.Identifier(target.schema)
    old = sql.Identifier(f"{target.schema}_old_{staging.rsplit('_', 1)[-1]}")
    tables = _live_tables(pg, target.schema)
    live_exists = pg.execute("select 1 from pg_namespace where nspname = %s", [target.schema]).fetchone()
    if wait:
        pg.execute(
            sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{target.lock_timeout_seconds}s"))
        )
    if tables:
        pg.execute(
            sql.SQL("lock table {} in access exclusive mode" + ("" if wait else " nowait")).format(
                sql.SQL(", ").join(sql.Identifier(target.schema, t) for t in tables)
            )
        )
        _refuse_older(pg, target.schema, tables, published_at)
    if live_exists:
        pg.execute(sql.SQL("alter schema {} rename to {}").format(live, old))
    pg.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(staging), live))
    if pg.execute("select 1 from pg_roles where rolname = %s", [target.reader_role]).fetchone():
        role = sql.Identifier(target.reader_role)
        pg.execute(sql.SQL("grant usage on schema {} to {}").format(live, role))
        pg.execute(sql.SQL("grant select on all tables in schema {} to {}").format(live, role))
    if live_exists:
        pg.execute(sql.SQL("drop schema {} cascade").format(old))


def _refuse_older(
    pg: psycopg.Connection, schema: str, tables: list[str], published_at: datetime | None
) -> None:
    """Two runs can publish in either order; the older serving file must not replace the newer one."""
    if PUBLISH_LOG.name not in tables or published_at is None:
        return
    (live_newest,) = pg.execute(
        sql.SQL("select max(published_at) from {}").format(sql.Identifier(schema, PUBLISH_LOG.name))
    ).fetchone()
    if live_newest is not None and live_newest > published_at:
        raise StalePublishError(
            f"{schema}.{PUBLISH_LOG.name} already holds a publish from {live_newest.isoformat()}, newer "
            f"than the serving file's {published_at.isoformat()}; nothing changed"
        )


def published_row_counts(pg: psycopg.Connection, schema: str) -> dict[str, int]:
    """Rows per published table, read in one snapshot (used by the CLI summary and the tests)."""
    with pg.transaction():
        pg.execute("set transaction isolation level repeatable read")
        return {
            t.name: pg.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(schema, t.name))
            ).fetchone()[0]
            for t in PUBLISHED_TABLES
        }


def newest_logged_counts(pg: psycopg.Connection, schema: str) -> tuple[str, dict[str, int]]:
    """publish_id and row_counts of the newest publish_log row (counts exclude publish_log itself)."""
    publish_id, counts = pg.execute(
        sql.SQL("select publish_id, row_counts from {} order by published_at desc limit 1").format(
            sql.Identifier(schema, PUBLISH_LOG.name)
        )
    ).fetchone()
    return publish_id, counts if isinstance(counts, dict) else json.loads(counts)
