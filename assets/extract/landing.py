"""Reading one delivery day's landing file into an all-text frame, or failing loudly on a broken file.

Every value is read as text so that a bad cell never breaks the whole file: typing happens later,
where a failed cast becomes a quarantine reason for that row. What *does* fail here is a broken
contract: a missing file, missing/extra columns, bytes that are not UTF-8, JSON that is not objects.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

SOURCE_ROW = "source_row"
SOURCE_FILE = "source_file"
RAW_LINE = "raw_line"
# Why a record could not even be split into fields (a JSONL line that is not an object, a CSV row
# with an unbalanced quote or the wrong number of fields); null for readable records. The gate turns
# it into the quarantine reason, next to the original text in `raw_line`.
READ_ERROR = "read_error"
NOT_A_JSON_OBJECT = "line is not a valid JSON object"


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

    JSON lines and CSV rows that cannot be split into fields are kept (as `raw_line`, every field
    null, `read_error` saying why) so the caller can quarantine them instead of losing them.
    """
    path = source.path_for(landing_dir, day)
    if not path.is_file():
        raise LandingContractError(f"{path}: landing file for {source.name} on {day} is missing")
    raw = path.read_bytes()
    try:
        # Bad-input corpus: a UTF-8 byte order mark is tolerated (Excel writes one); "utf-8-sig"
        # drops it so it does not end up glued to the first column name or the first JSON line.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # The line number makes a Latin-1 "é" or a UTF-16 file findable without a hex editor.
        line = raw[: exc.start].count(b"\n") + 1
        raise LandingContractError(
            f"{path}: not valid UTF-8 (line {line}, byte {exc.start}: {exc.reason}); "
            "re-export the file as UTF-8"
        ) from exc
    # Imported here because fast_landing builds on this module's names.
    from assets.extract.fast_landing import read_fast

    frame = read_fast(text, source)
    if frame is None:  # an irregular (or broken) file: the reference reader decides, and raises
        frame = read_by_record(path, text, source)
    return frame.with_columns(pl.lit(str(path)).alias(SOURCE_FILE))


def read_by_record(path: Path, text: str, source: LandingSource) -> pl.DataFrame:
    """The reference reader of the decoded file `text` (no `source_file`): one record at a time.

    `fast_landing.read_fast` must return exactly this frame or None (test_landing_fast_path.py).
    """
    return _read_csv(path, text, source) if source.file_format == "csv" else _read_jsonl(path, text, source)


def _read_csv(path: Path, text: str, source: LandingSource) -> pl.DataFrame:
    """Split with the `csv` module, record by record, so one malformed row costs only itself.

    Bad-input corpus: `pl.read_csv` failed the whole file on one unbalanced quote or one row with
    an extra field (with a message naming neither the line nor the problem), and silently padded a
    truncated last row with nulls. Here a row that cannot be split into exactly the header's fields
    is kept whole in `raw_line` with a `read_error`, and reading resumes on the next line.
    """
    if not text.strip():
        raise LandingContractError(f"{path}: file is empty (expected at least the header row)")
    lines = io.StringIO(text, newline="").readlines()
    # The default limit (128 KiB a field) made a 5 MB cell crash the reader; it is a bad value instead.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    records = iter(_csv_records(lines))
    header_start, _, header, problem = next(records, (0, 0, None, "no header row"))
    if header is None:
        raise LandingContractError(f"{path}: header row (line {header_start + 1}) is not readable: {problem}")
    _check_columns(path, header, source)
    positions = [header.index(column) for column in source.columns]
    data: dict[str, list[object]] = {c: [] for c in (SOURCE_ROW, *source.columns, RAW_LINE, READ_ERROR)}
    for start, end, fields, problem in records:
        if fields is not None and len(fields) != len(header):
            problem = f"malformed CSV row: {len(fields)} fields where the header has {len(header)}"
        data[SOURCE_ROW].append(start - header_start)  # 1-based data row: the header is row 0
        data[RAW_LINE].append("".join(lines[start:end]) if problem else None)
        data[READ_ERROR].append(problem)
        for column, position in zip(source.columns, positions, strict=True):
            data[column].append(None if problem else fields[position])  # type: ignore[index]
    schema = {SOURCE_ROW: pl.Int64, **dict.fromkeys(source.columns, pl.String)}
    return pl.DataFrame(data, schema={**schema, RAW_LINE: pl.String, READ_ERROR: pl.String})


def _csv_records(lines: list[str]) -> list[tuple[int, int, list[str] | None, str | None]]:
    """RFC 4180 records as (first line index, end line index, fields or None, problem), blank lines skipped.

    A quote that never closes either hits the end of the file (`csv.Error`) or swallows the
    following lines into one record of the wrong width. Either way only the line where it opened is
    reported as malformed, and parsing restarts on the line after it, so its neighbours still load.
    """
    records: list[tuple[int, int, list[str] | None, str | None]] = []
    width: int | None = None
    resume = 0
    while resume < len(lines):
        offset, consumed = resume, 0
        reader = csv.reader(itertools.islice(lines, offset, None), strict=True)
        try:
            for fields in reader:
                start, consumed = offset + consumed, reader.line_num
                end = offset + consumed
                if not "".join(fields).strip():
                    continue
                width = len(fields) if width is None else width
                if len(fields) != width and end - start > 1:
                    records.append((start, start + 1, None, _UNBALANCED))
                    resume = start + 1
                    break
                records.append((start, end, fields, None))
            else:
                return records
        except csv.Error as exc:
            start = offset + consumed
            problem = _UNBALANCED if "end of data" in str(exc) else f"malformed CSV row: {exc}"
            records.append((start, start + 1, None, problem))
            resume = start + 1
    return records


_UNBALANCED = "malformed CSV row: unbalanced quote (a quoted field opened on this line never closes)"


def _read_jsonl(path: Path, text: str, source: LandingSource) -> pl.DataFrame:
    """Parse line by line with the C json module: a bad line must not cost its neighbours.

    This is the reference for `fast_landing`, which reads regular files without a Python step per
    line and hands the others back here. Lines that are not a JSON object are kept whole in
    `raw_line` for quarantine. A field outside the contract, or a required field that no line
    carries (a rename), is a contract change and fails the file.
    """
    rows: list[dict[str, object]] = []
    fields_seen: set[str] = set()
    # Bad-input corpus: split on "\n" only. `str.splitlines` also splits on U+2028, U+0085, \x0c ...,
    # which JSON allows raw inside strings, and so broke valid lines in two.
    for line_number, terminated in enumerate(text.removesuffix("\n").split("\n"), start=1):
        line = terminated.removesuffix("\r")
        if not line.strip():
            continue
        row, fields = json_record(line_number, line, source.columns)
        unknown = sorted(fields - set(source.columns))
        if unknown:
            raise LandingContractError(
                f"{path}: line {line_number} has field(s) {unknown} outside the contract; "
                f"expected fields {list(source.columns)}"
            )
        fields_seen |= fields
        rows.append(row)
    never_seen = [c for c in source.required if c not in fields_seen]
    if fields_seen and never_seen:
        raise LandingContractError(
            f"{path}: no line carries the field(s) {never_seen}; expected fields {list(source.columns)}"
        )
    schema = {SOURCE_ROW: pl.Int64, **dict.fromkeys(source.columns, pl.String), RAW_LINE: pl.String}
    return pl.DataFrame(rows, schema={**schema, READ_ERROR: pl.String})


def json_record(line_number: int, line: str, columns: tuple[str, ...]) -> tuple[dict[str, object], set[str]]:
    """The frame row of one non-blank JSONL line, and the fields the line has (empty if it is not
    a JSON object: then the row keeps the line whole for quarantine)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict):
        return {SOURCE_ROW: line_number, RAW_LINE: line, READ_ERROR: NOT_A_JSON_OBJECT}, set()
    return {SOURCE_ROW: line_number, **{c: _as_text(obj.get(c)) for c in columns}}, set(obj)


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _check_columns(path: Path, found: list[str], source: LandingSource) -> None:
    missing = [c for c in source.columns if c not in found]
    extra = [c for c in found if c not in source.columns]
    # Bad-input corpus: a column named twice would be ambiguous (which one is the amount?).
    repeated = sorted({c for c in found if found.count(c) > 1})
    if missing or extra or repeated:
        parts = [f"column(s) {repeated} appear more than once"] if repeated else []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        raise LandingContractError(f"{path}: {' and '.join(parts)}; expected columns {list(source.columns)}")
