"""Read a published table from PostgreSQL or from the DuckDB serving file as comparable Python rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from assets.publish.tables import PUBLISHED_TABLES, PublishedTable

TABLES = {t.name: t for t in PUBLISHED_TABLES}


def _normalise(value: object) -> object:
    # jsonb comes back as a dict, DuckDB JSON as text: compare the parsed values.
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"  # NaN != NaN; a published NaN must still be a NaN on the other side
    return value


def _sorted(rows: list[tuple], columns: list[str], table: PublishedTable) -> list[tuple]:
    # Sort in Python by the primary key: PostgreSQL's collation and DuckDB's byte order differ.
    positions = [columns.index(c) for c in table.primary_key]
    return sorted(rows, key=lambda row: tuple(row[i] for i in positions))


def pg_rows(pg: psycopg.Connection, schema: str, name: str) -> tuple[list[str], list[tuple]]:
    cur = pg.execute(sql.SQL("select * from {}").format(sql.Identifier(schema, name)))
    columns = [d.name for d in cur.description]
    rows = [tuple(_normalise(v) for v in row) for row in cur.fetchall()]
    return columns, _sorted(rows, columns, TABLES[name])


def duck_rows(serving_db: Path, name: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(serving_db), read_only=True) as conn:
        cur = conn.execute(f"select * from {name}")
        columns = [d[0] for d in cur.description]
        types = [str(d[1]) for d in cur.description]
        rows = [
            tuple(
                _normalise(json.loads(v) if t == "JSON" and v is not None else v)
                for v, t in zip(row, types, strict=True)
            )
            for row in cur.fetchall()
        ]
    return columns, _sorted(rows, columns, TABLES[name])


def fingerprint(pg: psycopg.Connection, schema: str) -> dict[str, object]:
    """Table oids and a content hash per live table: equal fingerprints = the very same published tables."""
    tables = pg.execute(
        "select c.relname, c.oid::bigint from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relkind = 'r' order by 1",
        [schema],
    ).fetchall()
    result: dict[str, object] = {}
    for name, oid in tables:
        (digest,) = pg.execute(
            sql.SQL(
                "select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {} as t"
            ).format(sql.Identifier(schema, name))
        ).fetchone()
        result[name] = (oid, digest)
    return result


def schemas_like(pg: psycopg.Connection, prefix: str) -> list[str]:
    rows = pg.execute("select nspname from pg_namespace where starts_with(nspname, %s) order by 1", [prefix])
    return [name for (name,) in rows.fetchall()]
