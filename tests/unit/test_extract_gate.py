"""The extract gate on hand-written landing files: what is kept, what is quarantined and why."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from assets.extract.gate import apply_gate
from assets.extract.landing import CUSTOMERS, EVENTS, ORDERS, LandingContractError, read_landing_file
from assets.extract.pseudonymise import customer_keys
from assets.extract.schemas import customers_model, events_model, orders_model
from assets.extract.sources import customers_to_bronze, orders_to_bronze
from orchestration.settings import get_settings

DAY = date(2025, 9, 2)
ORDER_HEADER = "order_id,customer_id,email,order_ts,status,amount,discount,currency,channel,product_category"


def _write(root: Path, source, lines: list[str]) -> Path:
    path = source.path_for(root, DAY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _gate_orders(tmp_path: Path, rows: list[str]):
    _write(tmp_path, ORDERS, [ORDER_HEADER, *rows])
    cfg = get_settings().extract
    return apply_gate(
        read_landing_file(ORDERS, tmp_path, DAY), ORDERS, orders_model(cfg), DAY, cfg.max_lateness_days
    )


def test_valid_orders_pass_and_offsets_normalise_to_utc(tmp_path: Path) -> None:
    gate = _gate_orders(
        tmp_path,
        [
            "o1,c1,a@x.com,2025-09-02T10:00:00+02:00,delivered,10.50,0.50,EUR,web,toys",
            "o2,c2,b@x.com,2025-09-02T06:00:00-05:00,placed,5,0,USD,app,home",
            "o3,c3,c@x.com,2025-09-02T23:59:59Z,refunded,7.25,0,GBP,store,beauty",
        ],
    )
    assert gate.quarantined.height == 0
    assert gate.valid["order_ts"].dt.hour().to_list() == [8, 11, 23]


def test_bad_rows_are_quarantined_with_reasons_and_nothing_is_lost(tmp_path: Path) -> None:
    rows = [
        "o1,c1,a@x.com,2025-09-02T10:00:00Z,delivered,10,0,EUR,web,toys",
        "o1,c1,a@x.com,2025-09-02T10:00:00Z,delivered,10,0,EUR,web,toys",  # exact duplicate: dropped
        "o2,c2,b@x.com,garbage,placed,5,0,USD,app,home",
        'o3,c3,c@x.com,2025-09-02T10:00:00Z,placed,"12,5O",0,EUR,app,home',
        "o4,c3,c@x.com,2025-09-02T10:00:00Z,bogus,5,0,EUR,app,home",
        "o5,c3,c@x.com,2025-09-02T10:00:00Z,placed,-5,0,EUR,app,home",
        "o6,c3,c@x.com,2025-09-02T10:00:00Z,placed,5,0,XXX,app,home",
        "o7,c3,c@x.com,2025-09-02T10:00:00Z,placed,5,9,EUR,app,home",  # discount > amount
        "o8,c3,c@x.com,2025-09-04T10:00:00Z,placed,5,0,EUR,app,home",  # future
        "o9,c3,c@x.com,1970-01-01T00:00:00Z,placed,5,0,EUR,app,home",  # far too late
        "o10,c3,c@x.com,2025-09-02T10:00:00Z,placed,5,0,EUR,app,home",
        "o10,c3,c@x.com,2025-09-02T10:00:00Z,placed,6,0,EUR,app,home",  # same id, other amount
        "o11,c3,c@x.com,2025-09-02T10:00:00,placed,5,0,EUR,app,home",  # no offset
    ]
    gate = _gate_orders(tmp_path, rows)
    assert gate.rows_read == 13 and gate.exact_duplicates_dropped == 1
    assert gate.valid["order_id"].to_list() == ["o1"]
    assert gate.valid.height + gate.quarantined.height + gate.exact_duplicates_dropped == gate.rows_read
    reasons = dict(zip(gate.quarantined["source_row"], gate.quarantined["reason"], strict=True))
    assert reasons[3].startswith("order_ts: cannot parse 'garbage'")
    assert reasons[4].startswith("amount: cannot parse '12,5O'")
    assert "status: failed isin" in reasons[5]
    assert "amount: failed greater_than_or_equal_to(0)" in reasons[6]
    assert "currency: failed isin" in reasons[7]
    assert "discount must not exceed amount" in reasons[8]
    assert "order_ts outside the delivery window" in reasons[9]
    assert "order_ts outside the delivery window" in reasons[10]
    assert "order_id: failed field_uniqueness" in reasons[11] and "field_uniqueness" in reasons[12]
    assert "cannot parse" in reasons[13]
    raw = json.loads(gate.quarantined.filter(pl.col("source_row") == 4)["raw_record"].item())
    assert raw["amount"] == "12,5O"  # the original text is kept for replay


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([ORDER_HEADER.replace("amount", "amt"), "o1"], "missing column(s) ['amount']"),
        ([ORDER_HEADER + ",coupon"], "unexpected column(s) ['coupon']"),
        ([""], "file is empty"),
    ],
)
def test_broken_csv_contract_fails_naming_file_and_column(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    path = _write(tmp_path, ORDERS, lines)
    with pytest.raises(LandingContractError) as error:
        read_landing_file(ORDERS, tmp_path, DAY)
    assert str(path) in str(error.value) and message in str(error.value)


def test_missing_file_and_non_utf8_fail(tmp_path: Path) -> None:
    with pytest.raises(LandingContractError, match="is missing"):
        read_landing_file(ORDERS, tmp_path, DAY)
    path = ORDERS.path_for(tmp_path, DAY)
    path.parent.mkdir(parents=True)
    path.write_bytes((ORDER_HEADER + "\no1,c1,é@x.com,x,x,x,x,x,x,x\n").encode("utf-16"))
    with pytest.raises(LandingContractError, match="not valid UTF-8"):
        read_landing_file(ORDERS, tmp_path, DAY)


def test_events_keep_good_lines_around_a_broken_one(tmp_path: Path) -> None:
    good = {
        "event_id": "e1", "customer_id": "c1", "event_type": "email_open",
        "event_ts": "2025-09-01T10:00:00+01:00", "channel": "email",
        "campaign_id": "cmp", "variant": "control",
    }  # fmt: skip
    survey = {
        "event_id": "e2", "customer_id": "c1", "event_type": "survey_response",
        "event_ts": "2025-09-02T10:00:00Z", "channel": "web", "csat_score": 7,
    }  # fmt: skip
    _write(tmp_path, EVENTS, [json.dumps(good), '{"event_id": "e3", "custo', json.dumps(survey)])
    cfg = get_settings().extract
    gate = apply_gate(read_landing_file(EVENTS, tmp_path, DAY), EVENTS, events_model(cfg), DAY, 7)
    assert gate.valid["event_id"].to_list() == ["e1"]
    reasons = dict(zip(gate.quarantined["source_row"], gate.quarantined["reason"], strict=True))
    assert reasons[2] == "line is not a valid JSON object"
    assert "csat_score: failed less_than_or_equal_to(5)" in reasons[3]


def test_event_field_outside_contract_fails_the_file(tmp_path: Path) -> None:
    _write(tmp_path, EVENTS, [json.dumps({"event_id": "e1", "customer_id": "c", "ip_address": "1.2.3.4"})])
    with pytest.raises(LandingContractError, match=r"line 1 has field\(s\) \['ip_address'\]"):
        read_landing_file(EVENTS, tmp_path, DAY)


def test_pseudonymisation_drops_pii_and_is_stable(tmp_path: Path) -> None:
    settings = get_settings()
    gate = _gate_orders(tmp_path, ["o1,c1,qa@SHOP-QA.test,2025-09-02T10:00:00Z,placed,5,0,EUR,web,toys"])
    bronze = orders_to_bronze(gate.valid, settings.extract, b"k1")
    assert "email" not in bronze.columns and "customer_id" not in bronze.columns
    assert bronze["is_test_account"].to_list() == [True]
    key_1 = customer_keys(pl.Series(["c1"]), b"k1")["customer_key"].item()
    assert bronze["customer_key"].item() == key_1 and len(key_1) == 32
    assert customer_keys(pl.Series(["c1"]), b"k2")["customer_key"].item() != key_1


def test_customers_keep_only_birth_month_and_day(tmp_path: Path) -> None:
    header = (
        "customer_id,email,first_name,last_name,signup_date,birthday,country,marketing_consent,updated_at"
    )
    _write(
        tmp_path,
        CUSTOMERS,
        [
            header,
            "c1,a@x.com,Ann,Lee,2024-01-05,1990-02-14,DE,true,2025-09-02T08:00:00+02:00",
            "c2,b@x.com,Bo,Ng,2024-01-05,,FR,no,2025-09-02T08:00:00Z",
            "c3,c@x.com,Cy,Oz,2026-01-05,,FR,maybe,2025-09-02T08:00:00Z",
        ],
    )
    cfg = get_settings().extract
    gate = apply_gate(read_landing_file(CUSTOMERS, tmp_path, DAY), CUSTOMERS, customers_model(cfg), DAY, 7)
    bronze = customers_to_bronze(gate.valid, cfg, b"k")
    assert bronze.columns == [
        "customer_key", "is_test_account", "signup_date", "birth_month", "birth_day", "country",
        "marketing_consent", "updated_at", "source_file", "source_row",
    ]  # fmt: skip
    assert bronze["birth_month"].to_list() == [2, None] and bronze["birth_day"].to_list() == [14, None]
    assert bronze["marketing_consent"].to_list() == [True, False]
    assert "marketing_consent: cannot parse 'maybe'" in gate.quarantined["reason"].item()
