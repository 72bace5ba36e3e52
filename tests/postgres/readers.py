"""BI stand-ins that poll the published tables in their own process while publishes swap them.

A read is consistent when every table's row count equals the row_counts of the newest publish_log
row seen in the same snapshot (PostgreSQL: one REPEATABLE READ transaction; DuckDB: one read-only
connection to the serving file).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event


@dataclass
class ReaderReport:
    reads: int = 0
    errors: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    publishes_seen: set[str] = field(default_factory=set)


def _check(report: ReaderReport, publish_id: str, logged: dict[str, int], counted: dict[str, int]) -> None:
    report.reads += 1
    report.publishes_seen.add(publish_id)
    wrong = {t: (counted[t], logged.get(t)) for t in counted if counted[t] != logged.get(t)}
    if wrong:
        report.inconsistent.append(f"{publish_id}: counted vs logged {wrong}")


def poll_postgres(url: str, schema: str, tables: list[str], stop: Event, out: Queue) -> None:
    import psycopg
    from psycopg import sql

    report = ReaderReport()
    newest = sql.SQL("select publish_id, row_counts from {} order by published_at desc limit 1").format(
        sql.Identifier(schema, "publish_log")
    )
    counts = {t: sql.SQL("select count(*) from {}").format(sql.Identifier(schema, t)) for t in tables}
    with psycopg.connect(url, autocommit=True, application_name="segments-test-reader") as pg:
        while not stop.is_set():
            try:
                with pg.transaction():
                    pg.execute("set transaction isolation level repeatable read, read only")
                    publish_id, logged = pg.execute(newest).fetchone()
                    counted = {t: pg.execute(q).fetchone()[0] for t, q in counts.items()}
                _check(report, publish_id, logged, counted)
            except Exception as exc:  # every failure is what the test counts
                report.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.01)
    out.put(report)


def poll_duckdb(serving_db: str, tables: list[str], stop: Event, out: Queue) -> None:
    import duckdb

    report = ReaderReport()
    while not stop.is_set():
        try:
            with duckdb.connect(serving_db, read_only=True) as conn:
                publish_id, logged = conn.execute(
                    "select publish_id, row_counts from publish_log order by published_at desc limit 1"
                ).fetchall()[0]
                counted = {t: conn.execute(f"select count(*) from {t}").fetchall()[0][0] for t in tables}
            _check(report, publish_id, json.loads(logged), counted)
        except Exception as exc:
            report.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.01)
    out.put(report)
