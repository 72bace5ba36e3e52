"""Reading one delivery day's landing file into an all-text frame, or failing loudly on a broken file.

Every value is read as text so that a bad cell never breaks the whole file: typing happens later,
where a failed cast becomes a quarantine reason for that row. What *does* fail here is a broken
contract: a missing file, missing/extra columns, bytes that are not UTF-8, JSON that is not objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

SOURCE_ROW = "source_row"
SOURCE_FILE = "source_file"
RAW_LINE = "raw_line"


class LandingContractError(Exception):
    """A landing file breaks the input contract as a whole; the run must stop and name the file."""


@dataclass(frozen=True)
class LandingSource:
    """One kind of landing file: where it lives, how it is named and which columns it must have."""

    name: str
    file_format: str  # "csv" or "jsonl"
    columns: tuple[str, ...]
    # Fields every record must carry; JSON producers may omit the optional ones when null.
    required: tuple[str, ...] = ()

    def path_for(self, landing_dir: Path, day: date) -> Path:
        extension = "csv" if self.file_format == "csv" else "jsonl"
        return landing_dir / self.name / f"{self.name}_{day.isoformat()}.{extension}"


ORDERS = LandingSource(
    "orders",
    "csv",
    (
        "order_id",
        "customer_id",
        "email",
        "order_ts",
        "status",
        "amount",
        "discount",
        "currency",
        "channel",
        "product_category",
    ),
)
EVENTS = LandingSource(
    "events",
    "jsonl",
    (
        "event_id",
        "customer_id",
        "event_type",
        "event_ts",
        "channel",
        "product_category",
        "campaign_id",
        "variant",
        "csat_score",
    ),
    required=("event_id", "customer_id", "event_type", "event_ts", "channel"),
)
CUSTOMERS = LandingSource(
    "customers",
    "csv",
    (
        "customer_id",
        "email",
        "first_name",
        "last_name",
        "signup_date",
        "birthday",
        "country",
        "marketing_consent",
        "updated_at",
    ),
)


def read_landing_file(source: LandingSource, landing_dir: Path, day: date) -> pl.DataFrame:
    """All rows of the day's file as text, plus `source_file` and 1-based `source_row`.

    JSON lines that cannot be parsed are kept (as `raw_line`, every field null) so the caller can
    quarantine them with a reason instead of losing them.
    """
    path = source.path_for(landing_dir, day)
    if not path.is_file():
        raise LandingContractError(f"{path}: landing file for {source.name} on {day} is missing")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LandingContractError(
            f"{path}: not valid UTF-8 (byte {exc.start}: {exc.reason}); re-export the file as UTF-8"
        ) from exc
    frame = _read_csv(path, text, source) if source.file_format == "csv" else _read_jsonl(path, text, source)
    return frame.with_columns(pl.lit(str(path)).alias(SOURCE_FILE))


def _read_csv(path: Path, text: str, source: LandingSource) -> pl.DataFrame:
    if not text.strip():
        raise LandingContractError(f"{path}: file is empty (expected at least the header row)")
    try:
        frame = pl.read_csv(text.encode(), infer_schema=False, has_header=True)
    except pl.exceptions.PolarsError as exc:
        raise LandingContractError(f"{path}: not a readable CSV file: {exc}") from exc
    _check_columns(path, frame.columns, source)
    return (
        frame.select(source.columns)
        .with_row_index(SOURCE_ROW, offset=1)
        .with_columns(pl.col(SOURCE_ROW).cast(pl.Int64), pl.lit(None, pl.String).alias(RAW_LINE))
    )


def _read_jsonl(path: Path, text: str, source: LandingSource) -> pl.DataFrame:
    """Parse line by line with the C json module: a bad line must not cost its neighbours.

    This loop runs once per landing line at extract time (not on the segment hot path); it is the
    only way to keep the readable lines of a file that has a few broken ones. Lines that are not a
    JSON object are kept whole in `raw_line` for quarantine. A field outside the contract, or a
    required field that no line carries (a rename), is a contract change and fails the file.
    """
    rows: list[dict[str, object]] = []
    fields_seen: set[str] = set()
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            rows.append({SOURCE_ROW: line_number, RAW_LINE: line})
            continue
        unknown = sorted(set(obj) - set(source.columns))
        if unknown:
            raise LandingContractError(
                f"{path}: line {line_number} has field(s) {unknown} outside the contract; "
                f"expected fields {list(source.columns)}"
            )
        fields_seen.update(obj)
        rows.append({SOURCE_ROW: line_number, **{c: _as_text(obj.get(c)) for c in source.columns}})
    never_seen = [c for c in source.required if c not in fields_seen]
    if fields_seen and never_seen:
        raise LandingContractError(
            f"{path}: no line carries the field(s) {never_seen}; expected fields {list(source.columns)}"
        )
    schema = {SOURCE_ROW: pl.Int64, **dict.fromkeys(source.columns, pl.String), RAW_LINE: pl.String}
    return pl.DataFrame(rows, schema=schema)


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _check_columns(path: Path, found: list[str], source: LandingSource) -> None:
    missing = [c for c in source.columns if c not in found]
    extra = [c for c in found if c not in source.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        raise LandingContractError(f"{path}: {' and '.join(parts)}; expected columns {list(source.columns)}")
