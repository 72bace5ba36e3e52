"""bench.report: how a run is labelled, counted and judged in the results table."""

from bench.report import evaluate_targets, render


def _phase(wall_s: float, peak_mb: float, passed: int, total: int) -> dict:
    return {
        "wall_s": wall_s,
        "peak_tree_rss_mb": peak_mb,
        "returncode": 0,
        "dagster": {"steps_s": {"a": wall_s - 1}, "checks_passed": passed, "checks_total": total},
    }


def test_stage_window_run_shows_both_runs_and_sums_their_checks():
    result = {
        "size": "L",
        "partial_window": True,
        "stage_window_days": 14,
        "data": {"customers": 10, "order_rows": 20, "event_rows": 30, "days": 730},
        "phases": {
            "upstream_backfill": _phase(3600.0, 4096.0, 100, 101),
            "downstream_backfill": _phase(600.0, 6144.0, 58, 58),
        },
    }
    table = render([("L-x.json", result)])
    row = next(line for line in table.splitlines() if "`L-x.json`" in line)
    assert "L (730 days; stages after dbt over the last 14)" in row
    assert "extract + dbt 60.0 min (steps 60.0 min), 4.00 GB; later stages 10.0 min" in row
    assert "6.00 GB" in row
    assert row.rstrip().endswith("| 158/159 |")


def test_full_backfill_target_is_not_judged_on_a_split_run():
    targets = evaluate_targets("L", {"full_backfill_peak_rss_gb": 6.0}, partial=True)
    assert targets["full_backfill_peak_rss_gb"]["met"] is None
    assert evaluate_targets("L", {"full_backfill_peak_rss_gb": 6.0})["full_backfill_peak_rss_gb"]["met"]


def test_a_one_run_backfill_shows_its_memory_verdict_where_it_is_judged():
    def result(peak_mb: float, met: bool | None) -> dict:
        return {
            "size": "L",
            "data": {"customers": 10, "order_rows": 20, "event_rows": 30, "days": 730},
            "phases": {"full_backfill": _phase(7200.0, peak_mb, 159, 159)},
            "targets": {"full_backfill_peak_rss_gb": {"value": peak_mb / 1024, "met": met}},
        }

    def row(table: str) -> str:
        return next(line for line in table.splitlines() if "`L-x.json`" in line)

    met = row(render([("L-x.json", result(6474.0, True))]))
    assert "120.0 min (steps 120.0 min), 6.32 GB (≤ 8 GB **met**)" in met
    assert "(≤ 8 GB **not met**)" in row(render([("L-x.json", result(9000.0, False))]))
    assert "≤ 8 GB" not in row(render([("L-x.json", result(6474.0, None))]))
