"""The bad-input corpus through the whole real graph, up to publish, on top of a previous good publish.

`tests/test_bad_inputs.py` runs all 44 cases (tests/bad_inputs/cases.toml) through the real extract
step, which is where every case is decided. Here representatives of each outcome run through the
full Dagster job (extract → dbt → segments → KPIs → publish): the fixture's days 1-2 are run and
published first (`published_two_days`), then the case's file is re-delivered as the day-2 file of
its source and day 2 is run again, in process.

Why a subset, not all 44: measured on 2 shared cores, one day through the full graph takes ~10-15 s
in process (dbt alone ~7 s) and ~20 s as a `run_window` process; 44 of them would be 8-15 minutes,
most of a 15-minute suite, to prove the same four things over and over. What happens after extract
depends only on the class of the outcome, not on the defect:

- "fail": every case raises LandingContractError from `read_landing_file`, which the extract asset
  turns into the same `Failure(allow_retries=False)`; nothing downstream runs. One case per source
  (a renamed CSV column, a JSON field outside the contract, a Latin-1 CRM file) plus the missing
  file prove it at run level: the failure names the file and the problem, the serving file is byte
  for byte the previous publish, and the day's bronze (the valid rows of the good delivery) is kept.
  These runs stop after extract, a few seconds each.
- "quarantine": every case goes through the same gate (bronze, quarantine, quality log). One case
  per source with both quarantined and valid rows (non-numeric amounts, a malformed JSON line, bad
  CRM values), re-delivered together as day 2 in ONE run: the run publishes, every valid row reaches
  the marts and the published tables, no quarantined row does, and data_quality_log counts them per
  source and per failed check. The corpus files are tiny (one bad row in 3-6 is 17-50 %), so this
  run raises `extract.max_quarantine_share`; with the default limit (2 %) the same delivery is
  blocked by the blocking share check and the serving file stays unchanged (a separate, extract-only
  run).
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.extract.pseudonymise import customer_keys
from assets.partition_store import partition_path
from orchestration.settings import Settings, get_settings
from tests.e2e.landing_fixture import DAYS
from tests.e2e.pipeline_process import Workspace, published_tables

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).parents[1] / "bad_inputs"
CASES: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
DAY = DAYS[1]
FAIL_CASES = {
    "csv_renamed_column": "raw_orders",
    "json_field_outside_contract": "raw_events",
    "encoding_latin1": "raw_customers",
    "missing_day": "raw_orders",
}
QUARANTINE_CASES = {
    "orders": "amount_not_numeric",
    "events": "json_malformed_line",
    "customers": "customers_bad_values",
}
# The three quarantine cases together: 2 of 4 orders, 1 of 4 events, 3 of 6 CRM rows are bad.
RAISED_SHARE = "0.6"

Runner = Callable[[date, date], dg.ExecuteInProcessResult]


@pytest.fixture
def graph(
    published_two_days: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Settings, Runner]]:
    workspace = published_two_days.copy_to(tmp_path / "ws")
    monkeypatch.setenv("SEGMENTS_DATA_DIR", str(workspace.data_dir))
    get_settings.cache_clear()
    from orchestration.definitions import build_definitions
    from orchestration.run_window import run_range

    def run(start: date, end: date) -> dg.ExecuteInProcessResult:
        get_settings.cache_clear()  # a test may change the config between runs
        defs = build_definitions(get_settings())
        with dg.instance_for_test() as instance:
            return run_range(start, end, instance=instance, defs=defs)

    yield get_settings(), run


def _redeliver(case: str, settings: Settings) -> Path:
    """The case's file becomes the day-2 delivery of its source (`missing_day`: there is none)."""
    spec = CASES[case]
    target = settings.landing_dir / spec["file"]
    if case == "missing_day":
        target.unlink()
    else:
        shutil.copyfile(CORPUS / case / spec["file"], target)
    return target


def _failure_messages(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    return {
        str(e.step_key): str(e.event_specific_data.error)  # type: ignore[union-attr]
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    }


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


@pytest.mark.parametrize("case", list(FAIL_CASES))
def test_broken_file_fails_the_run_and_publishes_nothing(case: str, graph: tuple[Settings, Runner]) -> None:
    settings, run = graph
    source = CASES[case]["file"].split("/")[0]
    serving = settings.serving_db.read_bytes()
    bronze = partition_path(settings.bronze_dir, source, DAY).read_bytes()
    broken = _redeliver(case, settings)

    result = run(DAY, DAY)

    assert not result.success
    failures = _failure_messages(result)
    assert list(failures) == [FAIL_CASES[case]], failures
    message = failures[FAIL_CASES[case]]
    assert str(broken) in message
    for problem in CASES[case]["errors"]:
        assert problem in message
    assert not _materialized(result) & {"segment_history", "segment_kpis", "serving_warehouse"}
    assert settings.serving_db.read_bytes() == serving  # no published table changed
    assert partition_path(settings.bronze_dir, source, DAY).read_bytes() == bronze  # no valid row lost


def _quality(frame: pl.DataFrame, source: str, day: date) -> dict[tuple[str, str], int]:
    rows = frame.filter((pl.col("source") == source) & (pl.col("delivery_day") == day))
    return {(r["outcome"], r["failed_check"]): r["rows"] for r in rows.to_dicts()}


def test_quarantined_rows_are_logged_and_valid_rows_published(
    graph: tuple[Settings, Runner], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, run = graph
    before = published_tables(settings.serving_db)
    for case in QUARANTINE_CASES.values():
        _redeliver(case, settings)
    monkeypatch.setenv("SEGMENTS_EXTRACT__MAX_QUARANTINE_SHARE", RAISED_SHARE)

    result = run(DAY, DAY)

    assert result.success, _failure_messages(result)
    assert "serving_warehouse" in _materialized(result)
    after = published_tables(settings.serving_db)

    # data_quality_log: per source, what was read, kept, quarantined, and by which check.
    for source, case in QUARANTINE_CASES.items():
        spec, logged = CASES[case], _quality(after["data_quality_log"], source, DAY)
        assert logged[("read", "")] == spec["valid"] + spec["quarantined"] + spec.get("duplicates", 0)
        assert (logged[("valid", "")], logged[("quarantined", "")]) == (spec["valid"], spec["quarantined"])
        by_check = {check: n for (outcome, check), n in logged.items() if outcome == "quarantined_by_check"}
        assert by_check and sum(by_check.values()) >= spec["quarantined"], logged
        quarantined = pl.read_parquet(partition_path(settings.quarantine_dir, source, DAY))
        assert sorted(quarantined["source_row"]) == spec["source_rows"]
    assert _quality(after["data_quality_log"], "orders", DAY)[("quarantined_by_check", "amount")] == 2
    # ... and the other day's log is untouched.
    assert (
        after["data_quality_log"]
        .filter(pl.col("delivery_day") != DAY)
        .equals(before["data_quality_log"].filter(pl.col("delivery_day") != DAY))
    )

    keys = dict(
        customer_keys(
            pl.Series(["c-00017", "c-00342", "c-02001", "c-00877", "c-00911", "c-00912", "c-00913"]),
            settings.pseudonymisation_key_bytes(),
        ).iter_rows()
    )
    with duckdb.connect(str(settings.work_db), read_only=True) as work:
        orders = work.execute(
            "select order_id from fct_orders where loaded_date = ? order by 1", [DAY]
        ).fetchall()
        events = work.execute(
            "select event_id from stg_events where loaded_date = ? order by 1", [DAY]
        ).fetchall()
    # Every valid row of the re-delivery reached the marts; the previous day-2 rows were replaced.
    assert [o for (o,) in orders] == ["o-100231", "o-100232"]  # o-100260, o-100261: amounts unreadable
    assert [e for (e,) in events] == ["ev-90001", "ev-90002", "ev-90003"]  # line 2 (ev-90010) broken

    # Published: the day's KPIs count exactly the valid orders (89.90 EUR; 24.99 - 5.00 USD at 0.92).
    total = after["segment_kpis_daily"].filter(
        (pl.col("as_of_date") == DAY) & (pl.col("segment") == "All customers")
    )
    assert total["orders"].to_list() == [2]
    assert total["revenue_eur"].to_list() == [pytest.approx(89.90 + 19.99 * 0.92, abs=0.005)]  # cents
    # Valid CRM rows are published customers with their CRM country; quarantined ones are nowhere.
    customers = after["customers"]
    crm = customers.filter(pl.col("customer_key").is_in([keys["c-00017"], keys["c-00342"], keys["c-02001"]]))
    assert sorted(crm["country"].to_list()) == ["DE", "IT", "US"]
    quarantined_only = {keys[c] for c in ("c-00877", "c-00911", "c-00912", "c-00913")}
    for table, frame in after.items():
        if "customer_key" in frame.columns:
            assert quarantined_only.isdisjoint(frame["customer_key"]), table


def test_too_many_quarantined_rows_block_publish(graph: tuple[Settings, Runner]) -> None:
    """The same delivery under the default limit (2 % a day): the blocking share check stops it."""
    settings, run = graph
    serving = settings.serving_db.read_bytes()
    for case in QUARANTINE_CASES.values():
        _redeliver(case, settings)

    result = run(DAY, DAY)

    assert not result.success
    failed = {
        (c.asset_key.to_user_string(), c.check_name)
        for c in result.get_asset_check_evaluations()
        if not c.passed
    }
    assert failed == {(f"raw_{source}", "quarantine_share_within_limit") for source in QUARANTINE_CASES}
    assert not _materialized(result) & {"segment_history", "segment_kpis", "serving_warehouse"}
    assert settings.serving_db.read_bytes() == serving
