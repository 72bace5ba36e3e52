"""The segment stage's tables in the working DuckDB: `segment_history` and the lifetime state.

The read and the write of one range happen in one transaction, together with the record of which
days have been processed, so a crash leaves either the old history or the new one. The lifetime
state (per-customer order aggregates through one day) is written in its own transaction after the
history; a crash in between leaves an older state, which the next run simply does not use.

`segment_history` is a view over two tables: the open stays (one per customer and family at most)
and the closed ones. A day's write deletes and inserts among the open stays, and touches the closed
ones only where a rerun of older days reaches them (`valid_to >= first`, which the closed table's
zone maps answer without reading most of it, since stays close in the order days are processed).
In one table the same delete scanned the whole history every day: 1.97 s of an 8.3 s day at two
years of a million customers, and growing.

Every rewrite of the history is logged (`segment_history_writes`: a running number and the first
day it rewrote) in the same transaction, under an id the store gets when it is created. The publish
remembers the last write it included, so the next one replaces only the stays that can have
changed since, and starts over when the store is not the one it remembers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import polars as pl

from assets.customer_ids import CustomerNumbers, read_frame
from assets.segments.features import LIFETIME_COLUMNS, LifetimeBase
from assets.segments.history import KEYS, STAY_COLUMNS, StayRewrite
from assets.work_db import scalar

HISTORY_TABLE = "segment_history"  # a view: CLOSED_TABLE union all OPEN_TABLE
OPEN_TABLE = "segment_stays_open"
CLOSED_TABLE = "segment_stays_closed"
PROCESSED_TABLE = "segment_days_processed"
LIFETIME_TABLE = "customer_lifetime_state"
LIFETIME_THROUGH_TABLE = "customer_lifetime_state_through"
WRITES_TABLE = "segment_history_writes"
STORE_ID_TABLE = "segment_store_id"
# The stays a range starting on the bound day can change (`history.touching` in polars).
TOUCHING_SQL = "(valid_to is null or valid_to >= ?)"

_STAY_DDL = """
    customer_key varchar not null,
    family varchar not null,
    segment varchar not null,
    score double,
    recency_score tinyint,
    frequency_score tinyint,
    monetary_score tinyint,
    valid_from date not null,
    valid_to date,
    previous_segment varchar,
"""
_DDL = f"""
create table if not exists {OPEN_TABLE} ({_STAY_DDL} check (valid_to is null));
create table if not exists {CLOSED_TABLE} ({_STAY_DDL} check (valid_to is not null));
create table if not exists {PROCESSED_TABLE} (as_of_date date primary key);
create table if not exists {LIFETIME_TABLE} (
    customer_key varchar primary key,
    orders_ever integer not null,
    first_order_date date not null,
    last_order_date date not null,
    previous_order_date date
);
create table if not exists {LIFETIME_THROUGH_TABLE} (through date not null);
create table if not exists {WRITES_TABLE} (
    write_no bigint primary key,
    first_day date not null,
    written_at timestamp with time zone not null
);
create table if not exists {STORE_ID_TABLE} (store_id varchar not null);
"""
_VIEW = f"""create view {HISTORY_TABLE} as
    select * from {CLOSED_TABLE} union all select * from {OPEN_TABLE}"""


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the store's tables, or bring a store written before the open/closed split to it."""
    history_kind = scalar(
        conn,
        """select max(table_type) from information_schema.tables
        where table_catalog = current_database() and table_name = ?""",
        [HISTORY_TABLE],
    )
    try:
        conn.execute("begin transaction")
        conn.execute(_DDL)
        if history_kind == "BASE TABLE":
            conn.execute(f"insert into {OPEN_TABLE} select * from {HISTORY_TABLE} where valid_to is null")
            conn.execute(
                f"insert into {CLOSED_TABLE} select * from {HISTORY_TABLE} where valid_to is not null"
            )
            conn.execute(f"drop table {HISTORY_TABLE}")
        if history_kind != "VIEW":
            conn.execute(_VIEW)
        conn.execute(
            f"""insert into {STORE_ID_TABLE}
            select uuid()::varchar where not exists (select 1 from {STORE_ID_TABLE})"""
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise


def processed_through(conn: duckdb.DuckDBPyConnection) -> date | None:
    return scalar(conn, f"select max(as_of_date) from {PROCESSED_TABLE}")


def _read(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    numbers: CustomerNumbers | None,
    where: str = "true",
    params: list[object] | None = None,
) -> pl.DataFrame:
    """Rows of one of the store's tables, customers numbered when the caller works in numbers."""
    sql = f"select {', '.join(columns)} from {table} where {where}"
    return read_frame(conn, sql, params or [], numbers, table)


def _keyed(relation: str, numbers: CustomerNumbers | None) -> str:
    return numbers.keyed(relation) if numbers else f"select * from {relation}"


def customer_numbers(conn: duckdb.DuckDBPyConnection, first: date) -> CustomerNumbers:
    """The run's `CustomerNumbers`, covering the stored stays (touching `first`) and lifetime state it
    reads back as well as dim_customers."""
    stored = f"""select customer_key from {HISTORY_TABLE} where {TOUCHING_SQL}
        union select customer_key from {LIFETIME_TABLE}"""
    return CustomerNumbers.assign(conn, stored, [first])


def stays_touching(
    conn: duckdb.DuckDBPyConnection, first: date, numbers: CustomerNumbers | None = None
) -> pl.DataFrame:
    return _read(conn, HISTORY_TABLE, STAY_COLUMNS, numbers, TOUCHING_SQL, [first])


@dataclass(frozen=True)
class Restart:
    """A range that reaches the end of the stored history rebuilds it as if its days had never
    been processed: the store is set back to the day before the range (`history.set_back`).

    Otherwise the range would read every stored stay that touches its first day: a two-year rerun
    over a two-year store at a million customers reads 89 M stays, more than 8 GB. Set back, the
    store holds at most one open stay per customer and family, and the range is an ordinary
    forward run. The set-back is committed with the range's first chunk, so a failed gate or a
    crash there leaves the old history; after that, the store stands processed through the last
    chunk written until the range is run again.
    """

    before: date | None  # the latest day processed before the range (None: none was)

    @classmethod
    def for_range(cls, conn: duckdb.DuckDBPyConnection, first: date, last: date) -> Restart | None:
        """The restart for days [first, last], None if the stored history goes on after `last`
        (the range's stays are then stitched to it) or ends before `first` (nothing to forget)."""
        latest = processed_through(conn)
        if latest is None or not first <= latest <= last:
            return None
        sql = f"select max(as_of_date) from {PROCESSED_TABLE} where as_of_date < ?"
        return cls(before=scalar(conn, sql, [first]))

    @property
    def _floor(self) -> date:
        return self.before or date.min

    @property
    def forgets_from(self) -> date:
        """The earliest day whose stays the set-back changes (at most the range's first day)."""
        return self.before + timedelta(days=1) if self.before else date.min

    def open_stays(self, conn: duckdb.DuckDBPyConnection, numbers: CustomerNumbers | None) -> pl.DataFrame:
        """The stays the range touches once the store is set back: those open after `before`."""
        columns = tuple("null::date as valid_to" if name == "valid_to" else name for name in STAY_COLUMNS)
        where = "valid_from <= ? and (valid_to is null or valid_to > ?)"
        return _read(conn, HISTORY_TABLE, columns, numbers, where, [self._floor, self._floor])

    def set_back(self, conn: duckdb.DuckDBPyConnection) -> None:
        """In the caller's transaction."""
        floor = [self._floor]
        for table in (OPEN_TABLE, CLOSED_TABLE):
            conn.execute(f"delete from {table} where valid_from > ?", floor)
        conn.execute(
            f"""insert into {OPEN_TABLE}
            select * replace (null::date as valid_to) from {CLOSED_TABLE} where valid_to > ?""",
            floor,
        )
        conn.execute(f"delete from {CLOSED_TABLE} where valid_to > ?", floor)
        conn.execute(f"delete from {PROCESSED_TABLE} where as_of_date > ?", floor)


def replace_stays(
    conn: duckdb.DuckDBPyConnection,
    first: date,
    last: date,
    rewrite: StayRewrite,
    numbers: CustomerNumbers | None = None,
    restart: Restart | None = None,
) -> None:
    """Swap the touched stays of the rewritten pairs for their rebuilt version; mark [first, last]
    processed. With `numbers`, the rewrite names customers by number; with `restart`, the store is
    set back first, in the same transaction."""
    conn.register("rewritten_pairs", rewrite.pairs.select(KEYS).to_arrow())
    conn.register("rebuilt_stays", rewrite.stays.select(STAY_COLUMNS).to_arrow())
    try:
        conn.execute("begin transaction")
        if restart is not None:
            restart.set_back(conn)
        pairs = _keyed("rewritten_pairs", numbers)
        conn.execute(
            f"""delete from {OPEN_TABLE} h using ({pairs}) p
            where h.customer_key = p.customer_key and h.family = p.family"""
        )
        conn.execute(
            f"""delete from {CLOSED_TABLE} h using ({pairs}) p
            where h.customer_key = p.customer_key and h.family = p.family and h.valid_to >= ?""",
            [first],
        )
        rebuilt = _keyed("rebuilt_stays", numbers)
        conn.execute(f"insert into {OPEN_TABLE} select * from ({rebuilt}) where valid_to is null")
        conn.execute(f"insert into {CLOSED_TABLE} select * from ({rebuilt}) where valid_to is not null")
        conn.execute(
            f"""insert into {WRITES_TABLE}
            select coalesce(max(write_no), 0) + 1, ?, now() from {WRITES_TABLE}""",
            [restart.forgets_from if restart else first],
        )
        conn.execute(
            f"""insert or ignore into {PROCESSED_TABLE}
            select unnest(generate_series(?::date, ?::date, interval 1 day))::date""",
            [first, last],
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("rebuilt_stays")
        conn.unregister("rewritten_pairs")


def checkpoint(conn: duckdb.DuckDBPyConnection) -> bool:
    """Write what the last chunks changed into the database file. False if DuckDB refuses (another
    transaction is open): that only postpones it, the change is committed either way.

    DuckDB checkpoints by WAL size on its own, every 8 to 13 days of a million-customer backfill.
    Between those checkpoints the buffer pool sat at 850-910 MB of the segment stage's 953 MB cap,
    and day 373 of a two-year backfill ran out in the delete; with a checkpoint per day (about
    0.6 s) it held 550-630 MB.
    """
    try:
        conn.execute("checkpoint")
    except duckdb.TransactionException:
        return False
    return True


def read_lifetime_base(
    conn: duckdb.DuckDBPyConnection, numbers: CustomerNumbers | None = None
) -> LifetimeBase | None:
    through = scalar(conn, f"select max(through) from {LIFETIME_THROUGH_TABLE}")
    if through is None:
        return None
    frame = _read(conn, LIFETIME_TABLE, LIFETIME_COLUMNS, numbers)
    return LifetimeBase(through=through, lifetime=frame.lazy())


def write_lifetime_base(
    conn: duckdb.DuckDBPyConnection, base: LifetimeBase | None, numbers: CustomerNumbers | None = None
) -> None:
    """Replace the stored state (None: forget it, so the next run rebuilds it from all orders)."""
    try:
        conn.execute("begin transaction")
        conn.execute(f"delete from {LIFETIME_TABLE}")
        conn.execute(f"delete from {LIFETIME_THROUGH_TABLE}")
        if base is not None:
            conn.register("lifetime_state", base.lifetime.select(LIFETIME_COLUMNS).collect().to_arrow())
            conn.execute(f"insert into {LIFETIME_TABLE} {_keyed('lifetime_state', numbers)}")
            conn.unregister("lifetime_state")
            conn.execute(f"insert into {LIFETIME_THROUGH_TABLE} values (?)", [base.through])
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
