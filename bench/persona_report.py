"""`python -m bench.persona_report`: where did the generator's planted personas land?

Joins the sample generator's ground truth (customer ids, outside the landing zone) with the
published segment membership (pseudonymous keys; the sample's development key maps one to the
other) and prints, per family, a persona × segment confusion table with row shares.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import polars as pl

from assets.extract.pseudonymise import customer_keys
from orchestration.settings import get_settings


def confusion(truth_file: Path, serving_db: Path) -> dict[str, pl.DataFrame]:
    settings = get_settings()
    truth = pl.read_csv(truth_file).filter(~pl.col("is_test_account"))
    keys = customer_keys(truth["customer_id"], settings.pseudonymisation_key_bytes())
    truth = truth.join(keys, on="customer_id").select("customer_key", "persona")
    with duckdb.connect(str(serving_db), read_only=True) as conn:
        membership = pl.from_arrow(
            conn.sql("select customer_key, family, segment from segment_membership").to_arrow_table()
        )
    joined = truth.join(membership, on="customer_key", how="inner")
    tables = {}
    for (family,), rows in joined.group_by("family", maintain_order=True):
        counts = rows.group_by("persona", "segment").len()
        shares = counts.with_columns((pl.col("len") / pl.col("len").sum().over("persona") * 100).round(0))
        tables[family] = (
            shares.pivot(on="segment", index="persona", values="len", aggregate_function="first")
            .fill_null(0)
            .sort("persona")
        )
    return tables


def main() -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", type=Path, default=settings.root / "sample_truth" / "personas.csv")
    parser.add_argument("--serving-db", type=Path, default=settings.serving_db)
    args = parser.parse_args()
    pl.Config.set_tbl_cols(30)
    pl.Config.set_tbl_width_chars(250)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_hide_column_data_types(True)
    for family, table in sorted(confusion(args.truth, args.serving_db).items()):
        print(f"\n## {family}: % of each persona per segment\n{table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
