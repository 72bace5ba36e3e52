"""Summarise a long run's per-chunk progress lines: does a day's cost stay flat as history grows?

The segment stage logs one line per chunk (`segment_history A..B: ... written in 5.0 s (memberships
2.0, summary 0.8, ...) (RSS 2,725 MB, peak 4,311 MB, DuckDB 907 MB)`), the KPI stage likewise
(`segment_kpis A..B: 1.2 s (rollups 0.9, write 0.3) (RSS ...)`). Over 730 days that is 730 lines;
this groups them into consecutive buckets of chunks and prints, per bucket, the mean seconds of each
lap, the largest RSS and DuckDB memory seen, so growth shows at a glance:

    python -m bench.progress_lines data/bench/L/bench_logs/full_backfill.log --bucket 73
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

STAGES = ("segment_history", "segment_kpis")
_LINE = re.compile(
    r"(?P<stage>segment_history|segment_kpis) (?P<first>\d{4}-\d{2}-\d{2})\.\.(?P<last>\d{4}-\d{2}-\d{2}): "
    r".*?(?P<total>[\d.]+) s \((?P<laps>[^)]*)\) "
    r"\(RSS (?P<rss>[\d,.]+|nan) MB, peak (?P<peak>[\d,.]+) MB, DuckDB (?P<duckdb>[\d,.]+) MB\)"
)


@dataclass(frozen=True)
class Chunk:
    stage: str
    first: str
    last: str
    total_s: float
    laps: dict[str, float]
    rss_mb: float
    peak_mb: float
    duckdb_mb: float


def _mb(text: str) -> float:
    return float(text.replace(",", ""))


def parse(lines: list[str]) -> list[Chunk]:
    """Every progress line in `lines`, in order; other lines are ignored."""
    chunks = []
    for line in lines:
        match = _LINE.search(line)
        if match is None:
            continue
        laps = {}
        for part in match["laps"].split(", "):
            name, _, seconds = part.rpartition(" ")
            laps[name] = float(seconds)
        chunks.append(
            Chunk(
                stage=match["stage"],
                first=match["first"],
                last=match["last"],
                total_s=float(match["total"]),
                laps=laps,
                rss_mb=_mb(match["rss"]),
                peak_mb=_mb(match["peak"]),
                duckdb_mb=_mb(match["duckdb"]),
            )
        )
    return chunks


def summarise(chunks: list[Chunk], bucket: int) -> str:
    """A markdown table per stage: one row per `bucket` consecutive chunks."""
    out = []
    for stage in STAGES:
        rows = [c for c in chunks if c.stage == stage]
        if not rows:
            continue
        names = list(dict.fromkeys(name for c in rows for name in c.laps))
        out.append(f"{stage}: {len(rows)} chunks, {sum(c.total_s for c in rows) / 60:.1f} min in all\n")
        out.append("| chunks | days | mean s | " + " | ".join(names) + " | max RSS MB | max DuckDB MB |")
        out.append("|---" * (len(names) + 5) + "|")
        for start in range(0, len(rows), bucket):
            group = rows[start : start + bucket]
            means = [sum(c.laps.get(n, 0.0) for c in group) / len(group) for n in names]
            out.append(
                f"| {start + 1}–{start + len(group)} | {group[0].first}..{group[-1].last} "
                f"| {sum(c.total_s for c in group) / len(group):.2f} | "
                + " | ".join(f"{m:.2f}" for m in means)
                + f" | {max(c.rss_mb for c in group):,.0f} | {max(c.duckdb_mb for c in group):,.0f} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("log", type=Path)
    parser.add_argument("--bucket", type=int, default=73, help="chunks per row (73: tenths of two years)")
    args = parser.parse_args(argv)
    chunks = parse(args.log.read_text(errors="replace").splitlines())
    if not chunks:
        raise SystemExit(f"{args.log}: no segment_history or segment_kpis progress lines")
    print(summarise(chunks, args.bucket))


if __name__ == "__main__":
    main()
