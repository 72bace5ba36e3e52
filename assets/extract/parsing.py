"""Text → typed columns, with a quarantine reason for every cell that does not parse.

A cast never raises here: an unparseable value becomes null in the typed frame and a reason naming
the column and the offending text, so one bad cell costs its row, never the file.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from assets.extract.landing import CUSTOMERS, EVENTS, ORDERS, RAW_LINE, LandingSource

REASON = "reason"

# ISO-8601 with an explicit offset ("Z" or ±HH:MM), with or without fractional seconds.
_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%dT%H:%M:%S%.f%#z")
_TRUE = ("true", "1", "yes", "y")
_FALSE = ("false", "0", "no", "n")


def parse_timestamp_utc(text: pl.Expr) -> pl.Expr:
    """Timestamps with any offset, normalised to UTC; a timestamp without an offset does not parse."""
    trimmed = text.str.strip_chars()
    attempts = [
        trimmed.str.to_datetime(fmt, time_zone="UTC", time_unit="us", strict=False)
        for fmt in _TIMESTAMP_FORMATS
    ]
    return pl.coalesce(attempts)


def parse_date(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)


def parse_decimal(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().cast(pl.Float64, strict=False)


def parse_small_int(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().cast(pl.Int8, strict=False)


def parse_bool(text: pl.Expr) -> pl.Expr:
    lowered = text.str.strip_chars().str.to_lowercase()
    return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False).otherwise(None)


def parse_text(text: pl.Expr) -> pl.Expr:
    """Surrounding blanks are noise; an all-blank value is missing."""
    stripped = text.str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped).otherwise(None)


Parser = Callable[[pl.Expr], pl.Expr]

PARSERS: dict[str, dict[str, tuple[Parser, str]]] = {
    ORDERS.name: {
        "order_ts": (parse_timestamp_utc, "an ISO-8601 timestamp with offset"),
        "amount": (parse_decimal, "a decimal number"),
        "discount": (parse_decimal, "a decimal number"),
    },
    EVENTS.name: {
        "event_ts": (parse_timestamp_utc, "an ISO-8601 timestamp with offset"),
        "csat_score": (parse_small_int, "an integer"),
    },
    CUSTOMERS.name: {
        "signup_date": (parse_date, "a YYYY-MM-DD date"),
        "birthday": (parse_date, "a YYYY-MM-DD date"),
        "marketing_consent": (parse_bool, "true or false"),
        "updated_at": (parse_timestamp_utc, "an ISO-8601 timestamp with offset"),
    },
}


def typed_with_parse_reasons(raw: pl.DataFrame, source: LandingSource) -> pl.DataFrame:
    """The typed frame plus a `reason` list column: one entry per cell that failed to parse."""
    parsers = PARSERS[source.name]
    typed = {
        column: (parsers[column][0] if column in parsers else parse_text)(pl.col(column)).alias(column)
        for column in source.columns
    }
    failures = [
        pl.when(parse_text(pl.col(column)).is_not_null() & typed[column].is_null())
        .then(pl.format(f"{column}: cannot parse '{{}}' as {description}", pl.col(column)))
        .otherwise(None)
        for column, (_, description) in parsers.items()
    ]
    not_an_object = pl.when(pl.col(RAW_LINE).is_not_null()).then(pl.lit("line is not a valid JSON object"))
    return raw.with_columns(
        pl.concat_list([not_an_object, *failures]).list.drop_nulls().alias(REASON),
        *typed.values(),
    )
