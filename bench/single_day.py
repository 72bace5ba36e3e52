"""`python -m bench.single_day --impl NAME --as-of D --outputs DIR --result FILE`: one implementation, timed.

NAME is `pipeline` (the pipeline's polars code for day D as a daily run executes it, on the
lifetime state of `--lifetime-state`), `pipeline_full_scan` (the same code from every order),
`pandas`, `duckdb` (the references) or `stored` (what the pipeline stored for D; read, not timed).
Each runs `--repeat` times on one read-only connection to the work DB (so later runs find DuckDB's
buffers and the OS page cache warm, the same for all); the timings of every run go to FILE, the
outputs of the last run to DIR/NAME.{segments,kpis}.parquet for `bench.compare`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from bench.compare import write_output
from bench.outputs import Answer
from orchestration.settings import Settings, get_settings

Implementation = Callable[[duckdb.DuckDBPyConnection, date, Settings], Answer]
IMPLEMENTATIONS = ("pipeline", "pipeline_full_scan", "pandas", "duckdb", "stored")


def implementation(name: str, lifetime_state: Path | None = None) -> Implementation:
    # Imported on demand, so each subprocess pays only for its own libraries (pandas is not free).
    if name == "pipeline":
        from bench.pipeline_day import run as run_on_state

        if lifetime_state is None:
            raise ValueError("the pipeline's daily path needs --lifetime-state")

        def run(conn: duckdb.DuckDBPyConnection, as_of: date, settings: Settings) -> Answer:
            return run_on_state(conn, as_of, settings, lifetime_state)
    elif name == "pipeline_full_scan":
        from bench.pipeline_day import run
    elif name == "pandas":
        from bench.reference_pandas import run
    elif name == "duckdb":
        from bench.reference_duckdb import run
    elif name == "stored":
        from bench.pipeline_day import stored

        def run(conn: duckdb.DuckDBPyConnection, as_of: date, settings: Settings) -> Answer:
            return stored(conn, as_of, settings.gold_dir)
    else:
        raise ValueError(f"unknown implementation {name!r}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", required=True, choices=IMPLEMENTATIONS)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--outputs", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work-db", type=Path, help="default: the work DB of SEGMENTS_DATA_DIR")
    parser.add_argument(
        "--lifetime-state", type=Path, help="for `pipeline`: the lifetime state through D - 1 (parquet)"
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    run = implementation(args.impl, args.lifetime_state)
    runs: list[dict[str, float]] = []
    with duckdb.connect(str(args.work_db or settings.work_db), read_only=True) as conn:
        for _ in range(1 if args.impl == "stored" else max(1, args.repeat)):
            answer = run(conn, args.as_of, settings)
            runs.append({key: round(value, 4) for key, value in answer.seconds.items()})
    write_output(args.outputs, args.impl, answer)
    best = min(runs, key=lambda r: r.get("total", 0.0))
    result = {
        "impl": args.impl,
        "as_of": args.as_of.isoformat(),
        "customers": answer.segments.height,
        "runs": runs,
        "best": best,
    }
    args.result.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
