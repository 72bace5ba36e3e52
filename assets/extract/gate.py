"""The first gate: split one delivery day's rows into valid rows and quarantined rows with reasons.

Order of business: exact duplicate rows are dropped (a re-sent line is not new information), cells
are typed (unparseable cells become reasons), then the source's pandera model validates the typed
frame with `lazy=True` so every failing row and check is collected at once. A row with any reason
is quarantined whole, with its original text, so nothing is lost and it can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandera.polars as pa
import polars as pl

from assets.extract.landing import RAW_LINE, SOURCE_FILE, SOURCE_ROW, LandingSource
from assets.extract.parsing import REASON, shown_value, typed_with_parse_reasons
from assets.extract.schemas import WINDOW_END, WINDOW_START

RAW_RECORD = "raw_record"
QUALITY_LOG_SCHEMA = {
    "delivery_day": pl.Date, "source": pl.String, "source_file": pl.String, "outcome": pl.String,
    "failed_check": pl.String, "rows": pl.Int64,
}  # fmt: skip


@dataclass(frozen=True)
class GateResult:
    valid: pl.DataFrame
    quarantined: pl.DataFrame
    rows_read: int
    exact_duplicates_dropped: int

    @property
    def quarantine_share(self) -> float:
        return self.quarantined.height / self.rows_read if self.rows_read else 0.0

    def quality_log(self, source: str, day: date, source_file: str) -> pl.DataFrame:
        """The day's outcome for `data_quality_log`: rows read, kept, dropped as duplicates, and
        quarantined per check (a row failing two checks counts under both)."""
        outcomes = [
            ("read", "", self.rows_read),
            ("valid", "", self.valid.height),
            ("exact_duplicate_dropped", "", self.exact_duplicates_dropped),
            ("quarantined", "", self.quarantined.height),
            *[("quarantined_by_check", check, n) for check, n in self.reason_counts().items()],
        ]
        return pl.DataFrame(
            [(day, source, source_file, outcome, check, n) for outcome, check, n in outcomes],
            schema=QUALITY_LOG_SCHEMA,
            orient="row",
        )

    def reason_counts(self) -> dict[str, int]:
        """Quarantine counts per check (the part of the reason before the first colon)."""
        counts = (
            self.quarantined.select(pl.col(REASON).str.split("; ").explode().str.split(":").list.first())
            .group_by(REASON)
            .len()
            .sort(REASON)
        )
        return dict(zip(counts[REASON].to_list(), counts["len"].to_list(), strict=True))


def delivery_window(day: date, max_lateness_days: int) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the event times a delivery on `day` may carry."""
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    return end - timedelta(days=max_lateness_days + 1), end


def apply_gate(
    raw: pl.DataFrame,
    source: LandingSource,
    model: type[pa.DataFrameModel],
    day: date,
    max_lateness_days: int,
) -> GateResult:
    rows_read = raw.height
    deduplicated = raw.unique(subset=[*source.columns, RAW_LINE], keep="first", maintain_order=True)
    window_start, window_end = delivery_window(day, max_lateness_days)
    typed = typed_with_parse_reasons(deduplicated, source).with_columns(
        pl.lit(window_start).dt.cast_time_unit("us").alias(WINDOW_START),
        pl.lit(window_end).dt.cast_time_unit("us").alias(WINDOW_END),
    )
    reasons = (
        typed.select(REASON)
        .with_row_index("index")
        .with_columns(pl.col(REASON).list.concat(_schema_reasons(typed, model)))
    )
    bad_row = reasons[REASON].list.len() > 0
    valid = typed.filter(~bad_row).select(SOURCE_FILE, SOURCE_ROW, *source.columns)
    quarantined = (
        deduplicated.with_columns(reasons[REASON].list.join("; ").alias(REASON))
        .filter(bad_row)
        .select(
            SOURCE_FILE,
            SOURCE_ROW,
            REASON,
            pl.coalesce(pl.col(RAW_LINE), pl.struct(source.columns).struct.json_encode()).alias(RAW_RECORD),
        )
    )
    return GateResult(valid, quarantined, rows_read, rows_read - deduplicated.height)


def _schema_reasons(typed: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.Series:
    """One list of pandera failure messages per row of `typed` (empty when the row passed).

    Only rows that parsed cleanly are validated: a row already quarantined for an unparseable cell
    would otherwise collect a second, misleading "null" failure for the same cell.
    """
    positions = typed.with_row_index("position").filter(pl.col(REASON).list.len() == 0)["position"]
    # Built by polars, not from a Python list of empty lists (a quarter second per 80k-row day).
    no_failures = pl.select(pl.repeat(pl.lit([], pl.List(pl.String)), typed.height).alias(REASON)).to_series()
    try:
        model.validate(typed[positions].drop(REASON), lazy=True)
        return no_failures
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    if failures["index"].null_count():
        # A failure without a row index means the frame itself is wrong (e.g. a dtype): a bug in
        # parsing, not bad data, so it must stop the run rather than hide in the quarantine.
        table_level = failures.filter(pl.col("index").is_null()).to_dicts()
        raise RuntimeError(f"{model.Config.name}: frame-level validation failure: {table_level}")
    per_row = (
        failures.with_columns(
            positions.gather(pl.Series(failures["index"].cast(pl.UInt32))).alias("position"),
            pl.when(pl.col("schema_context") == "DataFrameSchema")
            .then(pl.format("row check: {}", "check"))
            .otherwise(
                pl.format("{}: failed {} (value {})", "column", "check", shown_value(pl.col("failure_case")))
            )
            .alias(REASON),
        )
        .group_by("position")
        .agg(pl.col(REASON).unique().sort())
    )
    return (
        pl.DataFrame({"position": pl.arange(0, typed.height, eager=True, dtype=pl.UInt32)})
        .join(per_row, on="position", how="left", maintain_order="left")[REASON]
        .fill_null([])
    )
