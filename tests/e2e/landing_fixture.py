"""A tiny, hand-written landing zone whose published results are computed by hand in the tests.

Three delivery days, 2025-09-01..03:
- c1: orders 100 EUR (day 1) and 50 EUR with 10 off (day 3); web sessions; campaign cmp1 (treatment)
  sent on day 1 before the first order, opened and clicked on day 3; CSAT 5.
- c2: an order of 20 USD (day 2) and a cancelled one (day 3); an app session; CSAT 2 (by email).
- c3: browses on days 1 and 2, never buys; cmp1 (control) sent on day 1, opened on day 2.
- c4: a test account (email at shop-qa.test) with an order: must vanish from every output.
- c5: never in the CRM, seen first in an event on day 3.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

DAYS = (date(2025, 9, 1), date(2025, 9, 2), date(2025, 9, 3))
ORDER_HEADER = "order_id,customer_id,email,order_ts,status,amount,discount,currency,channel,product_category"
CUSTOMER_HEADER = (
    "customer_id,email,first_name,last_name,signup_date,birthday,country,marketing_consent,updated_at"
)

ORDERS = {
    DAYS[0]: [
        "o1,c1,ann@example.com,2025-09-01T14:00:00+02:00,delivered,100.00,0,EUR,web,electronics",
        "o9,c4,qa1@shop-qa.test,2025-09-01T12:00:00Z,delivered,999.00,0,EUR,web,toys",
    ],
    DAYS[1]: ["o2,c2,bo@example.com,2025-09-02T07:00:00-05:00,shipped,20.00,0,USD,app,home"],
    DAYS[2]: [
        "o3,c1,ann@example.com,2025-09-03T12:00:00Z,placed,50.00,10.00,EUR,web,fashion",
        "o4,c2,bo@example.com,2025-09-03T13:00:00Z,cancelled,35.00,0,EUR,app,home",
    ],
}
CUSTOMERS = {
    DAYS[0]: [
        "c1,ann@example.com,Ann,Lee,2025-01-05,1990-02-14,DE,true,2025-01-05T10:00:00Z",
        "c2,bo@example.com,Bo,Ng,2025-03-01,,FR,false,2025-03-01T10:00:00Z",
        "c3,cy@example.com,Cy,Oz,2025-06-10,1985-09-02,NL,true,2025-06-10T10:00:00Z",
        "c4,qa1@shop-qa.test,QA,Bot,2024-01-01,,DE,false,2024-01-01T10:00:00Z",
    ],
    DAYS[1]: [],
    DAYS[2]: [],
}


def _event(event_id: str, customer: str, event_type: str, ts: str, channel: str, **extra: object) -> str:
    return json.dumps(
        {
            "event_id": event_id,
            "customer_id": customer,
            "event_type": event_type,
            "event_ts": ts,
            "channel": channel,
        }
        | extra
    )


EVENTS = {
    DAYS[0]: [
        _event(
            "e0a",
            "c1",
            "email_sent",
            "2025-09-01T08:00:00Z",
            "email",
            campaign_id="cmp1",
            variant="treatment",
        ),
        _event(
            "e0b", "c3", "email_sent", "2025-09-01T08:00:00Z", "email", campaign_id="cmp1", variant="control"
        ),
        _event("e1", "c1", "page_view", "2025-09-01T10:00:00Z", "web"),
        _event("e2", "c1", "product_view", "2025-09-01T10:20:00Z", "web", product_category="electronics"),
        _event("e3", "c1", "page_view", "2025-09-01T11:00:00Z", "web"),
        _event("e4", "c3", "page_view", "2025-09-01T09:00:00+02:00", "web"),
    ],
    DAYS[1]: [
        _event("e5", "c2", "page_view", "2025-09-02T08:00:00Z", "app"),
        _event("e6", "c2", "add_to_cart", "2025-09-02T08:05:00Z", "app", product_category="home"),
        _event("e7", "c3", "page_view", "2025-09-02T15:00:00Z", "web"),
        _event("e8", "c1", "page_view", "2025-09-01T23:00:00Z", "web"),  # a day late
        _event(
            "e8a", "c3", "email_open", "2025-09-02T07:00:00Z", "email", campaign_id="cmp1", variant="control"
        ),
    ],
    DAYS[2]: [
        _event("e9", "c5", "product_view", "2025-09-03T12:00:00Z", "web", product_category="toys"),
        _event(
            "e10",
            "c1",
            "email_open",
            "2025-09-03T09:00:00Z",
            "email",
            campaign_id="cmp1",
            variant="treatment",
        ),
        _event(
            "e10a",
            "c1",
            "email_click",
            "2025-09-03T09:01:00Z",
            "email",
            campaign_id="cmp1",
            variant="treatment",
        ),
        _event("e11", "c1", "survey_response", "2025-09-03T13:00:00Z", "web", csat_score=5),
        _event("e12", "c2", "survey_response", "2025-09-03T14:00:00Z", "email", csat_score=2),
        _event("e1", "c1", "page_view", "2025-09-01T10:00:00Z", "web"),  # re-delivered: day 1 has it
    ],
}


def write_landing(landing: Path) -> None:
    for day in DAYS:
        stamp = day.isoformat()
        (landing / "orders").mkdir(parents=True, exist_ok=True)
        (landing / "events").mkdir(parents=True, exist_ok=True)
        (landing / "customers").mkdir(parents=True, exist_ok=True)
        (landing / "orders" / f"orders_{stamp}.csv").write_text(
            "\n".join([ORDER_HEADER, *ORDERS[day]]) + "\n"
        )
        (landing / "customers" / f"customers_{stamp}.csv").write_text(
            "\n".join([CUSTOMER_HEADER, *CUSTOMERS[day]]) + "\n"
        )
        (landing / "events" / f"events_{stamp}.jsonl").write_text(
            "".join(f"{line}\n" for line in EVENTS[day])
        )
