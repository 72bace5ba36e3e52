"""`segment_history`: every customer's stays in every segment family, stored as changes."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeGuard

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from assets.customer_ids import CustomerNumbers
from assets.gates import gx_check_result
from assets.progress import Laps, memory_note
from assets.segments import quality
from assets.segments.engine import (
    Inputs,
    chunks,
    days_per_chunk,
    feature_windows,
    memberships,
    segment_catalog,
)
from assets.segments.features import FeatureWindows, LifetimeBase, lifetime_as_of
from assets.segments.history import as_labels, daily_pieces, rebuild_from_pieces
from assets.segments.store import (
    Restart,
    checkpoint,
    customer_numbers,
    ensure_tables,
    processed_through,
    read_lifetime_base,
    replace_stays,
    stays_touching,
    write_lifetime_base,
)
from assets.transform.assets import WORK_DB_POOL
from assets.work_db import (
    activity_window,
    cart_sessions,
    customer_profiles,
    memory_limit,
    order_history,
    recent_order_history,
    scalar,
)
from orchestration.partitions import daily_partitions, partition_days
from orchestration.settings import get_settings

GX_CHECK = "segment_history_gx_suite"
# At most a month of days per chunk: few round trips on short backfills of small shops.
MAX_CHUNK_DAYS = 31
# Orders, activity and cart sessions are read for this many days of chunks at once (a chunk may be
# one day at a million customers).
BLOCK_DAYS = 31


def known_customers_per_day(customers: pl.DataFrame, days: list[date]) -> pl.DataFrame:
    """How many customers were known at the end of each day: a running count, not a cross join."""
    running = (
        customers.group_by("first_loaded_date")
        .len()
        .sort("first_loaded_date")
        .select("first_loaded_date", pl.col("len").cum_sum().alias("known_customers"))
    )
    return (
        pl.DataFrame({"as_of_date": days})
        .sort("as_of_date")
        .join_asof(running, left_on="as_of_date", right_on="first_loaded_date", strategy="backward")
        .select("as_of_date", pl.col("known_customers").fill_null(0).cast(pl.UInt32))
    )


def chunk_days(known: pl.DataFrame, families: int, memberships_budget: int) -> int:
    """Days per chunk so that customers x families x days stays within the memory budget.

    Memory of a chunk grows with the customer base, not with history: 100k customers fit a month
    in 12 M rows, 1 M customers get one day at a time.
    """
    customers = int(known["known_customers"].max() or 0)
    return days_per_chunk(customers * families, memberships_budget, MAX_CHUNK_DAYS)


def window_orders(
    conn: DuckDBPyConnection,
    first: date,
    last: date,
    purchase_days: int,
    state_through: date,
    numbers: CustomerNumbers | None = None,
) -> pl.DataFrame:
    """Completed orders known by `last` that days `first`..`last` need on top of lifetime state through
    `state_through`: those dated in `first`'s purchase window or delivered or dated after the state."""
    dated_after = first - timedelta(days=purchase_days)
    return recent_order_history(conn, last, dated_after, state_through, numbers).collect()


def lifetime_before(conn: DuckDBPyConnection, first: date, numbers: CustomerNumbers) -> LifetimeBase:
    """Lifetime state through the day before `first`, from every order known by then. Only the
    aggregate is kept: a backfill then holds a purchase window of orders, never the whole history."""
    through = first - timedelta(days=1)
    orders = order_history(conn, through, numbers)
    return LifetimeBase(through, lifetime_as_of(orders, through).collect().lazy())


def state_usable(stored: LifetimeBase | None, first: date) -> TypeGuard[LifetimeBase]:
    """Stored lifetime state serves a run only when it ends the day before the run's first day."""
    return stored is not None and stored.through == first - timedelta(days=1)


def starting_state(
    conn: DuckDBPyConnection, first: date, stored: LifetimeBase | None, numbers: CustomerNumbers
) -> LifetimeBase:
    """The stored lifetime state when it ends the day before the run (the daily case), else one
    rebuilt from the orders (first run, backfill, rerun of older days)."""
    if state_usable(stored, first):
        return stored
    return lifetime_before(conn, first, numbers)


def orders_for_run(
    conn: DuckDBPyConnection, days: list[date], purchase_days: int, stored: LifetimeBase | None
) -> tuple[pl.DataFrame, LifetimeBase | None]:
    """The orders a single-range reader needs (bench/pipeline_day.py): with state ending the day
    before, what `window_orders` reads for the range; without, every order (the full scan)."""
    if state_usable(stored, days[0]):
        return window_orders(conn, days[0], days[-1], purchase_days, stored.through), stored
    return order_history(conn, days[-1]).collect(), None


@dataclass(frozen=True)
class BlockRows:
    """What a block of consecutive days reads from the marts at once, so that one-day chunks at a
    million customers neither reread the engagement window every day nor hold the whole order
    history: orders of the block's purchase window (plus what the lifetime state lacks), activity
    and cart sessions of its engagement window."""

    first_day: date
    last_day: date
    orders: pl.DataFrame
    activity: pl.DataFrame
    cart_sessions: pl.DataFrame

    @classmethod
    def read(
        cls,
        conn: DuckDBPyConnection,
        block: list[date],
        windows: FeatureWindows,
        state_through: date,
        numbers: CustomerNumbers,
    ) -> "BlockRows":
        """`state_through`: the lifetime state the block's first chunk builds on; later chunks'
        states are later, so they need a subset of these orders."""
        first, last = block[0], block[-1]
        engagement_first = first - timedelta(days=windows.engagement_days)
        horizon = windows.cart_horizon_hours
        return cls(
            first_day=first,
            last_day=last,
            orders=window_orders(conn, first, last, windows.purchase_days, state_through, numbers),
            activity=activity_window(conn, engagement_first, last, numbers).collect(),
            cart_sessions=cart_sessions(conn, engagement_first, last, horizon, numbers).collect(),
        )

    def covers(self, chunk: list[date]) -> bool:
        return self.first_day <= chunk[0] and chunk[-1] <= self.last_day


def read_inputs(
    block: BlockRows, customers: pl.DataFrame, chunk: list[date], engagement_days: int, base: LifetimeBase
) -> Inputs:
    """A chunk's inputs: customers are read once per run, the rest once per block and cut here to
    the chunk's engagement window (orders are cut by the feature code, per day)."""
    if not block.covers(chunk):
        raise ValueError(f"rows read for {block.first_day}..{block.last_day} miss {chunk}")
    first_activity = chunk[0] - timedelta(days=engagement_days)
    activity = block.activity.filter(pl.col("activity_date").is_between(first_activity, chunk[-1]))
    carts = block.cart_sessions.filter(pl.col("session_date").is_between(first_activity, chunk[-1]))
    return Inputs(
        customers=customers.lazy(),
        orders=block.orders.lazy(),
        activity=activity.lazy(),
        cart_sessions=carts.lazy(),
        lifetime_base=base,
    )


@dg.asset(
    group_name="segments",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WORK_DB_POOL,
    kinds={"polars", "duckdb"},
    deps=["fct_orders", "fct_sessions", "dim_customers", "customer_daily_activity"],
    check_specs=[
        dg.AssetCheckSpec(
            GX_CHECK,
            asset="segment_history",
            blocking=True,
            description="GX: one segment per known customer, family and day; known segment names; "
            "stays neither overlap nor leave gaps. Checked before the history is rewritten.",
        )
    ],
)
def segment_history(context: dg.AssetExecutionContext, work_db: DuckDBResource):
    """Stays (valid_from, valid_to) of every customer in every family's segments, point in time."""
    settings = get_settings()
    operations = settings.operations
    days = partition_days(context)
    windows = feature_windows(settings)
    catalog = segment_catalog(settings)
    rewritten = 0
    with (
        work_db.get_connection() as conn,
        memory_limit(conn, operations, "segment_duckdb_memory_limit"),
    ):
        ensure_tables(conn)
        numbers = customer_numbers(conn, days[0])
        customers = customer_profiles(conn, days[-1], numbers).collect()
        stored = read_lifetime_base(conn, numbers)
        base = starting_state(conn, days[0], stored, numbers)
        context.log.info(
            f"segment_history: {numbers.customers} customers numbered; lifetime state through {base.through} "
            + ("(stored)" if base is stored else "(rebuilt from the orders)")
        )
        known = known_customers_per_day(customers, days)
        allowed = catalog.select("family", "segment")
        size = chunk_days(known, catalog["family"].n_unique(), operations.segment_chunk_memberships)
        context.log.info(f"segment_history: {len(days)} day(s) in chunks of {size}")
        # Read once: each chunk's rewrite says what the next chunk finds, so a one-day chunk at a
        # million customers does not reread every open stay (nor scan the whole history) per day.
        restart = Restart.for_range(conn, days[0], days[-1])
        if restart is None:
            touched = as_labels(stays_touching(conn, days[0], numbers))
            processed = processed_through(conn)
        else:
            touched = as_labels(restart.open_stays(conn, numbers))
            processed = restart.before
            context.log.info(
                f"segment_history: the range reaches the end of the stored history; its first chunk "
                f"sets the store back to {restart.before or 'before its first day'}"
            )
        block: BlockRows | None = None
        for chunk in chunks(days, size):
            laps = Laps()
            span = f"{chunk[0]}..{chunk[-1]}"
            if block is None or not block.covers(chunk):
                block_days = days[days.index(chunk[0]) :][: max(size, BLOCK_DAYS)]
                block = None  # let the last block's rows go before the next block's arrive
                block = BlockRows.read(conn, block_days, windows, base.through, numbers)
                context.log.info(
                    f"segment_history: read {block.orders.height} orders, {block.activity.height} activity "
                    f"rows for {block_days[0]}..{block_days[-1]}"
                )
            inputs = read_inputs(block, customers, chunk, windows.engagement_days, base)
            daily = memberships(inputs, chunk, settings).collect()
            laps.lap("memberships")
            summary, members = quality.daily_summary(daily, known, allowed), daily.height
            laps.lap("summary")
            fresh = as_labels(daily_pieces(daily))
            del daily  # the pieces say the same: holding both would add a day of memberships to the peak
            laps.lap("pieces")
            rewrite = rebuild_from_pieces(touched, fresh, chunk[0], chunk[-1], processed)
            del fresh
            laps.lap("rewrite")
            check = gate_chunk(summary, rewrite.stays, catalog, len(chunk))
            laps.lap("gate")
            if not check.passed:
                context.log.error(f"segment_history {span}: gate failed, stored history left as it was")
                yield dg.MaterializeResult(metadata={"failed_chunk": span})
                yield dg.AssetCheckResult(
                    check_name=GX_CHECK,
                    passed=False,
                    description=f"chunk {span}: {check.description}",
                    metadata=check.metadata,
                )
                return
            replace_stays(conn, chunk[0], chunk[-1], rewrite, numbers, restart)
            restart, processed = None, processed_through(conn)
            laps.lap("write")
            if not checkpoint(conn):
                context.log.warning(f"segment_history {span}: another transaction is open, no checkpoint")
            laps.lap("checkpoint")
            touched = rewrite.touching_after(chunk[-1] + timedelta(days=1))
            base = LifetimeBase(
                chunk[-1], lifetime_as_of(block.orders.lazy(), chunk[-1], base).collect().lazy()
            )
            rewritten += rewrite.stays.height
            laps.lap("carry")
            context.log.info(
                f"segment_history {span}: {members} memberships, {rewrite.kept.height} open stays "
                f"go on, {rewrite.stays.height} written in {laps} "
                f"({memory_note(conn)})"
            )
        # A run that ends before the stored state may have rebuilt orders the state includes: forget it.
        keep = stored is None or days[-1] >= stored.through
        write_lifetime_base(conn, base if keep else None, numbers)
        sizes = conn.sql(CURRENT_SIZES).fetchall()
        total = scalar(conn, "select count(*) from segment_history")
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "stays_rewritten": rewritten,
            "days": len(days),
            "current_sizes": dg.MetadataValue.json({f"{f}/{s}": n for f, s, n in sizes}),
        }
    )
    yield dg.AssetCheckResult(check_name=GX_CHECK, passed=True, description=f"{len(days)} day(s) checked")


CURRENT_SIZES = (
    "select family, segment, count(*) from segment_history where valid_to is null group by all order by all"
)


def gate_chunk(
    daily_summary: pl.DataFrame, rebuilt: pl.DataFrame, catalog: pl.DataFrame, days: int
) -> dg.AssetCheckResult:
    """GX on a chunk's `quality.daily_summary` and on the stays it would write."""
    summary_expectations, stay_expectations = quality.expectations(catalog["family"].n_unique(), days)
    return gx_check_result(
        "segment_history",
        [
            ("daily", daily_summary, summary_expectations),
            ("stays", quality.stay_summary(rebuilt), stay_expectations),
        ],
    )
