"""Materialize the real Definitions on a hand-written landing zone and check what BI would read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.extract.pseudonymise import customer_keys
from orchestration.settings import PROJECT_ROOT, Settings, get_settings
from tests.e2e.landing_fixture import DAYS, ORDER_HEADER, write_landing

Runner = Callable[[date, date], dg.ExecuteInProcessResult]


# A 1-day conversion window, so the day-1 campaign sends are judged within the three fixture days.
FIXTURE_ENV = {
    "SEGMENTS_EXPERIMENTS__CONVERSION_WINDOW_DAYS": "1",
    "SEGMENTS_CAMPAIGNS__COST_EUR": '{"cmp1": 20.0}',
}


def _runner(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance, env: dict[str, str]
) -> tuple[Settings, Runner]:
    monkeypatch.setenv("SEGMENTS_DATA_DIR", str(data_dir))
    for name, value in {**FIXTURE_ENV, **env}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    settings = get_settings()
    write_landing(settings.landing_dir)
    from orchestration.definitions import build_definitions
    from orchestration.run_window import run_range

    defs = build_definitions(settings)
    return settings, lambda start, end: run_range(start, end, instance=instance, defs=defs)


@pytest.fixture
def pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dbt_manifest: Path
) -> Iterator[tuple[Settings, Runner]]:
    """An empty installation on the fixture's landing zone, and a runner for day ranges."""
    with dg.instance_for_test() as instance:
        yield _runner(tmp_path / "data", monkeypatch, instance, {})


@pytest.fixture(scope="module")
def backfilled(
    tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path
) -> tuple[Path, dict[str, pl.DataFrame]]:
    """The fixture's whole window run once as one backfill: its data dir and what it published.

    Tests that start from a published window copy the data dir (`pipeline_after_backfill`) or
    compare with the snapshot, instead of each paying for the same first run. The segment stage
    runs it one day per chunk, as it does at a million customers: several chunks share one read of
    the engagement rows, and each starts from the stays the previous one left (compared with
    day-by-day runs in `test_day_by_day_equals_one_backfill_run`).
    """
    data_dir = tmp_path_factory.mktemp("backfilled") / "data"
    one_day_chunks = {"SEGMENTS_OPERATIONS__SEGMENT_CHUNK_MEMBERSHIPS": "1"}
    with pytest.MonkeyPatch.context() as monkeypatch, dg.instance_for_test() as instance:
        settings, run = _runner(data_dir, monkeypatch, instance, one_day_chunks)
        assert run(DAYS[0], DAYS[-1]).success
        published_tables = snapshot(settings)
    get_settings.cache_clear()
    return data_dir, published_tables


@pytest.fixture
def pipeline_after_backfill(
    pipeline: tuple[Settings, Runner], backfilled: tuple[Path, dict[str, pl.DataFrame]]
) -> tuple[Settings, Runner]:
    """`pipeline` with a copy of the backfilled window in place: a previous good publish."""
    settings, _ = pipeline
    # symlinks=True: the serving folder's `audiences` is a relative link the next publish swaps.
    shutil.copytree(backfilled[0], settings.data_dir, symlinks=True, dirs_exist_ok=True)
    return pipeline


def published(settings: Settings, table: str, order_by: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.serving_db), read_only=True) as conn:
        return pl.from_arrow(conn.sql(f"select * from {table} order by {order_by}").to_arrow_table())


def snapshot(settings: Settings) -> dict[str, pl.DataFrame]:
    return {
        "segment_membership": published(settings, "segment_membership", "customer_key, family"),
        "segment_history": published(settings, "segment_history", "customer_key, family, valid_from"),
        "segment_migration": published(settings, "segment_migration", "all"),
        "segment_kpis_daily": published(settings, "segment_kpis_daily", "as_of_date, segment"),
        "campaign_performance": published(settings, "campaign_performance", "campaign_id, variant, segment"),
        "customers": published(settings, "customers", "customer_key"),
    }


def assert_published_equal(settings: Settings, expected: dict[str, pl.DataFrame]) -> None:
    for table, frame in snapshot(settings).items():
        assert frame.equals(expected[table]), table


def dbt_target_folders(run_id: str) -> list[Path]:
    """The folders dagster-dbt gave this run's dbt invocations (named after the op and the run)."""
    return list((PROJECT_ROOT / "dbt_project" / "target").glob(f"behaviour_models-{run_id[:7]}-*"))


def test_sample_window_publishes_hand_computed_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dbt_manifest: Path
) -> None:
    # The one run of the suite that also runs dbt's unit tests: a failing one fails the dbt step.
    with dg.instance_for_test() as instance:
        env = {"SEGMENTS_TRANSFORM__RUN_DBT_UNIT_TESTS": "true"}
        settings, run = _runner(tmp_path / "data", monkeypatch, instance, env)
        assert settings.transform.run_dbt_unit_tests
        result = run(DAYS[0], DAYS[-1])
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    assert dbt_target_folders(result.run_id) == []  # a successful build leaves no folder behind

    keys = dict(
        customer_keys(
            pl.Series(["c1", "c2", "c3", "c4", "c5"]), settings.pseudonymisation_key_bytes()
        ).iter_rows()
    )
    rfm = published(settings, "segment_membership", "customer_key").filter(pl.col("family") == "rfm")
    assert set(rfm["customer_key"]) == {keys[c] for c in ("c1", "c2", "c3", "c5")}  # test account c4 is gone
    assert set(rfm["as_of_date"]) == {DAYS[-1]}
    by_customer = {row["customer_key"]: row for row in rfm.to_dicts()}
    # Day 3 buyers: c1 (2 orders, last today) and c2 (1 order, 1 day ago). Two buyers: min-rank 1 → score 1,
    # rank 2 → floor(1*5/2)+1 = 3. So c1 = (3, 3, 3) Need Attention, c2 = (1, 1, 1) Lost.
    c1, c2 = by_customer[keys["c1"]], by_customer[keys["c2"]]
    assert (c1["segment"], c1["recency_score"], c1["frequency_score"], c1["monetary_score"]) == (
        "Need Attention",
        3,
        3,
        3,
    )
    assert (c1["member_since"], c1["previous_segment"], c1["score"]) == (DAYS[2], "Lost", 0.0)
    assert (c2["segment"], c2["recency_score"], c2["frequency_score"]) == ("Lost", 1, 1)
    # Day 2: c2 had bought today (recency 0 → score 3), c1 yesterday (→ 1), both once → About to Sleep.
    assert (c2["member_since"], c2["previous_segment"], c2["score"]) == (DAYS[2], "About to Sleep", 1.0)
    for quiet in ("c3", "c5"):
        assert by_customer[keys[quiet]]["segment"] == "No Recent Purchase"

    history = published(settings, "segment_history", "customer_key, family, valid_from").filter(
        (pl.col("family") == "rfm") & (pl.col("customer_key") == keys["c1"])
    )
    assert history.select("segment", "valid_from", "valid_to").rows() == [
        ("Lost", DAYS[0], DAYS[2]),  # day 1: the only buyer scores 1 everywhere
        ("Need Attention", DAYS[2], None),
    ]
    with duckdb.connect(str(settings.serving_db), read_only=True) as conn:
        on_day_2 = conn.sql(
            "select segment from segments_as_of(?::date) where family = 'rfm' and customer_key = ?",
            params=[DAYS[1], keys["c1"]],
        ).fetchall()
    assert on_day_2 == [("Lost",)]

    # Audiences: only consenting customers (c1, c3; c2 declined, c5 is unknown to the CRM).
    audience = published(settings, "audience_export", "family, segment, customer_key").filter(
        pl.col("family") == "rfm"
    )
    assert audience.select("segment", "customer_key").rows() == [
        ("Need Attention", keys["c1"]),
        ("No Recent Purchase", keys["c3"]),
    ]
    csv = settings.serving_db.parent / "audiences" / "rfm" / "Need Attention.csv"
    assert csv.read_text().split() == ["customer_key", keys["c1"]]
    catalog = published(settings, "segment_catalog", "family, segment").filter(pl.col("family") == "rfm")
    lost = catalog.filter(pl.col("segment") == "Lost").row(0, named=True)
    assert (lost["customers"], lost["consenting_customers"]) == (1, 0) and lost["recommended_action"]
    assert catalog.height == 12  # 11 grid segments + "No Recent Purchase", empty ones included
    migration = published(settings, "segment_migration", "all").filter(
        (pl.col("family") == "rfm") & (pl.col("as_of_date") == DAYS[2])
    )
    assert migration.select("from_segment", "to_segment", "customers").rows() == [
        ("(new)", "No Recent Purchase", 1),  # c5
        ("About to Sleep", "Lost", 1),  # c2
        ("Lost", "Need Attention", 1),  # c1
        ("No Recent Purchase", "No Recent Purchase", 1),  # c3 stayed
    ]

    kpis = published(settings, "segment_kpis_daily", "as_of_date, segment")
    totals = kpis.filter(pl.col("segment") == "All customers").sort("as_of_date")
    assert totals["revenue_eur"].to_list() == [100.0, 18.4, 40.0]
    assert totals["orders"].to_list() == [1, 1, 1]  # the cancelled order and the test account do not count
    assert totals["customers"].to_list() == [3, 3, 4]  # c5 becomes known on day 3
    day1 = totals.row(0, named=True)
    assert (day1["visitors"], day1["visitors_who_bought"], day1["conversion_rate"]) == (2, 1, 0.5)

    long = published(settings, "kpi_daily", "as_of_date, segment, window_days, metric")
    daily_conversion = long.filter(
        (pl.col("segment") == "All customers")
        & (pl.col("window_days") == 1)
        & (pl.col("metric") == "conversion_rate")
    )["value"].to_list()
    assert daily_conversion == totals["conversion_rate"].to_list()
    week = long.filter(
        (pl.col("segment") == "All customers")
        & (pl.col("window_days") == 7)
        & (pl.col("as_of_date") == DAYS[-1])
    )
    aov = week.filter(pl.col("metric") == "average_order_value_eur").row(0, named=True)
    assert (aov["numerator"], aov["denominator"]) == (158.4, 3.0)  # 100 + 18.40 + 40 over 3 orders

    # Engagement and satisfaction. Sessions (30-min rule per customer, channel and delivery day):
    # day 1 c1 10:00-10:20 (1200 s) and 11:00 (0 s), c3 (0 s); day 2 c2 app 08:00-08:05 (300 s), c3, c1's
    # late page view (0 s each); day 3 c5 and c1's web survey answer (0 s each).
    assert totals["sessions"].to_list() == [3, 3, 2]
    assert totals["session_seconds"].to_list() == [1200, 300, 0]
    assert totals["avg_session_seconds"].to_list() == [400.0, 100.0, 0.0]
    assert totals["emails_sent"].to_list() == [2, 0, 0]  # cmp1 to c1 and c3
    assert totals["email_opens"].to_list() == [0, 1, 1] and totals["email_clicks"].to_list() == [0, 0, 1]
    day3 = totals.row(2, named=True)
    # c1 answered 5, c2 answered 2 (by email: no session)
    assert (day3["survey_responses"], day3["csat_sum"], day3["csat_satisfied_responses"]) == (2, 7, 1)
    assert (day3["mean_csat"], day3["csat_satisfied_share"]) == (3.5, 0.5)
    assert totals["mean_csat"].to_list()[:2] == [None, None]  # no answers yet: null, not NaN
    # Repeat buyers: c1 has two completed orders on day 3; c2 one (the other was cancelled).
    assert totals["customers_with_purchase"].to_list() == [1, 2, 2]
    assert totals["repeat_buyers"].to_list() == [0, 0, 1]
    assert totals["repeat_purchase_rate"].to_list() == [0.0, 0.0, 0.5]
    by_segment = {r["segment"]: r for r in kpis.filter(pl.col("as_of_date") == DAYS[2]).to_dicts()}
    assert (by_segment["Need Attention"]["mean_csat"], by_segment["Lost"]["mean_csat"]) == (5.0, 2.0)
    assert by_segment["Lost"]["csat_satisfied_share"] == 0.0
    assert by_segment["Need Attention"]["repeat_purchase_rate"] == 1.0  # c1
    assert by_segment["No Recent Purchase"]["repeat_purchase_rate"] is None  # c3, c5 never bought

    def weekly(metric: str) -> tuple[float | None, float, float]:
        row = week.filter(pl.col("metric") == metric).row(0, named=True)
        return row["value"], row["numerator"], row["denominator"]

    assert weekly("avg_session_seconds") == (187.5, 1500.0, 8.0)
    assert weekly("stickiness") == (0.7, 7.0, 10.0)  # visitors 2 + 3 + 2 over members 3 + 3 + 4
    assert weekly("email_opens_per_send") == (1.0, 2.0, 2.0)
    assert weekly("email_clicks_per_send") == (0.5, 1.0, 2.0)
    assert weekly("mean_csat") == (3.5, 7.0, 2.0) and weekly("csat_satisfied_share") == (0.5, 1.0, 2.0)
    repeat = long.filter(
        (pl.col("segment") == "All customers") & (pl.col("metric") == "repeat_purchase_rate")
    )
    assert repeat.select("as_of_date", "window_days", "value").rows() == [
        (DAYS[0], 1, 0.0), (DAYS[1], 1, 0.0), (DAYS[2], 1, 0.5)
    ]  # fmt: skip

    # Campaign cmp1 as of day 3, 1-day window: c1 (treatment, Lost on day 1) sent 08:00, bought o1 (100 EUR)
    # at 12:00 the same day, opened and clicked on day 3; c3 (control, No Recent Purchase) opened on day 2.
    # Cost 20 EUR, 10 per send.
    campaigns = published(settings, "campaign_performance", "campaign_id, variant, segment")
    assert campaigns.select("variant", "segment").rows() == [
        ("All variants", "All customers"), ("All variants", "Lost"), ("All variants", "No Recent Purchase"),
        ("control", "All customers"), ("control", "No Recent Purchase"),
        ("treatment", "All customers"), ("treatment", "Lost"),
    ]  # fmt: skip
    cmp1 = {(r["variant"], r["segment"]): r for r in campaigns.to_dicts()}
    total = cmp1[("All variants", "All customers")]
    assert (total["exposures"], total["opened"], total["clicked"]) == (2, 2, 1)
    assert (total["open_rate"], total["click_through_rate"], total["click_to_open_rate"]) == (1.0, 0.5, 0.5)
    assert (total["judged_exposures"], total["conversions"], total["conversion_rate"]) == (2, 1, 0.5)
    assert (total["attributed_orders"], total["attributed_revenue_eur"]) == (1, 100.0)
    assert (total["cost_eur"], total["roi"]) == (20.0, 4.0)  # (100 - 20) / 20
    assert (cmp1[("treatment", "Lost")]["cost_eur"], cmp1[("treatment", "Lost")]["roi"]) == (10.0, 9.0)
    control = cmp1[("control", "No Recent Purchase")]
    assert (control["clicked"], control["click_to_open_rate"], control["roi"]) == (0, 0.0, -1.0)
    assert set(campaigns["as_of_date"]) == {DAYS[-1]}

    retention = published(settings, "cohort_retention", "cohort_month, months_since_first_order")
    assert retention.select(
        "cohort_month", "months_since_first_order", "cohort_customers", "retention_rate"
    ).rows() == [
        (date(2025, 9, 1), 0, 2, 1.0)  # c1 and c2 first bought in September; the test account does not count
    ]

    quality = published(settings, "data_quality_log", "delivery_day, source, outcome")
    orders_day1 = dict(
        quality.filter((pl.col("source") == "orders") & (pl.col("delivery_day") == DAYS[0]))
        .select("outcome", "rows")
        .iter_rows()
    )
    assert orders_day1 == {"read": 2, "valid": 2, "exact_duplicate_dropped": 0, "quarantined": 0}

    customers = published(settings, "customers", "customer_key")
    assert customers.height == 4 and "email" not in customers.columns
    assert customers["marketing_consent"].null_count() == 1  # c5: never in the CRM


def test_rerunning_a_partition_or_the_whole_range_changes_nothing(
    pipeline_after_backfill: tuple[Settings, Runner],
) -> None:
    """An older day is stitched into the stored history; the newest day and the whole range again
    set the stored history back to the day before them (`store.Restart`) and rebuild it."""
    settings, run = pipeline_after_backfill
    before = snapshot(settings)
    assert run(DAYS[1], DAYS[1]).success
    assert run(DAYS[-1], DAYS[-1]).success
    assert run(DAYS[0], DAYS[-1]).success
    assert_published_equal(settings, before)
    assert published(settings, "publish_log", "published_at").height == 4


def test_day_by_day_equals_one_backfill_run(
    pipeline: tuple[Settings, Runner], backfilled: tuple[Path, dict[str, pl.DataFrame]]
) -> None:
    settings, run = pipeline
    for day in DAYS:
        assert run(day, day).success
    assert_published_equal(settings, backfilled[1])


def test_a_redelivered_event_is_stored_once_at_its_first_delivery_in_any_order(
    pipeline: tuple[Settings, Runner],
) -> None:
    """e1 arrives on day 1 and again on day 3. stg_events is incremental: built day 3 first, it keeps
    day 3's copy (day 1 is not extracted yet); building day 1 later replaces it (unique_key)."""
    settings, run = pipeline

    def deliveries_of_e1() -> list[date]:
        with duckdb.connect(str(settings.work_db), read_only=True) as conn:
            rows = conn.execute("select loaded_date from stg_events where event_id = 'e1'").fetchall()
        return [row[0] for row in rows]

    assert run(DAYS[2], DAYS[2]).success
    assert deliveries_of_e1() == [DAYS[2]]
    assert run(DAYS[0], DAYS[1]).success
    assert deliveries_of_e1() == [DAYS[0]]


def test_dagster_cli_backfills_a_range_in_one_run(
    pipeline: tuple[Settings, Runner], backfilled: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    """The README's CLI backfill: `dagster asset materialize --partition-range` runs the whole range
    as ONE run (every asset has a single-run backfill policy) and publishes what run_window does."""
    settings, _ = pipeline
    home = tmp_path / "cli_dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    command = [
        str(Path(sys.executable).with_name("dagster")), "asset", "materialize",
        "-m", "orchestration.definitions", "--select", "*",
        "--partition-range", f"{DAYS[0]}...{DAYS[-1]}",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    assert runs[0].tags["dagster/asset_partition_range_start"] == DAYS[0].isoformat()
    assert runs[0].tags["dagster/asset_partition_range_end"] == DAYS[-1].isoformat()
    assert_published_equal(settings, backfilled[1])


def test_corrupt_landing_file_stops_publish_and_keeps_the_last_good_one(
    pipeline_after_backfill: tuple[Settings, Runner],
) -> None:
    settings, run = pipeline_after_backfill
    before = snapshot(settings)
    serving_bytes = settings.serving_db.read_bytes()
    broken = settings.landing_dir / "orders" / f"orders_{DAYS[-1].isoformat()}.csv"
    broken.write_text(ORDER_HEADER.replace(",amount", "") + "\no5,c1,x@example.com,2025-09-03T12:00:00Z\n")

    with duckdb.connect(str(settings.serving_db), read_only=True) as reader:  # BI holds the file open
        result = run(DAYS[-1], DAYS[-1])
        assert reader.execute("select count(distinct customer_key) from segment_membership").fetchall() == [
            (4,)
        ]
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert str(broken) in message and "missing column(s) ['amount']" in message
    planned = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "serving_warehouse" not in planned
    assert settings.serving_db.read_bytes() == serving_bytes
    assert_published_equal(settings, before)


def test_published_columns_match_the_documented_tables(
    backfilled: tuple[Path, dict[str, pl.DataFrame]],
) -> None:
    from assets.publish.tables import PUBLISHED_TABLES

    serving_db = Settings(data_dir=backfilled[0]).serving_db
    with duckdb.connect(str(serving_db), read_only=True) as conn:
        for table in PUBLISHED_TABLES:
            columns = conn.execute(
                "select column_name, comment from duckdb_columns() where table_name = ?", [table.name]
            ).fetchall()
            assert [name for name, _ in columns] == list(table.columns), table.name
            assert all(comment for _, comment in columns), table.name


def test_failing_dbt_test_blocks_segments_and_publish(
    pipeline_after_backfill: tuple[Settings, Runner],
) -> None:
    """Bronze that slipped past extract (written by hand here) must still be stopped by dbt's tests."""
    from assets.partition_store import partition_path

    settings, _ = pipeline_after_backfill
    before = snapshot(settings)
    bronze = partition_path(settings.bronze_dir, "orders", DAYS[-1])
    tampered = pl.read_parquet(bronze).with_columns(pl.lit(-50.0).alias("amount"))
    tampered.write_parquet(bronze)

    from orchestration.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def("daily_segmentation")
    downstream = [dg.AssetKey(k) for k in ("stg_orders", "stg_events", "stg_customers", "fct_orders",
                  "fct_sessions", "dim_customers", "customer_daily_activity", "segment_history",
                  "segment_kpis", "serving_warehouse")]  # fmt: skip
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            partition_key=DAYS[-1].isoformat(),
            asset_selection=downstream,
            raise_on_error=False,
        )
    assert not result.success
    failed_checks = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert any("fct_orders" in name or "stg_orders" in name for name in failed_checks), failed_checks
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert not materialized & {"segment_history", "segment_kpis", "serving_warehouse"}
    assert_published_equal(settings, before)
    assert len(dbt_target_folders(result.run_id)) == 1  # a failed build keeps its dbt folder to debug


def test_failing_gx_suite_blocks_publish(
    pipeline_after_backfill: tuple[Settings, Runner], monkeypatch: pytest.MonkeyPatch
) -> None:
    """KPIs that no longer reconcile with the marts are computed but never published."""
    import assets.kpis.assets as kpi_assets

    settings, run = pipeline_after_backfill
    before = snapshot(settings)
    real = kpi_assets.compute_segment_kpis

    def off_by_one_euro(*args: object, **kwargs: object) -> pl.LazyFrame:
        return real(*args, **kwargs).with_columns(pl.col("revenue_eur") + 1.0)

    monkeypatch.setattr(kpi_assets, "compute_segment_kpis", off_by_one_euro)
    result = run(DAYS[-1], DAYS[-1])
    assert not result.success
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [c.check_name for c in failed] == ["segment_kpis_gx_suite"]
    failures = failed[0].metadata["failed_expectations"].value
    assert {f["kwargs"].get("column") for f in failures} >= {"segment_vs_mart_eur", "total_vs_mart_eur"}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "segment_kpis" in materialized and "serving_warehouse" not in materialized
    assert_published_equal(settings, before)
