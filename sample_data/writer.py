"""Turning simulated activity into landing files: routing by arrival day, rendering text, planting dirt.

A record belongs to the file of the UTC day it happened, unless it is delivered late (then D+1/D+2).
Activity simulated on day d can therefore arrive on a later day (and, for a session just before
midnight, belong to d-1); it waits in `pending` until that day's files are written, so only a few
days of records are ever held in memory.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from assets.extract.landing import CUSTOMERS, EVENTS, ORDERS
from sample_data.activity import APP, EMAIL, EVENT_CHANNELS, EVENT_TYPES, STATUSES, SURVEY, VARIANTS, Batch
from sample_data.calendar import COUNTRIES, CURRENCIES, DAY_MS, Campaign, epoch_day, tz_offsets_minutes
from sample_data.dirt import (
    EVENT_DIRT_KINDS,
    ORDER_DIRT_KINDS,
    OUT_OF_RANGE_CSAT,
    UNKNOWN_STATUS,
    DirtConfig,
    MalformedBudget,
    choose_rows,
    not_numeric,
    replace_at,
    truncate_lines,
    with_duplicates,
)
from sample_data.personas import CATEGORIES, ORDER_CHANNELS
from sample_data.population import Population

# The file layouts are the pipeline's input contract: one definition, shared with the extract stage.
ORDER_COLUMNS = ORDERS.columns
EVENT_FIELDS = EVENTS.columns
CUSTOMER_COLUMNS = CUSTOMERS.columns


@dataclass
class Counts:
    rows: int = 0
    duplicates: int = 0
    late: int = 0


def _label(names: tuple[str, ...], codes: pl.Expr) -> pl.Expr:
    """Code -> label; negative codes mean 'not applicable' and become null."""
    return pl.when(codes >= 0).then(
        codes.clip(0).replace_strict(list(range(len(names))), list(names), return_dtype=pl.String)
    )


def _offset_text(minutes: pl.Expr) -> pl.Expr:
    sign = pl.when(minutes < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
    hours = (minutes.abs() // 60).cast(pl.String).str.zfill(2)
    mins = (minutes.abs() % 60).cast(pl.String).str.zfill(2)
    return pl.concat_str(sign, hours, pl.lit(":"), mins)


def _timestamp(ts_ms: pl.Expr, offset_min: pl.Expr, style: pl.Expr) -> pl.Expr:
    """ISO-8601 text with an explicit offset. style 0: local offset, 1: `Z` with millis, 2: `+00:00`."""
    local = pl.from_epoch(ts_ms + pl.when(style == 0).then(offset_min).otherwise(0) * 60_000, time_unit="ms")
    seconds = local.dt.strftime("%Y-%m-%dT%H:%M:%S")
    millis = local.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f")
    return (
        pl.when(style == 1)
        .then(millis + pl.lit("Z"))
        .when(style == 2)
        .then(seconds + pl.lit("+00:00"))
        .otherwise(seconds + _offset_text(offset_min))
    )


def _money(cents: pl.Expr) -> pl.Expr:
    """Exact 2-dp text from integer cents (no float formatting surprises)."""
    return pl.concat_str(
        (cents // 100).cast(pl.String), pl.lit("."), (cents % 100).cast(pl.String).str.zfill(2)
    )


class LandingWriter:
    """Buffers records by arrival day and writes one orders/events/customers file per day."""

    def __init__(
        self,
        rng: np.random.Generator,
        out_dir: Path,
        pop: Population,
        start: date,
        days: int,
        campaigns: list[Campaign],
        dirt: DirtConfig,
    ) -> None:
        self.rng, self.out, self.pop, self.start, self.days, self.dirt = rng, out_dir, pop, start, days, dirt
        self.campaign_ids = tuple(c.campaign_id for c in campaigns)
        self.pending: dict[str, dict[int, list[pl.DataFrame]]] = {
            "orders": defaultdict(list),
            "events": defaultdict(list),
        }
        self.next_id = {"orders": 1, "events": 1}
        self.counts = {"orders": Counts(), "events": Counts(), "customers": Counts()}
        self.budgets = {
            "orders": MalformedBudget(
                dirt.malformed_order_rate, dirt.max_malformed_share_per_file, ORDER_DIRT_KINDS
            ),
            "events": MalformedBudget(
                dirt.malformed_event_rate, dirt.max_malformed_share_per_file, EVENT_DIRT_KINDS
            ),
        }
        self.dirt_rows: list[pl.DataFrame] = []
        for name in ("orders", "events", "customers"):
            (out_dir / name).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ routing
    def add(self, d: int, orders: Batch, events: Batch) -> None:
        """Queue what happened on day d under the day it will arrive."""
        late_orders = self.rng.random(orders["cust"].shape[0]) < self.dirt.late_order_share
        self._route("orders", d, orders, late_orders.astype(np.int64))
        n = events["cust"].shape[0]
        lag = np.where(self.rng.random(n) < self.dirt.late_event_share, 1 + (self.rng.random(n) < 0.5), 0)
        self._route("events", d, events, lag)

    def _route(self, source: str, d: int, batch: Batch, lag: np.ndarray) -> None:
        n = batch["cust"].shape[0]
        ts_day = batch["ts"] // DAY_MS - epoch_day(self.start)
        # Sessions leading up to an order just after midnight start on d-1: that file is written after
        # day d is simulated (see generate_landing), so the records still make it into their own day.
        arrival = np.maximum(ts_day + lag, d - 1)
        frame = pl.DataFrame(
            {
                **batch,
                "id": np.arange(self.next_id[source], self.next_id[source] + n),
                "ts_day": ts_day,
                "arrival": arrival,
            }
        )
        self.next_id[source] += n
        self.counts[source].late += int((arrival > ts_day).sum())
        for day in np.unique(arrival).tolist():  # at most a handful of arrival days
            if day < self.days:
                self.pending[source][day].append(frame.filter(pl.col("arrival") == day))

    def _take(self, source: str, d: int, template: Batch) -> pl.DataFrame:
        parts = self.pending[source].pop(d, [])
        if not parts:
            empty = {**{k: np.zeros(0, np.int64) for k in template}, "id": [], "ts_day": [], "arrival": []}
            return pl.DataFrame(empty, schema=dict.fromkeys(empty, pl.Int64))
        return pl.concat(parts).sort("ts", "id")

    # ------------------------------------------------------------------ files
    def write_day(self, d: int, orders_template: Batch, events_template: Batch) -> None:
        day = self.start + timedelta(days=d)
        offsets = pl.Series(tz_offsets_minutes(day)[self.pop.tz_group].astype(np.int64))
        self._write_orders(d, day, self._take("orders", d, orders_template), offsets)
        self._write_events(d, day, self._take("events", d, events_template), offsets)
        self._write_customers(d, day, offsets)

    def _common(self, frame: pl.DataFrame, offsets: pl.Series) -> list[pl.Series]:
        return [self.pop.ids.gather(frame["cust"]), offsets.gather(frame["cust"]).alias("offset_min")]

    def _write_orders(self, d: int, day: date, frame: pl.DataFrame, offsets: pl.Series) -> None:
        frame, unique = with_duplicates(self.rng, frame, self.dirt.duplicate_share)
        style = pl.when(pl.col("channel") == 1).then(1).otherwise(0)
        text = frame.with_columns(
            *self._common(frame, offsets), self.pop.emails.gather(frame["cust"]).alias("email")
        ).select(
            (pl.lit("O") + pl.col("id").cast(pl.String).str.zfill(10)).alias("order_id"),
            "customer_id",
            "email",
            _timestamp(pl.col("ts"), pl.col("offset_min"), style).alias("order_ts"),
            _label(STATUSES, pl.col("status")).alias("status"),
            _money(pl.col("amount")).alias("amount"),
            _money(pl.col("discount")).alias("discount"),
            _label(CURRENCIES, pl.col("currency")).alias("currency"),
            _label(ORDER_CHANNELS, pl.col("channel")).alias("channel"),
            _label(CATEGORIES, pl.col("category")).alias("product_category"),
            pl.col("ts"),
            pl.col("offset_min"),
        )
        text = self._dirty_orders(day, text, unique)
        self._count("orders", frame.height, unique)
        text.select(ORDER_COLUMNS).write_csv(self.out / "orders" / f"orders_{day.isoformat()}.csv")

    def _dirty_orders(self, day: date, text: pl.DataFrame, unique: np.ndarray) -> pl.DataFrame:
        kinds = self.budgets["orders"].take(text.height)
        rows = choose_rows(self.rng, np.flatnonzero(unique), len(kinds))
        kinds = kinds[: rows.shape[0]]
        local = pl.from_epoch(pl.col("ts") + pl.col("offset_min") * 60_000, time_unit="ms")
        fixes = {
            "amount_not_numeric": ("amount", not_numeric(pl.col("amount"))),
            "order_ts_unparseable": ("order_ts", local.dt.strftime("%d/%m/%Y %H:%M")),
            "status_unknown": ("status", pl.lit(UNKNOWN_STATUS)),
            "amount_negative": ("amount", pl.lit("-") + pl.col("amount")),
        }
        for kind in ORDER_DIRT_KINDS:
            hit = rows[[k == kind for k in kinds]] if rows.shape[0] else rows
            column, value = fixes[kind]
            text = replace_at(text, hit, column, value)
            self._note_dirt("orders", day, hit, kind)
        return text

    def _write_events(self, d: int, day: date, frame: pl.DataFrame, offsets: pl.Series) -> None:
        frame, unique = with_duplicates(self.rng, frame, self.dirt.duplicate_share)
        channel = pl.col("channel")
        style = pl.when(channel == APP).then(1).when(channel == EMAIL).then(2).otherwise(0)
        text = frame.with_columns(*self._common(frame, offsets)).select(
            (pl.lit("E") + pl.col("id").cast(pl.String).str.zfill(11)).alias("event_id"),
            "customer_id",
            _label(EVENT_TYPES, pl.col("etype")).alias("event_type"),
            _timestamp(pl.col("ts"), pl.col("offset_min"), style).alias("event_ts"),
            _label(EVENT_CHANNELS, channel).alias("channel"),
            _label(CATEGORIES, pl.col("category")).alias("product_category"),
            _label(self.campaign_ids or ("",), pl.col("campaign")).alias("campaign_id"),
            _label(VARIANTS, pl.col("variant")).alias("variant"),
            pl.when(pl.col("csat") > 0).then(pl.col("csat")).alias("csat_score"),
            pl.col("etype"),
            pl.col("ts"),
            pl.col("offset_min"),
        )
        text, truncated = self._dirty_events(day, text, unique)
        self._count("events", frame.height, unique)
        ndjson = text.select(EVENT_FIELDS).write_ndjson()
        path = self.out / "events" / f"events_{day.isoformat()}.jsonl"
        path.write_text(truncate_lines(ndjson, truncated), encoding="utf-8")

    def _dirty_events(
        self, day: date, text: pl.DataFrame, unique: np.ndarray
    ) -> tuple[pl.DataFrame, np.ndarray]:
        kinds = self.budgets["events"].take(text.height)
        surveys = np.flatnonzero(unique & (text["etype"].to_numpy() == SURVEY))
        want_csat = sum(k == "csat_out_of_range" for k in kinds)
        csat_rows = choose_rows(self.rng, surveys, want_csat)
        kinds = [k for k in kinds if k != "csat_out_of_range"]
        kinds += ["json_truncated"] * (want_csat - csat_rows.shape[0])  # no survey to spoil: truncate instead
        others = np.setdiff1d(np.flatnonzero(unique), csat_rows)
        rows = choose_rows(self.rng, others, len(kinds))
        kinds = kinds[: rows.shape[0]]
        ts_rows = rows[[k == "event_ts_unparseable" for k in kinds]] if rows.shape[0] else rows
        cut_rows = rows[[k == "json_truncated" for k in kinds]] if rows.shape[0] else rows
        local = pl.from_epoch(pl.col("ts") + pl.col("offset_min") * 60_000, time_unit="ms")
        text = replace_at(text, ts_rows, "event_ts", local.dt.strftime("%Y-%m-%d %H:%M:%S"))
        text = replace_at(text, csat_rows, "csat_score", pl.lit(OUT_OF_RANGE_CSAT, pl.Int64))
        for kind, hit in (
            ("event_ts_unparseable", ts_rows),
            ("csat_out_of_range", csat_rows),
            ("json_truncated", cut_rows),
        ):
            self._note_dirt("events", day, hit, kind)
        return text, cut_rows

    def _count(self, source: str, rows: int, unique: np.ndarray) -> None:
        self.counts[source].rows += rows
        self.counts[source].duplicates += int((~unique).sum()) // 2

    def _note_dirt(self, source: str, day: date, rows: np.ndarray, kind: str) -> None:
        if rows.shape[0]:
            self.dirt_rows.append(
                pl.DataFrame(
                    {
                        "source": source,
                        "delivery_day": day.isoformat(),
                        "row": rows.astype(np.int64) + 1,
                        "kind": kind,
                    }
                )
            )

    # ------------------------------------------------------------------ customers
    def _write_customers(self, d: int, day: date, offsets: pl.Series) -> None:
        """Initial CRM load on day 0, then a delta: signups of the day and consent withdrawals."""
        pop = self.pop
        signups = np.flatnonzero(pop.signup_day <= 0) if d == 0 else np.flatnonzero(pop.signup_day == d)
        withdrawals = np.flatnonzero(pop.withdraw_day == d) if d > 0 else np.zeros(0, np.int64)
        cust = np.concatenate([signups, withdrawals])
        changed_day = np.concatenate([pop.signup_day[signups], np.full(withdrawals.shape[0], d)])
        consent = np.concatenate([pop.consent[signups], np.zeros(withdrawals.shape[0], bool)])
        changed_ms = (changed_day.astype(np.int64) + epoch_day(self.start)) * DAY_MS + self.rng.integers(
            6 * 3_600_000, 22 * 3_600_000, cust.shape[0]
        )
        order = np.argsort(cust, kind="stable")
        cust, changed_day, consent, changed_ms = (
            cust[order],
            changed_day[order],
            consent[order],
            changed_ms[order],
        )
        birthday = pl.Series(pop.birthday[cust]).dt.strftime("%Y-%m-%d")
        frame = pl.DataFrame(
            {
                "customer_id": pop.ids.gather(cust),
                "email": pop.emails.gather(cust),
                "first_name": pop.first_names.gather(cust),
                "last_name": pop.last_names.gather(cust),
                "signup_date": pl.Series(pop.signup_day[cust].astype(np.int64) + epoch_day(self.start))
                .cast(pl.Int32)
                .cast(pl.Date)
                .dt.strftime("%Y-%m-%d"),
                "birthday": birthday,
                "country": pl.Series([c[0] for c in COUNTRIES]).gather(pop.country[cust].astype(np.int64)),
                "marketing_consent": pl.Series(consent).cast(pl.String).str.to_lowercase(),
                "ts": changed_ms,
                "offset_min": offsets.gather(cust),
            }
        )
        frame = frame.with_columns(
            _timestamp(pl.col("ts"), pl.col("offset_min"), pl.lit(0)).alias("updated_at")
        )
        self.counts["customers"].rows += frame.height
        frame.select(CUSTOMER_COLUMNS).write_csv(self.out / "customers" / f"customers_{day.isoformat()}.csv")

    def dirt_table(self) -> pl.DataFrame:
        schema = {"source": pl.String, "delivery_day": pl.String, "row": pl.Int64, "kind": pl.String}
        return pl.concat(self.dirt_rows) if self.dirt_rows else pl.DataFrame(schema=schema)
