"""bench.progress_lines: per-chunk progress lines parsed and grouped, as the stages print them."""

from bench.progress_lines import parse, summarise

SEGMENT = (
    "2026-12-07 04:20:14 +0000 - dagster - INFO - daily_segmentation - r - segment_history - "
    "segment_history {day}..{day}: 8091783 memberships, 7991558 open stays go on, 199352 written in "
    "{total} s (memberships {m}, summary 0.7, write {w}) (RSS {rss} MB, peak 4,102 MB, DuckDB 288 MB)"
)
KPIS = "... - segment_kpis - segment_kpis 2025-01-01..2025-01-12: 1.5 s (rollups 1.0, write 0.5) (RSS 5,533 MB, peak 6,449 MB, DuckDB 1,024 MB)"  # noqa: E501


def test_lines_of_both_stages_are_parsed_and_others_ignored():
    lines = [
        "Running dbt command",
        SEGMENT.format(day="2025-01-01", total="3.4", m="1.3", w="0.4", rss="2,379"),
        KPIS,
    ]
    segment, kpis = parse(lines)
    assert (segment.stage, segment.first, segment.total_s) == ("segment_history", "2025-01-01", 3.4)
    assert segment.laps == {"memberships": 1.3, "summary": 0.7, "write": 0.4}
    assert (segment.rss_mb, segment.peak_mb, segment.duckdb_mb) == (2379.0, 4102.0, 288.0)
    assert (kpis.stage, kpis.last, kpis.laps, kpis.duckdb_mb) == (
        "segment_kpis", "2025-01-12", {"rollups": 1.0, "write": 0.5}, 1024.0,
    )  # fmt: skip


def test_buckets_average_laps_and_keep_the_largest_memory():
    lines = [
        SEGMENT.format(day="2025-01-01", total="3.0", m="1.0", w="0.2", rss="2,000"),
        SEGMENT.format(day="2025-01-02", total="5.0", m="2.0", w="0.6", rss="3,000"),
        SEGMENT.format(day="2025-01-03", total="7.0", m="3.0", w="1.0", rss="2,500"),
    ]
    table = summarise(parse(lines), bucket=2).splitlines()
    assert table[0].startswith("segment_history: 3 chunks, 0.2 min in all")
    assert "| 1–2 | 2025-01-01..2025-01-02 | 4.00 | 1.50 | 0.70 | 0.40 | 3,000 | 288 |" in table
    assert "| 3–3 | 2025-01-03..2025-01-03 | 7.00 | 3.00 | 0.70 | 1.00 | 2,500 | 288 |" in table
