"""bench.report: how a split (stage-window) run is labelled and counted in the results table."""

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
