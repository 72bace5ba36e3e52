"""Do the implementations agree? Same customers in the same segments, KPIs equal within 1e-9 relative.

`python -m bench.compare --outputs DIR` compares the Parquet outputs `bench.single_day` wrote there
(`<name>.segments.parquet`, `<name>.kpis.parquet`), every pair of them, and exits 1 with a diff
summary when any pair disagrees.

Only the columns both sides have are compared: the stored answer has segments but no scores.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bench.outputs import Answer

RELATIVE_TOLERANCE = 1e-9
SAMPLE_ROWS = 10


@dataclass
class Comparison:
    base: str
    other: str
    segment_rows: int
    segment_mismatches: int
    kpi_mismatches: int
    samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.segment_mismatches == 0 and self.kpi_mismatches == 0


def _equal(left: pl.Expr, right: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Null-safe equality; floats within RELATIVE_TOLERANCE of the larger magnitude."""
    both_null = left.is_null() & right.is_null()
    if dtype.is_float():
        close = (left - right).abs() <= RELATIVE_TOLERANCE * pl.max_horizontal(left.abs(), right.abs())
        return both_null | (left.is_not_null() & right.is_not_null() & close).fill_null(False)
    return both_null | (left == right).fill_null(False)


def _mismatches(base: pl.DataFrame, other: pl.DataFrame, key: str) -> pl.DataFrame:
    common = [c for c in base.columns if c in other.columns and c != key]
    joined = base.select(key, *common).join(
        other.select(key, *common), on=key, how="full", coalesce=True, suffix="__other"
    )
    present = pl.col("__in_base") & pl.col("__in_other")
    joined = base.select(key, pl.lit(True).alias("__in_base")).join(joined, on=key, how="right")
    joined = other.select(key, pl.lit(True).alias("__in_other")).join(joined, on=key, how="right")
    joined = joined.with_columns(pl.col("__in_base", "__in_other").fill_null(False))
    same = [_equal(pl.col(c), pl.col(f"{c}__other"), base.schema[c]) for c in common]
    agree = present & pl.all_horizontal(same) if same else present
    return joined.filter(~agree).select(
        key, "__in_base", "__in_other", *common, *[f"{c}__other" for c in common]
    )


def compare_pair(base_name: str, base: Answer, name: str, other: Answer) -> Comparison:
    segments = _mismatches(base.segments, other.segments, "customer_key")
    kpis = _mismatches(base.kpis, other.kpis, "segment")
    samples = []
    if segments.height:
        samples.append(f"segments differing ({segments.height}), first rows:\n{segments.head(SAMPLE_ROWS)}")
        for column in ("rfm_segment", "lifecycle"):
            if f"{column}__other" in segments.columns:
                crosstab = segments.group_by(column, f"{column}__other").len().sort("len", descending=True)
                samples.append(f"{column}: {base_name} → {name}\n{crosstab.head(SAMPLE_ROWS)}")
    if kpis.height:
        samples.append(f"KPI rows differing ({kpis.height}):\n{kpis}")
    return Comparison(base_name, name, base.segments.height, segments.height, kpis.height, samples)


def compare_all(answers: dict[str, Answer]) -> list[Comparison]:
    """Every pair: agreeing with one base is not enough when the base lacks columns (the stored
    answer has no scores), so the computations are also compared with each other."""
    return [
        compare_pair(base_name, answers[base_name], name, answers[name])
        for base_name, name in itertools.combinations(answers, 2)
    ]


def summary(comparisons: list[Comparison]) -> str:
    lines = []
    for c in comparisons:
        verdict = "agree" if c.ok else "DISAGREE"
        lines.append(
            f"{c.base} vs {c.other}: {verdict} ({c.segment_rows} customers, "
            f"{c.segment_mismatches} customer rows and {c.kpi_mismatches} KPI rows differ)"
        )
        lines.extend(c.samples)
    return "\n".join(lines)


def read_outputs(folder: Path, names: list[str]) -> dict[str, Answer]:
    return {
        name: Answer(
            segments=pl.read_parquet(folder / f"{name}.segments.parquet"),
            kpis=pl.read_parquet(folder / f"{name}.kpis.parquet"),
        )
        for name in names
    }


def write_output(folder: Path, name: str, answer: Answer) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    answer.segments.write_parquet(folder / f"{name}.segments.parquet")
    answer.kpis.write_parquet(folder / f"{name}.kpis.parquet")


def available(folder: Path) -> list[str]:
    names = sorted(p.name.removesuffix(".segments.parquet") for p in folder.glob("*.segments.parquet"))
    # The stored answer is the base: every implementation is checked against what was published.
    return sorted(names, key=lambda n: n != "stored")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=Path, required=True, help="folder written by bench.single_day")
    args = parser.parse_args(argv)
    names = available(args.outputs)
    if len(names) < 2:
        print(f"need at least two outputs in {args.outputs}, found {names}", file=sys.stderr)
        return 2
    comparisons = compare_all(read_outputs(args.outputs, names))
    print(summary(comparisons))
    return 0 if all(c.ok for c in comparisons) else 1


if __name__ == "__main__":
    raise SystemExit(main())
