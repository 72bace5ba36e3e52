"""Deterministic generator of a realistic landing zone (orders, events, CRM deltas) plus ground truth.

Same arguments give byte-identical files: one `numpy.random.default_rng(seed)` is consumed in a
fixed order, output is sorted explicitly, and nothing depends on the wall clock. The day loop is the
only Python loop that scales with the data; customers and rows are handled as vectors, and records
are written as soon as their arrival day is complete, so memory stays flat from S to L.

Personas and their rates are documented in `sample_data.personas`, the dirt in `sample_data.dirt`,
the file contract in docs/input-contract.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from sample_data.activity import DaySimulator, empty_events
from sample_data.calendar import campaigns_between
from sample_data.dirt import DirtConfig
from sample_data.personas import PERSONA_NAMES, PersonaTable
from sample_data.population import build_population, truth_frame
from sample_data.writer import LandingWriter

DEFAULT_START = date(2025, 9, 1)
SIZES: dict[str, tuple[int, int]] = {  # customers, days
    "S": (5_000, 180),
    "M": (100_000, 730),
    "L": (1_000_000, 730),
}


@dataclass(frozen=True)
class GenerationSummary:
    """What was written; row counts include the planted duplicates and malformed rows."""

    customers: int
    days: int
    start: date
    seed: int
    order_rows: int
    event_rows: int
    customer_rows: int
    duplicate_order_rows: int
    duplicate_event_rows: int
    late_orders: int
    late_events: int
    malformed: dict[str, int]  # "<source>.<kind>" -> rows
    test_accounts: int
    personas: dict[str, int]

    def to_json(self) -> str:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def generate_landing(
    out_dir: Path,
    truth_dir: Path,
    size: str = "S",
    customers: int | None = None,
    days: int | None = None,
    start: date = DEFAULT_START,
    seed: int = 42,
    dirt: DirtConfig | None = None,
) -> GenerationSummary:
    """Write `out_dir/{orders,events,customers}/…` for every day of the window and the truth files.

    `customers` / `days` override the size preset (tests use tiny runs). Files of days outside the
    window that already exist in `out_dir` are left alone: use a fresh directory per run.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {sorted(SIZES)}")
    n = customers if customers is not None else SIZES[size][0]
    n_days = days if days is not None else SIZES[size][1]
    if n < 1 or n_days < 1:
        raise ValueError("customers and days must be at least 1")
    dirt = dirt or DirtConfig()
    rng = np.random.default_rng(seed)
    table = PersonaTable()
    campaigns = campaigns_between(start, start + timedelta(days=n_days - 1))
    pop = build_population(rng, n, start, n_days, table)
    simulator = DaySimulator(rng, pop, table, start, campaigns)
    writer = LandingWriter(rng, Path(out_dir), pop, start, n_days, campaigns, dirt)
    orders_template, events_template = {}, empty_events()
    for d in range(n_days):
        orders, events = simulator.simulate(d)
        orders_template = orders_template or {k: v[:0] for k, v in orders.items()}
        writer.add(d, orders, events)
        if d > 0:  # day d's simulation can still add records that happened late on d-1
            writer.write_day(d - 1, orders_template, events_template)
    writer.write_day(n_days - 1, orders_template, events_template)
    summary = _summary(writer, pop.test_account, pop.persona, n, n_days, start, seed)
    _write_truth(Path(truth_dir), truth_frame(pop, start), writer.dirt_table(), campaigns, summary)
    return summary


def _summary(
    writer: LandingWriter,
    test_account: np.ndarray,
    persona: np.ndarray,
    n: int,
    n_days: int,
    start: date,
    seed: int,
) -> GenerationSummary:
    dirt = writer.dirt_table()
    malformed = dirt.group_by("source", "kind").len().sort("source", "kind")
    counts = np.bincount(persona.astype(np.int64), minlength=len(PERSONA_NAMES))
    return GenerationSummary(
        customers=n,
        days=n_days,
        start=start,
        seed=seed,
        order_rows=writer.counts["orders"].rows,
        event_rows=writer.counts["events"].rows,
        customer_rows=writer.counts["customers"].rows,
        duplicate_order_rows=writer.counts["orders"].duplicates,
        duplicate_event_rows=writer.counts["events"].duplicates,
        late_orders=writer.counts["orders"].late,
        late_events=writer.counts["events"].late,
        malformed={f"{s}.{k}": c for s, k, c in malformed.iter_rows()},
        test_accounts=int(test_account.sum()),
        personas={name: int(c) for name, c in zip(PERSONA_NAMES, counts, strict=True)},
    )


def _write_truth(
    truth_dir: Path, personas: pl.DataFrame, dirt: pl.DataFrame, campaigns: list, summary: GenerationSummary
) -> None:
    """Ground truth for evaluating the segments; deliberately outside the landing zone."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    personas.write_csv(truth_dir / "personas.csv")
    dirt.sort("source", "delivery_day", "row").write_csv(truth_dir / "malformed_rows.csv")
    pl.DataFrame(
        {
            "campaign_id": [c.campaign_id for c in campaigns],
            "send_date": [c.send_day.isoformat() for c in campaigns],
            "audience_share": [c.audience_share for c in campaigns],
        },
        schema={"campaign_id": pl.String, "send_date": pl.String, "audience_share": pl.Float64},
    ).write_csv(truth_dir / "campaigns.csv")
    (truth_dir / "summary.json").write_text(summary.to_json(), encoding="utf-8")
