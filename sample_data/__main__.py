"""CLI: `python -m sample_data --size S --out data/landing --truth data/sample_truth [--seed 42] ...`."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from sample_data.generator import DEFAULT_START, SIZES, generate_landing


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sample_data", description=__doc__)
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="S",
        help="S: 5k customers/180 days, M: 100k/730, L: 1M/730 (default S)",
    )
    parser.add_argument("--out", type=Path, default=Path("data/landing"), help="landing zone root")
    parser.add_argument(
        "--truth",
        type=Path,
        default=Path("data/sample_truth"),
        help="ground-truth directory (keep it outside the landing zone)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--start", type=date.fromisoformat, default=DEFAULT_START, help="first day, YYYY-MM-DD"
    )
    parser.add_argument("--days", type=int, default=None, help="override the number of days of the size")
    parser.add_argument("--customers", type=int, default=None, help="override the number of customers")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    began = time.perf_counter()
    summary = generate_landing(
        args.out,
        args.truth,
        size=args.size,
        customers=args.customers,
        days=args.days,
        start=args.start,
        seed=args.seed,
    )
    print(summary.to_json(), end="")
    print(f"wrote {args.out} and {args.truth} in {time.perf_counter() - began:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
