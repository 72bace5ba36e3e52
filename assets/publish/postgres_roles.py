"""`python -m assets.publish.postgres_roles`: create or update the read-only role BI connects as.

The role may connect to the warehouse database and SELECT the published schema, nothing else: it
owns nothing, gets no CREATE anywhere, is never granted the staging schemas, and its sessions start
read-only. Every publish re-grants SELECT on the freshly swapped-in schema (assets/publish/postgres.py),
so the grants below only matter until the first publish.

Run it as a role that may create roles (the owner of the warehouse database, or a superuser):

    WAREHOUSE_URL=postgresql://admin@host:5432/warehouse SEGMENTS_READER_PASSWORD=... \\
        .venv/bin/python -m assets.publish.postgres_roles --role segments_reader
"""

from __future__ import annotations

import argparse
import os
import sys

import psycopg
from psycopg import sql

from assets.publish.postgres import IDENTIFIER, connect
from orchestration.settings import get_settings

PASSWORD_ENV = "SEGMENTS_READER_PASSWORD"


def ensure_reader_role(pg: psycopg.Connection, role: str, schema: str, password: str | None) -> list[str]:
    """Create `role` if needed and give it exactly: CONNECT, USAGE + SELECT on `schema`. Idempotent."""
    if not IDENTIFIER.match(role):
        raise ValueError(f"role {role!r} must match {IDENTIFIER.pattern}")
    done: list[str] = []
    ident = sql.Identifier(role)
    with pg.transaction():
        exists = pg.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
        if not exists:
            pg.execute(
                sql.SQL("create role {} login nosuperuser nocreatedb nocreaterole noinherit").format(ident)
            )
            done.append(f"created role {role}")
        if password is not None:
            pg.execute(sql.SQL("alter role {} password {}").format(ident, sql.Literal(password)))
            done.append("set its password")
        # Belt and braces: its sessions are read-only by default (privileges are the real boundary).
        pg.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(ident))
        database = pg.execute("select current_database()").fetchone()[0]
        pg.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), ident))
        if pg.execute("select 1 from pg_namespace where nspname = %s", [schema]).fetchone():
            pg.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), ident))
            pg.execute(
                sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(schema), ident)
            )
        done.append(f"granted CONNECT on {database}, SELECT on schema {schema}")
        if pg.info.server_version < 150000:
            # Before PostgreSQL 15 every role may CREATE in schema public, granted to PUBLIC: only the
            # database owner can take that away from everybody at once.
            done.append(
                "WARNING: PostgreSQL < 15: run `revoke create on schema public from public` as the owner"
            )
    return done


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="admin connection URL (default: WAREHOUSE_URL)")
    parser.add_argument("--role", default=settings.warehouse.reader_role)
    parser.add_argument("--schema", default=settings.warehouse.schema_name)
    parser.add_argument(
        "--password-env",
        default=PASSWORD_ENV,
        help="env var holding the role's password (unset: no password)",
    )
    args = parser.parse_args(argv)
    url = args.url or (settings.warehouse_url.get_secret_value() if settings.warehouse_url else None)
    if not url:
        print("no warehouse: pass --url or set WAREHOUSE_URL", file=sys.stderr)
        return 2
    with connect(url) as pg:
        for line in ensure_reader_role(pg, args.role, args.schema, os.environ.get(args.password_env)):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
