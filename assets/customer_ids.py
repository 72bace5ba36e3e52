"""Customers as dense integers inside the segment and KPI stages.

Those stages join, sort, group and count a million customers times nine families (or times the
days of a chunk). On 32-character pseudonymised keys each of those hashes or compares strings,
and every frame cut from another shares (and keeps alive) the other's string buffers, so a long
backfill held on to more of them every day. The stages therefore read their inputs with
`customer_key` replaced by a UInt32 number and turn numbers back into keys only where they write.
Customers are numbered in key order, so sorting by number sorts as sorting by key did, and the
output does not change.

The numbering lives in a temporary table of the run's DuckDB connection and is never stored: each
run numbers every customer of `dim_customers` (which holds every customer an order or event names:
fct_orders has a `relationships` test on it) and of the stored stays and lifetime state the run
reads back (`segments.store.customer_numbers`: a rerun of an older day finds stays of customers
that dim_customers, rebuilt for that day, does not hold yet). An input row naming a customer
outside the numbering is an error that names the input, not a row silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

_TABLE = "segment_customer_numbers"


@dataclass(frozen=True)
class CustomerNumbers:
    """The run's numbering (a temporary table: a connection holds at most one)."""

    customers: int

    @classmethod
    def assign(
        cls, conn: duckdb.DuckDBPyConnection, stored: str = "", params: list[object] | None = None
    ) -> CustomerNumbers:
        """Number the customers of dim_customers and of `stored`, a query (with `params`) of the
        customer keys in stored tables the run reads back."""
        customers = "select customer_key from dim_customers" + (f" union {stored}" if stored else "")
        conn.execute(
            f"""create or replace temp table {_TABLE} as
            select customer_key, (row_number() over (order by customer_key) - 1)::uinteger as customer_no
            from ({customers})""",
            params or [],
        )
        [(customers,)] = conn.execute(f"select count(*) from {_TABLE}").fetchall()
        return cls(customers)

    def numbered(self, sql: str) -> str:
        """`sql`, whose rows have a `customer_key`, with the key replaced by the customer's number
        (null for a customer outside the numbering: `check` turns that into an error)."""
        return f"""select numbers.customer_no as customer_key, keyed.* exclude (customer_key)
            from ({sql}) as keyed
            left join {_TABLE} as numbers on numbers.customer_key = keyed.customer_key"""

    def keyed(self, relation: str) -> str:
        """Rows of `relation` (numbered, e.g. a registered polars frame) with their keys back."""
        return f"""select numbers.customer_key, numbered.* exclude (customer_key)
            from {relation} as numbered
            join {_TABLE} as numbers on numbers.customer_no = numbered.customer_key"""

    @staticmethod
    def check(frame: pl.DataFrame, source: str) -> pl.DataFrame:
        missing = frame["customer_key"].null_count()
        if missing:
            raise ValueError(
                f"{source}: {missing} row(s) name a customer missing from dim_customers; "
                "rebuild dim_customers (dbt build -s dim_customers) before the segment and KPI stages"
            )
        return frame


def read_frame(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[object] | dict[str, object],
    numbers: CustomerNumbers | None,
    source: str,
) -> pl.DataFrame:
    """`sql`'s rows; with `numbers`, customers as the run's numbers (`source` names the input in
    the error a customer outside the numbering raises)."""
    frame = pl.DataFrame(conn.sql(numbers.numbered(sql) if numbers else sql, params=params).to_arrow_table())
    return numbers.check(frame, source) if numbers else frame
