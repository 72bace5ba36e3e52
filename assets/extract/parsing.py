"""Text → typed columns, with a quarantine reason for every cell that does not parse.

A cast never raises here: an unparseable value becomes null in the typed frame and a reason naming
the column and the offending text, so one bad cell costs its row, never the file.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from assets.extract.landing import CUSTOMERS, EVENTS, ORDERS, READ_ERROR, LandingSource

REASON = "reason"

# ISO-8601 with an explicit offset ("Z" or ±HH:MM), with or without fractional seconds.
_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%dT%H:%M:%S%.f%#z")
_TRUE = ("true", "1", "yes", "y")
_FALSE = ("false", "0", "no", "n")
# Bad-input corpus: a plain cast to Float64 also accepted "NaN", "inf", "1e3" and "+5", so a NaN
# amount passed every range check. The contract's decimal is digits with an optional "." part.
_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
# A reason quotes at most this many characters of the value (a 5 MB cell must not make a 5 MB
# reason); the whole original text stays in `raw_record`.
REASON_VALUE_CHARS = 100


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
    trimmed = text.str.strip_chars()
    return pl.when(trimmed.str.contains(_DECIMAL)).then(trimmed.cast(pl.Float64, strict=False))


def parse_small_int(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().cast(pl.Int8, strict=False)


def parse_bool(text: pl.Expr) -> pl.Expr:
    lowered = text.str.strip_chars().str.to_lowercase()
    return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False).otherwise(None)


def parse_text(text: pl.Expr) -> pl.Expr:
    """Surrounding blanks are noise; an all-blank value is missing."""
    stripped = text.str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped).otherwise(None)


def shown_value(value: pl.Expr) -> pl.Expr:
    """The value as quoted in a reason: cut to REASON_VALUE_CHARS characters, marked when cut."""
    text = value.cast(pl.String)
    cut = text.str.slice(0, REASON_VALUE_CHARS)
    return pl.when(text.str.len_chars() > REASON_VALUE_CHARS).then(pl.format("{}…", cut)).otherwise(text)


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
        .then(pl.format(f"{column}: cannot parse '{{}}' as {description}", shown_value(pl.col(column))))
        .otherwise(None)
        for column, (_, description) in parsers.items()
    ]
    return raw.with_columns(
        pl.concat_list([pl.col(READ_ERROR), *failures]).list.drop_nulls().alias(REASON),
        *typed.values(),
    )
