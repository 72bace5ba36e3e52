"""The segment stage works on customer numbers and stores customer keys: the round trip loses nothing."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from assets.customer_ids import CustomerNumbers
from assets.segments.features import LifetimeBase
from assets.segments.history import STAY_COLUMNS, StayRewrite
from assets.segments.store import (
    customer_numbers,
    ensure_tables,
    read_lifetime_base,
    replace_stays,
    stays_touching,
    write_lifetime_base,
)
from assets.work_db import customer_profiles, order_history

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
KEYS = ["f0e1", "0a9b", "c3d4"]  # numbered in key order: 0a9b -> 0, c3d4 -> 1, f0e1 -> 2


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute(
        """create table dim_customers as
        select * from (values ('f0e1', date '2026-03-01', 1, 2), ('0a9b', date '2026-03-02', 3, 4),
            ('c3d4', date '2026-03-03', 5, 6))
        as t(customer_key, first_loaded_date, birth_month, birth_day)"""
    )
    conn.execute(
        """create table fct_orders as
        select * from (values ('c3d4', date '2026-03-01', date '2026-03-01', 'books', 10.0, 12.0, 2.0, true),
            ('f0e1', date '2026-03-02', date '2026-03-02', 'toys', 5.0, 5.0, 0.0, true))
        as t(customer_key, order_date, loaded_date, product_category, net_amount_eur, gross_amount_eur,
            discount_amount_eur, is_completed)"""
    )
    ensure_tables(conn)
    return conn


def _stay(customer: int | str, segment: str, start: date, end: date | None) -> dict[str, object]:
    return {
        "customer_key": customer, "family": "rfm", "segment": segment, "score": None, "recency_score": None,
        "frequency_score": None, "monetary_score": None, "valid_from": start, "valid_to": end,
        "previous_segment": None,
    }  # fmt: skip


def _frame(rows: list[dict[str, object]], key_type: type[pl.DataType]) -> pl.DataFrame:
    schema = {"customer_key": key_type, "family": pl.String, "segment": pl.String, "score": pl.Float64,
              "recency_score": pl.Int8, "frequency_score": pl.Int8, "monetary_score": pl.Int8,
              "valid_from": pl.Date, "valid_to": pl.Date, "previous_segment": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema).select(STAY_COLUMNS)


def test_customers_are_numbered_densely_in_key_order(conn: duckdb.DuckDBPyConnection) -> None:
    numbers = CustomerNumbers.assign(conn)
    profiles = customer_profiles(conn, D3, numbers).collect().sort("customer_key")
    assert numbers.customers == 3
    assert profiles["customer_key"].dtype == pl.UInt32
    assert profiles.select("customer_key", "birth_month").rows() == [(0, 3), (1, 5), (2, 1)]
    # Sorting by number sorts as sorting by key: the segment stage's row order does not change.
    assert sorted(KEYS) == ["0a9b", "c3d4", "f0e1"]
    orders = order_history(conn, D3, numbers).collect().sort("order_date")
    assert orders["customer_key"].to_list() == [1, 2]


def test_a_row_naming_a_customer_outside_dim_customers_is_an_error_naming_the_input(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    conn.execute(
        "insert into fct_orders values ('ffff', date '2026-03-02', date '2026-03-02', 'toys', 1, 1, 0, true)"
    )
    numbers = CustomerNumbers.assign(conn)
    with pytest.raises(
        ValueError, match=r"fct_orders: 1 row\(s\) name a customer missing from dim_customers"
    ):
        order_history(conn, D3, numbers)


def test_stays_and_lifetime_state_are_stored_by_key_and_read_back_by_number(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    numbers = CustomerNumbers.assign(conn)
    stays = _frame(
        [_stay(2, "New", D1, D2), _stay(2, "Loyal", D2, None), _stay(0, "Lost", D2, None)], pl.UInt32
    )
    pairs = stays.select("customer_key", "family").unique()
    replace_stays(conn, D1, D2, StayRewrite(pairs=pairs, stays=stays, kept=stays.clear()), numbers)

    stored = conn.sql("select customer_key, segment from segment_history order by all").fetchall()
    assert stored == [("0a9b", "Lost"), ("f0e1", "Loyal"), ("f0e1", "New")]
    back = stays_touching(conn, D2, numbers).sort("customer_key", "valid_from")
    assert back.equals(stays.sort("customer_key", "valid_from"))
    # Without numbers the store speaks keys, as the publish and the tests' readers do.
    assert set(stays_touching(conn, D2)["customer_key"]) == {"0a9b", "f0e1"}

    # A rewrite by number deletes exactly the stored stays of its pairs (by key).
    rewritten = _frame([_stay(2, "Champion", D2, None)], pl.UInt32)
    replace_stays(
        conn, D3, D3, StayRewrite(pairs=rewritten.select("customer_key", "family"), stays=rewritten,
                                  kept=rewritten.clear()), numbers,
    )  # fmt: skip
    stored = conn.sql("select customer_key, segment from segment_history order by all").fetchall()
    assert stored == [("0a9b", "Lost"), ("f0e1", "Champion"), ("f0e1", "New")]

    # A rerun of an older day finds dim_customers rebuilt for that day, without customers first
    # seen later: their stored stays are still numbered, and read back whole.
    conn.execute("delete from dim_customers where customer_key = 'f0e1'")
    with pytest.raises(ValueError, match="segment_history: 1 row"):
        stays_touching(conn, D3, CustomerNumbers.assign(conn))
    rerun = customer_numbers(conn, D3)
    assert rerun.customers == 3
    assert stays_touching(conn, D3, rerun).sort("customer_key").select("customer_key", "segment").rows() == [
        (0, "Lost"),
        (2, "Champion"),
    ]

    lifetime = pl.DataFrame(
        {"customer_key": [1], "orders_ever": [1], "first_order_date": [D1], "last_order_date": [D1],
         "previous_order_date": [None]},
        schema_overrides={"customer_key": pl.UInt32, "orders_ever": pl.Int32, "previous_order_date": pl.Date},
    )  # fmt: skip
    write_lifetime_base(conn, LifetimeBase(D1, lifetime.lazy()), numbers)
    assert conn.sql("select customer_key from customer_lifetime_state").fetchall() == [("c3d4",)]
    state = read_lifetime_base(conn, numbers)
    assert state is not None and state.through == D1
    assert state.lifetime.collect().equals(lifetime)
