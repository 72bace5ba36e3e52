"""A BI-like reader of the published tables: does every read see one whole publish, and nothing else?

One observation reads, in one snapshot, the newest `publish_log` row and the row count of every table
there is. A read is *inconsistent* when a count differs from that row's `row_counts`, or when the
tables listed are not exactly the tables present (publish_log itself aside). Any exception (cannot
open, lock) is an *error*.

Backends are functions `target -> Observation` in `BACKENDS`:
- `duckdb` (target: the serving file): one fresh read-only connection per observation (a reader that
  keeps its handle would keep seeing the old inode after a swap, which proves nothing);
- `postgres` (target: a DSN; the `segments` schema): one REPEATABLE READ, READ ONLY transaction per
  observation. `observe_postgres_connection` does the same on a session the caller keeps open.
`poll` observes until told to stop and returns a `ReaderReport` (tests/e2e/test_serving_readers.py
runs it as a process through `main`; tests/postgres/test_concurrent_readers.py calls it in spawned
processes).

As a process (so the reader shares nothing with the publisher):
    python -m tests.readers --backend duckdb --target PATH --ready R --stop S --report OUT
It writes `R` after its first read, polls until `S` exists or a bound is hit, then writes the
report as JSON to `OUT`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from assets.publish.tables import PUBLISH_LOG


@dataclass(frozen=True)
class Observation:
    publish_id: str
    expected: dict[str, int]  # row_counts of the newest publish_log row
    actual: dict[str, int]  # count(*) per table present, read in the same connection / transaction

    def problems(self) -> list[str]:
        """Self-consistency only: the code that wrote the file may list other tables than this checkout."""
        found = []
        # publish_log's row is written with the counts of the other tables: it does not count itself.
        tables = set(self.actual) - {PUBLISH_LOG.name}
        if set(self.expected) != tables or PUBLISH_LOG.name not in self.actual:
            found.append(f"publish_log lists {sorted(self.expected)}, present: {sorted(self.actual)}")
        for table, rows in self.expected.items():
            if table in self.actual and self.actual[table] != rows:
                found.append(f"{table}: {self.actual[table]} rows, publish_log says {rows}")
        return found


NEWEST_PUBLISH = f"select publish_id, row_counts from {PUBLISH_LOG.name} order by published_at desc limit 1"


def observe_duckdb_connection(conn: duckdb.DuckDBPyConnection) -> Observation:
    row = conn.execute(NEWEST_PUBLISH).fetchone()
    if row is None:
        raise LookupError(f"{PUBLISH_LOG.name} is empty")
    publish_id, row_counts = row
    expected = {str(k): int(v) for k, v in json.loads(row_counts).items()}
    present = conn.execute("select table_name from duckdb_tables() where schema_name = 'main'").fetchall()
    actual = {}
    for (table,) in present:
        (count,) = conn.execute(f'select count(*) from "{table}"').fetchone() or (0,)
        actual[table] = int(count)
    return Observation(str(publish_id), expected, actual)


def observe_duckdb(target: str) -> Observation:
    with duckdb.connect(target, read_only=True) as conn:
        return observe_duckdb_connection(conn)


def observe_postgres_connection(conn: psycopg.Connection, schema: str = "segments") -> Observation:
    """One REPEATABLE READ, READ ONLY transaction on an autocommit connection: the log row, then counts."""
    newest = sql.SQL("select publish_id, row_counts from {} order by published_at desc limit 1")
    with conn.transaction():
        conn.execute("set transaction isolation level repeatable read, read only")
        row = conn.execute(newest.format(sql.Identifier(schema, PUBLISH_LOG.name))).fetchone()
        if row is None:
            raise LookupError(f"{schema}.{PUBLISH_LOG.name} is empty")
        publish_id, row_counts = row
        present = conn.execute("select tablename from pg_tables where schemaname = %s", [schema]).fetchall()
        actual = {}
        for (table,) in present:
            count_rows = sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
            (count,) = conn.execute(count_rows).fetchone() or (0,)
            actual[table] = int(count)
    logged = row_counts if isinstance(row_counts, dict) else json.loads(row_counts)
    return Observation(str(publish_id), {str(k): int(v) for k, v in logged.items()}, actual)


def observe_postgres(target: str, schema: str = "segments") -> Observation:
    with psycopg.connect(target, autocommit=True, application_name="segments-test-reader") as conn:
        return observe_postgres_connection(conn, schema)


BACKENDS: dict[str, Callable[[str], Observation]] = {"duckdb": observe_duckdb, "postgres": observe_postgres}


@dataclass
class ReaderReport:
    reads: int = 0
    errors: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    publish_ids: list[str] = field(default_factory=list)  # distinct, in the order first seen
    seconds: float = 0.0


def poll(
    observe: Callable[[str], Observation],
    target: str,
    stop: Callable[[], bool],
    max_reads: int,
    max_seconds: float,
    on_read: Callable[[int], None] = lambda _reads: None,
) -> ReaderReport:
    """Observe until `stop()` or a bound; keep at most a few messages of each kind (and all counts)."""
    report = ReaderReport()
    started = time.monotonic()
    while report.reads < max_reads and time.monotonic() - started < max_seconds and not stop():
        report.reads += 1
        try:
            observation = observe(target)
        except Exception as exc:  # every failure to read is what this reader counts
            report.errors.append(f"read {report.reads}: {type(exc).__name__}: {exc}")
        else:
            if observation.publish_id not in report.publish_ids:
                report.publish_ids.append(observation.publish_id)
            report.inconsistent += [f"read {report.reads}: {p}" for p in observation.problems()]
        on_read(report.reads)
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="duckdb")
    parser.add_argument("--target", required=True, help="DuckDB file (or DSN for a database backend)")
    parser.add_argument("--ready", type=Path, required=True, help="written after the first read")
    parser.add_argument("--stop", type=Path, required=True, help="polling stops once this file exists")
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--max-reads", type=int, default=20_000)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)

    def mark_ready(reads: int) -> None:
        if reads == 1:
            args.ready.write_text("ready")

    report = poll(
        BACKENDS[args.backend], args.target, args.stop.exists, args.max_reads, args.max_seconds, mark_ready
    )
    args.report.write_text(json.dumps(asdict(report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
