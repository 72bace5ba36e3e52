"""Realistic, deterministic dirt: duplicate rows, late deliveries and a few malformed rows.

The amounts are chosen so the pipeline's gate has something to catch without tripping its
"quarantine share per day" limit: malformed rows are rationed by a deterministic budget
(rows x rate, carried over between files) and capped at `max_malformed_share_per_file` of each file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

ORDER_DIRT_KINDS = ("amount_not_numeric", "order_ts_unparseable", "status_unknown", "amount_negative")
EVENT_DIRT_KINDS = ("json_truncated", "event_ts_unparseable", "csat_out_of_range")
UNKNOWN_STATUS = "pending_review"
OUT_OF_RANGE_CSAT = 7


@dataclass(frozen=True)
class DirtConfig:
    """How much dirt to plant; `DirtConfig.clean()` turns it all off (for tests of the happy path)."""

    duplicate_share: float = 0.005  # exact duplicate rows, orders and events
    late_event_share: float = 0.03  # events delivered 1-2 days after they happened
    late_order_share: float = 0.002  # orders delivered the day after they were placed
    malformed_order_rate: float = 0.002  # 4 kinds, ~1 of each per 2,000 order rows
    malformed_event_rate: float = 0.0015  # 3 kinds, ~1 of each per 2,000 event rows
    max_malformed_share_per_file: float = 0.015  # stays under the gate's 2% per-day limit

    @staticmethod
    def clean() -> DirtConfig:
        return DirtConfig(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass
class MalformedBudget:
    """Deterministic ration of malformed rows: owed grows by rows x rate, paid when a file has room."""

    rate: float
    cap_share: float
    kinds: tuple[str, ...]
    owed: float = 0.0
    issued: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def take(self, rows: int) -> list[str]:
        """The kinds of malformed rows to plant in a file of `rows` rows (round-robin over kinds)."""
        self.owed += rows * self.rate
        n = min(int(self.owed), int(rows * self.cap_share))
        self.owed -= n
        kinds = [self.kinds[(self.issued + i) % len(self.kinds)] for i in range(n)]
        self.issued += n
        for kind in kinds:
            self.counts[kind] = self.counts.get(kind, 0) + 1
        return kinds


def with_duplicates(
    rng: np.random.Generator, frame: pl.DataFrame, share: float
) -> tuple[pl.DataFrame, np.ndarray]:
    """Re-sent rows: each duplicate follows its original. Returns the frame and a 'row is unique' mask."""
    n = frame.height
    dup = (
        np.sort(rng.choice(n, size=rng.binomial(n, share), replace=False))
        if n and share
        else np.zeros(0, int)
    )
    order = np.sort(np.concatenate([np.arange(n), dup]), kind="stable")
    unique = ~np.isin(order, dup)
    return frame[order], unique


def choose_rows(rng: np.random.Generator, candidates: np.ndarray, count: int) -> np.ndarray:
    """Distinct row positions among `candidates` (fewer if there are not enough)."""
    count = min(count, candidates.shape[0])
    return np.sort(rng.choice(candidates, size=count, replace=False)) if count else np.zeros(0, np.int64)


def replace_at(frame: pl.DataFrame, rows: np.ndarray, column: str, value: pl.Expr) -> pl.DataFrame:
    if rows.shape[0] == 0:
        return frame
    hit = pl.int_range(pl.len()).is_in(pl.Series(rows.astype(np.int64)).implode())
    return frame.with_columns(pl.when(hit).then(value).otherwise(pl.col(column)).alias(column))


def not_numeric(amount: pl.Expr) -> pl.Expr:
    """`12.50` -> `12,5O`: a decimal comma and a letter O typed for a zero."""
    return amount.str.slice(0, amount.str.len_chars() - 1).str.replace(".", ",", literal=True) + pl.lit("O")


def truncate_lines(text: str, rows: np.ndarray) -> str:
    """Cut the given 0-based lines of NDJSON text in half: an export interrupted mid-record."""
    if rows.shape[0] == 0:
        return text
    lines = text.split("\n")
    for row in rows.tolist():  # only the handful of chosen lines
        lines[row] = lines[row][: len(lines[row]) // 2]
    return "\n".join(lines)
