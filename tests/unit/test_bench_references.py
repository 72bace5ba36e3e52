"""The benchmark's three implementations of RFM + lifecycle + KPIs agree with a hand-computed answer.

A hand-made work DB with eleven customers: the marts are created from their dbt contracts (so the
table shapes follow the models), filled with rows chosen so every score, segment and KPI below can
be worked out on paper. Five buyers in the window make each quantile score equal to the rank.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from assets.segments.assets import orders_for_run
from assets.segments.features import LifetimeBase, lifetime_as_of
from assets.segments.store import ensure_tables, write_lifetime_base
from assets.work_db import order_history
from bench import pipeline_day, reference_duckdb, reference_pandas
from bench.compare import compare_all, summary
from bench.outputs import Answer
from orchestration.settings import PROJECT_ROOT, get_settings

AS_OF = date(2025, 6, 30)  # the RFM window is (2024-06-30, 2025-06-30]
MARTS = PROJECT_ROOT / "dbt_project" / "models" / "marts"
NUMERIC = ("int", "decimal", "double", "float", "numeric")

CUSTOMERS = [  # customer_key, first_loaded_date
    ("a", "2024-07-01"), ("b", "2025-01-01"), ("c", "2025-06-10"), ("d", "2023-01-01"),
    ("e", "2024-12-01"), ("f", "2025-06-01"), ("g", "2024-01-10"), ("h", "2025-06-01"),
    ("i", "2025-07-02"), ("j", "2025-05-01"), ("k", "2024-06-01"),
]  # fmt: skip
ORDERS = [  # customer_key, order_date, loaded_date, is_completed, net_amount_eur
    ("a", "2024-08-01", "2024-08-01", True, 100.10), ("a", "2024-10-01", "2024-10-01", True, 99.90),
    ("a", "2024-12-01", "2024-12-01", True, 100.00), ("a", "2025-04-01", "2025-04-01", True, 100.00),
    ("a", "2025-06-29", "2025-06-30", True, 100.00),
    ("b", "2025-03-01", "2025-03-01", True, 100.00), ("b", "2025-04-15", "2025-04-15", True, 100.00),
    ("b", "2025-05-30", "2025-05-30", True, 100.00), ("b", "2025-06-20", "2025-06-20", True, 100.00),
    ("c", "2025-06-10", "2025-06-10", True, 100.00),
    ("d", "2023-01-01", "2023-01-01", True, 50.00), ("d", "2024-12-12", "2024-12-12", True, 100.00),
    ("e", "2025-01-01", "2025-01-01", True, 125.00), ("e", "2025-02-01", "2025-02-01", True, 125.00),
    ("g", "2024-01-15", "2024-01-15", True, 80.00),
    ("h", "2025-06-30", "2025-07-01", True, 60.00),  # delivered after D: unknown on D
    ("i", "2025-07-02", "2025-07-02", True, 70.00),  # customer not known on D
    ("j", "2025-06-15", "2025-06-15", False, 90.00),  # cancelled
    ("k", "2024-06-30", "2024-06-30", True, 40.00),  # on the window's open end: outside it
]  # fmt: skip
ACTIVITY = [  # customer_key, activity_date, sessions, orders_completed, net_revenue_eur
    ("a", "2025-06-30", 1, 1, 100.00), ("f", "2025-06-30", 3, 0, 0.0), ("b", "2025-06-30", 0, 0, 0.0),
    ("k", "2025-06-30", 2, 0, 0.0), ("c", "2025-06-29", 5, 0, 0.0),
]  # fmt: skip

# customer: recency_days, frequency, monetary, R, F, M, RFM segment, lifecycle — worked out by hand.
EXPECTED = {
    "a": (1, 5, 500.0, 5, 5, 5, "Champions", "resurrected"),  # last gap 89 days > 60
    "b": (10, 4, 400.0, 4, 4, 4, "Loyal", "returning"),
    "c": (20, 1, 100.0, 3, 1, 1, "About to Sleep", "new"),  # F and M tie with d: both rank 1
    "d": (200, 1, 100.0, 1, 1, 1, "Lost", "dormant"),
    "e": (149, 2, 250.0, 2, 3, 3, "At Risk", "at_risk"),
    "f": (None, None, None, None, None, None, "No Recent Purchase", "prospect"),
    "g": (None, None, None, None, None, None, "No Recent Purchase", "churned"),
    "h": (None, None, None, None, None, None, "No Recent Purchase", "prospect"),
    "j": (None, None, None, None, None, None, "No Recent Purchase", "prospect"),
    "k": (None, None, None, None, None, None, "No Recent Purchase", "dormant"),  # 365 days: not > 365
}
# segment: customers, visitors, buyers, orders, revenue, conversion, customers_with_purchase, churned
EXPECTED_KPIS = {
    "Champions": (1, 1, 1, 1, 100.0, 1.0, 1, 0),
    "Loyal": (1, 0, 0, 0, 0.0, None, 1, 0),
    "No Recent Purchase": (5, 2, 0, 0, 0.0, 0.0, 2, 1),
    "All customers": (10, 3, 1, 1, 100.0, 1 / 3, 7, 1),
}


def _create_from_contract(conn: duckdb.DuckDBPyConnection, model: str) -> None:
    """The mart as its dbt contract declares it; counts default to 0 (csat_sum stays null)."""
    spec = yaml.safe_load((MARTS / f"{model}.yml").read_text())
    columns = next(m for m in spec["models"] if m["name"] == model)["columns"]
    ddl = []
    for column in columns:
        numeric = column["data_type"].lower().startswith(NUMERIC) and not column["name"].startswith(
            "csat_sum"
        )
        ddl.append(f"{column['name']} {column['data_type']}{' default 0' if numeric else ''}")
    conn.execute(f"create table {model} ({', '.join(ddl)})")


@pytest.fixture
def work_db(tmp_path: Path) -> Path:
    path = tmp_path / "work.duckdb"
    with duckdb.connect(str(path)) as conn:
        for model in ("dim_customers", "fct_orders", "customer_daily_activity"):
            _create_from_contract(conn, model)
        conn.executemany(
            "insert into dim_customers (customer_key, first_loaded_date) values (?, ?)", CUSTOMERS
        )
        conn.executemany(
            "insert into fct_orders (order_id, customer_key, order_ts, order_date, loaded_date, is_completed,"
            " gross_amount_eur, net_amount_eur, product_category) "
            "values (?, ?, ?::date::timestamptz, ?, ?, ?, ?, ?, 'home')",
            [
                (f"o{n}", key, day, day, loaded, done, net, net)
                for n, (key, day, loaded, done, net) in enumerate(ORDERS)
            ],
        )
        conn.executemany(
            "insert into customer_daily_activity (customer_key, activity_date, sessions, orders_completed,"
            " orders_placed, net_revenue_eur) values (?, ?, ?, ?, ?, ?)",
            [
                (key, day, sessions, orders, orders, revenue)
                for key, day, sessions, orders, revenue in ACTIVITY
            ],
        )
    return path


@pytest.fixture
def lifetime_state(work_db: Path, tmp_path: Path) -> Path:
    """The state a daily run for AS_OF starts from: lifetime aggregates through the day before,
    stored in the work DB by the segment stage's own writer, then saved by the bench."""
    through = AS_OF - timedelta(days=1)
    path = tmp_path / "lifetime_state.parquet"
    with duckdb.connect(str(work_db)) as conn:
        ensure_tables(conn)
        write_lifetime_base(
            conn, LifetimeBase(through, lifetime_as_of(order_history(conn, through), through))
        )
        assert pipeline_day.save_lifetime_state(conn, path) == through
    return path


@pytest.fixture
def answers(work_db: Path, lifetime_state: Path) -> dict[str, Answer]:
    settings = get_settings()
    with duckdb.connect(str(work_db), read_only=True) as conn:
        return {
            "pipeline": pipeline_day.run(conn, AS_OF, settings, lifetime_state),
            "pipeline_full_scan": pipeline_day.run(conn, AS_OF, settings),
            "pandas": reference_pandas.run(conn, AS_OF, settings),
            "duckdb": reference_duckdb.run(conn, AS_OF, settings),
        }


def test_the_daily_path_reads_only_the_window_and_the_state(work_db: Path, lifetime_state: Path) -> None:
    """d's 2023 order is outside the window: the daily path never reads it, the state stands in."""
    state = pipeline_day.load_lifetime_state(lifetime_state)
    with duckdb.connect(str(work_db), read_only=True) as conn:
        orders, base = orders_for_run(conn, [AS_OF], get_settings().rfm.window_days, state)
    assert base is state and date(2023, 1, 1) not in orders["order_date"].to_list()


@pytest.mark.parametrize("name", ["pipeline", "pipeline_full_scan", "pandas", "duckdb"])
def test_segments_match_the_hand_computed_answer(answers: dict[str, Answer], name: str) -> None:
    rows = {row[0]: tuple(row[1:]) for row in answers[name].segments.iter_rows()}
    assert rows == EXPECTED


@pytest.mark.parametrize("name", ["pipeline", "pipeline_full_scan", "pandas", "duckdb"])
def test_kpis_match_the_hand_computed_answer(answers: dict[str, Answer], name: str) -> None:
    kpis = answers[name].kpis
    columns = [
        "customers", "visitors", "buyers", "orders", "revenue_eur", "conversion_rate",
        "customers_with_purchase", "churned_customers",
    ]  # fmt: skip
    for segment, expected in EXPECTED_KPIS.items():
        row = kpis.filter(pl.col("segment") == segment).select(columns).row(0)
        # pytest.approx cannot take None (a null rate); compare those exactly
        assert [v if v is None else pytest.approx(v, rel=1e-12) for v in expected] == list(row), segment
    assert set(kpis["segment"]) == {"All customers", *(v[6] for v in EXPECTED.values())}


def test_compare_agrees_and_catches_a_difference(answers: dict[str, Answer]) -> None:
    comparisons = compare_all(answers)
    assert all(c.ok for c in comparisons), summary(comparisons)
    wrong = answers["pandas"].segments.with_columns(
        pl.when(pl.col("customer_key") == "c")
        .then(pl.lit("Lost"))
        .otherwise("rfm_segment")
        .alias("rfm_segment")
    )
    broken = {**answers, "pandas": Answer(segments=wrong, kpis=answers["pandas"].kpis)}
    verdicts = {(c.base, c.other): c for c in compare_all(broken)}
    assert verdicts["pipeline", "duckdb"].ok
    for pair in (("pipeline", "pandas"), ("pandas", "duckdb")):
        assert not verdicts[pair].ok and verdicts[pair].segment_mismatches == 1
