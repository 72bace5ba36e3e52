"""The sample generator keeps the input contract and plants what the segments and the gate must find."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sample_data import PERSONA_NAMES, DirtConfig, GenerationSummary, generate_landing

START = date(2025, 9, 1)
ORDER_COLUMNS = [
    "order_id", "customer_id", "email", "order_ts", "status", "amount", "discount", "currency", "channel",
    "product_category",
]  # fmt: skip
EVENT_FIELDS = [
    "event_id", "customer_id", "event_type", "event_ts", "channel", "product_category", "campaign_id",
    "variant", "csat_score",
]  # fmt: skip
CUSTOMER_COLUMNS = [
    "customer_id", "email", "first_name", "last_name", "signup_date", "birthday", "country",
    "marketing_consent", "updated_at",
]  # fmt: skip
STATUSES = {"placed", "shipped", "delivered", "cancelled", "refunded"}


class Run:
    """A generated landing zone plus helpers to read it the way a careful consumer would."""

    def __init__(self, root: Path, summary: GenerationSummary) -> None:
        self.landing, self.truth, self.summary = root / "landing", root / "truth", summary

    def days(self) -> list[date]:
        return [START + timedelta(days=i) for i in range(self.summary.days)]

    def csv_rows(self, source: str, day: date) -> list[dict[str, str]]:
        with (self.landing / source / f"{source}_{day.isoformat()}.csv").open(
            encoding="utf-8", newline=""
        ) as f:
            return list(csv.DictReader(f))

    def event_lines(self, day: date) -> list[str]:
        return (self.landing / "events" / f"events_{day.isoformat()}.jsonl").read_text("utf-8").splitlines()

    def all_orders(self) -> list[tuple[date, dict[str, str]]]:
        return [(day, row) for day in self.days() for row in self.csv_rows("orders", day)]

    def all_events(self) -> list[tuple[date, dict | None]]:
        return [(day, _json_or_none(line)) for day in self.days() for line in self.event_lines(day)]

    def personas(self) -> dict[str, dict[str, str]]:
        with (self.truth / "personas.csv").open(encoding="utf-8", newline="") as f:
            return {row["customer_id"]: row for row in csv.DictReader(f)}


def _json_or_none(line: str) -> dict | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _utc(text: str) -> datetime | None:
    """Parse like the contract says: ISO-8601 with an explicit offset, else None."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _generate(root: Path, customers: int, days: int, **kwargs: object) -> Run:
    summary = generate_landing(root / "landing", root / "truth", customers=customers, days=days, **kwargs)
    return Run(root, summary)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _generate(tmp_path_factory.mktemp("tiny"), customers=60, days=12)


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Big enough for proportions (~5k orders, ~30k events), small enough to stay fast."""
    return _generate(tmp_path_factory.mktemp("medium"), customers=3_000, days=120)


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_byte_identical_files(tiny: Run, tmp_path: Path) -> None:
    again = _generate(tmp_path, customers=60, days=12)
    assert _tree_bytes(again.landing) == _tree_bytes(tiny.landing)
    assert _tree_bytes(again.truth) == _tree_bytes(tiny.truth)
    other_seed = _generate(tmp_path / "seed7", customers=60, days=12, seed=7)
    assert _tree_bytes(other_seed.landing) != _tree_bytes(tiny.landing)


def test_every_day_has_all_three_files_and_nothing_else(tiny: Run) -> None:
    expected = {
        f"{source}/{source}_{day.isoformat()}.{ext}"
        for day in tiny.days()
        for source, ext in (("orders", "csv"), ("events", "jsonl"), ("customers", "csv"))
    }
    assert set(_tree_bytes(tiny.landing)) == expected


def test_headers_and_fields_match_the_contract(tiny: Run) -> None:
    for day in tiny.days():
        for source, columns in (("orders", ORDER_COLUMNS), ("customers", CUSTOMER_COLUMNS)):
            header = (
                (tiny.landing / source / f"{source}_{day.isoformat()}.csv").read_text("utf-8").split("\n")[0]
            )
            assert header.split(",") == columns
    parsed = [event for _, event in tiny.all_events() if event is not None]
    assert parsed
    assert all(list(event) == EVENT_FIELDS for event in parsed)


def test_values_follow_the_contract_apart_from_the_planted_malformed_rows(medium: Run) -> None:
    malformed = {(r["source"], r["delivery_day"], int(r["row"])) for r in _malformed_rows(medium)}
    for day in medium.days():
        for row_number, row in enumerate(medium.csv_rows("orders", day), start=1):
            if ("orders", day.isoformat(), row_number) in malformed:
                continue
            assert row["status"] in STATUSES
            assert 0 <= float(row["discount"]) <= float(row["amount"])
            assert len(row["amount"].split(".")[1]) == 2
            assert row["currency"] in {"EUR", "USD", "GBP"} and row["channel"] in {"web", "app", "store"}
            assert _utc(row["order_ts"]) is not None
        for row_number, line in enumerate(medium.event_lines(day), start=1):
            if ("events", day.isoformat(), row_number) in malformed:
                continue
            event = json.loads(line)
            if event["event_type"].startswith("email_"):
                assert event["channel"] == "email" and event["campaign_id"].startswith("cmp_")
                assert event["variant"] in {"control", "treatment"}
            assert (event["csat_score"] is not None) == (event["event_type"] == "survey_response")
            assert event["csat_score"] is None or 1 <= event["csat_score"] <= 5


def _malformed_rows(run: Run) -> list[dict[str, str]]:
    with (run.truth / "malformed_rows.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_timestamps_carry_mixed_offsets(medium: Run) -> None:
    suffixes = Counter()
    for _, row in medium.all_orders():
        ts = row["order_ts"]
        suffixes["Z" if ts.endswith("Z") else ts[-6:]] += 1
    for _, event in medium.all_events():
        if event and event["event_ts"][-1:] == "Z":
            suffixes["Z"] += 1
        elif event:
            suffixes[event["event_ts"][-6:]] += 1
    assert {"Z", "+00:00", "+01:00", "+05:30"} <= set(suffixes)
    assert {"-05:00", "-04:00"} & set(suffixes)


def test_planted_dirt_is_present_but_rare(medium: Run) -> None:
    summary = medium.summary
    assert 0 < summary.duplicate_order_rows <= 0.01 * summary.order_rows
    assert 0.001 * summary.event_rows < summary.duplicate_event_rows <= 0.01 * summary.event_rows
    order_dirt = {k: v for k, v in summary.malformed.items() if k.startswith("orders.")}
    event_dirt = {k: v for k, v in summary.malformed.items() if k.startswith("events.")}
    assert set(order_dirt) == {
        "orders.amount_not_numeric", "orders.order_ts_unparseable", "orders.status_unknown",
        "orders.amount_negative",
    }  # fmt: skip
    assert set(event_dirt) == {
        "events.json_truncated",
        "events.event_ts_unparseable",
        "events.csat_out_of_range",
    }
    assert sum(order_dirt.values()) <= 0.003 * summary.order_rows
    assert sum(event_dirt.values()) <= 0.003 * summary.event_rows
    assert len(_malformed_rows(medium)) == sum(summary.malformed.values())


def test_malformed_rows_really_are_malformed(medium: Run) -> None:
    broken = 0
    for row in _malformed_rows(medium):
        day = date.fromisoformat(row["delivery_day"])
        index = int(row["row"]) - 1
        if row["source"] == "orders":
            order = medium.csv_rows("orders", day)[index]
            amount_ok = order["amount"].replace(".", "", 1).isdigit()
            ts_ok = _utc(order["order_ts"]) is not None
            broken += not (amount_ok and ts_ok and order["status"] in STATUSES)
        else:
            event = _json_or_none(medium.event_lines(day)[index])
            broken += event is None or _utc(event["event_ts"]) is None or event["csat_score"] == 7
    assert broken == len(_malformed_rows(medium))


def test_no_file_carries_more_malformed_rows_than_the_gate_tolerates(medium: Run) -> None:
    per_file = Counter((r["source"], r["delivery_day"]) for r in _malformed_rows(medium))
    for (source, day), count in per_file.items():
        rows = len(medium.event_lines(date.fromisoformat(day))) if source == "events" else None
        rows = rows if rows is not None else len(medium.csv_rows(source, date.fromisoformat(day)))
        assert count / rows <= 0.02


def test_late_events_are_one_or_two_days_late_only(medium: Run) -> None:
    lateness = Counter()
    for day, event in medium.all_events():
        ts = _utc(event["event_ts"]) if event else None
        if ts is not None:
            lateness[(day - ts.date()).days] += 1
    assert set(lateness) <= {0, 1, 2}
    late_share = (lateness[1] + lateness[2]) / sum(lateness.values())
    assert 0.01 < late_share < 0.08
    order_lateness = {
        (day - ts.date()).days for day, row in medium.all_orders() if (ts := _utc(row["order_ts"]))
    }
    assert order_lateness == {0, 1}


def test_test_accounts_exist_and_use_the_qa_domain(tiny: Run) -> None:
    personas = tiny.personas()
    qa_ids = {cid for cid, row in personas.items() if row["is_test_account"] == "true"}
    assert qa_ids
    crm = {row["customer_id"]: row for row in tiny.csv_rows("customers", START)}
    assert all(crm[cid]["email"].endswith("@shop-qa.test") for cid in qa_ids if cid in crm)
    assert sum(row["email"].endswith("@shop-qa.test") for row in crm.values()) == len(qa_ids & set(crm))


def test_every_persona_is_in_the_truth_file_and_not_in_the_landing_zone(medium: Run) -> None:
    personas = medium.personas()
    assert set(PERSONA_NAMES) == {row["persona"] for row in personas.values()}
    assert len(personas) == medium.summary.customers
    landing_text = b"".join(_tree_bytes(medium.landing).values())
    assert b"persona" not in landing_text and b"heavy_buyer" not in landing_text


def test_heavy_buyers_order_far_more_than_window_shoppers(medium: Run) -> None:
    personas = medium.personas()
    per_persona = Counter(personas[row["customer_id"]]["persona"] for _, row in medium.all_orders())
    sizes = Counter(row["persona"] for row in personas.values())
    heavy = per_persona["heavy_buyer"] / sizes["heavy_buyer"]
    window = per_persona["window_shopper"] / sizes["window_shopper"]
    assert per_persona["heavy_buyer"] > per_persona["window_shopper"]
    assert heavy > 20 * max(window, 0.01)


def test_churners_never_order_after_their_churn_day(medium: Run) -> None:
    personas = medium.personas()
    churn = {
        cid: date.fromisoformat(r["churn_date"]) for cid, r in personas.items() if r["persona"] == "churner"
    }
    orders_before = 0
    for _, row in medium.all_orders():
        ts = _utc(row["order_ts"])
        if row["customer_id"] in churn and ts is not None:
            assert ts.date() < churn[row["customer_id"]]
            orders_before += 1
    assert orders_before > 0


def test_won_back_customers_are_silent_while_dormant_and_return(medium: Run) -> None:
    personas = medium.personas()
    won = {
        cid: r for cid, r in personas.items() if r["persona"] == "won_back" and r["comeback_campaign_date"]
    }
    assert won
    returned = set()
    for _, row in medium.all_orders():
        ts = _utc(row["order_ts"])
        truth = won.get(row["customer_id"])
        if truth is None or ts is None:
            continue
        dormant_from = date.fromisoformat(truth["dormant_from"])
        comeback = date.fromisoformat(truth["comeback_campaign_date"])
        assert not dormant_from <= ts.date() < comeback
        returned |= {row["customer_id"]} if ts.date() >= comeback else set()
    assert len(returned) == len(won)


def test_customers_arrive_on_signup_day_and_again_when_consent_is_withdrawn(medium: Run) -> None:
    personas = medium.personas()
    first_day = {row["customer_id"] for row in medium.csv_rows("customers", START)}
    in_window = {cid for cid, r in personas.items() if date.fromisoformat(r["signup_date"]) > START}
    assert first_day == set(personas) - in_window
    for cid, truth in personas.items():
        if truth["consent_withdrawn_on"]:
            day = date.fromisoformat(truth["consent_withdrawn_on"])
            rows = [r for r in medium.csv_rows("customers", day) if r["customer_id"] == cid]
            assert [r["marketing_consent"] for r in rows] == ["false"]
    new = [cid for cid in in_window if personas[cid]["persona"] == "new_customer"]
    assert new
    sample = new[0]
    signup_rows = medium.csv_rows("customers", date.fromisoformat(personas[sample]["signup_date"]))
    assert sample in {r["customer_id"] for r in signup_rows}


def test_clean_dirt_config_plants_nothing(tmp_path: Path) -> None:
    summary = generate_landing(
        tmp_path / "l", tmp_path / "t", customers=300, days=20, dirt=DirtConfig.clean()
    )
    assert summary.malformed == {} and summary.duplicate_order_rows == summary.duplicate_event_rows == 0
    assert summary.late_orders == summary.late_events == 0


def test_unknown_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown size"):
        generate_landing(tmp_path / "l", tmp_path / "t", size="XL")
