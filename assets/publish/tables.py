"""The published tables: names, keys and descriptions, the one source for comments and docs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedTable:
    name: str
    description: str
    primary_key: tuple[str, ...]
    columns: dict[str, str]


SEGMENT_MEMBERSHIP = PublishedTable(
    "segment_membership",
    "Current RFM segment of every known customer, as of the latest published day.",
    ("customer_key",),
    {
        "as_of_date": "Day the membership is computed for (data delivered up to the end of this day).",
        "customer_key": "Pseudonymous customer id (keyed HMAC of the shop's customer id).",
        "last_order_date": "Date of the latest completed order inside the RFM window; null if none.",
        "recency_days": "Days between last_order_date and as_of_date; null without a purchase in the window.",
        "frequency": "Completed orders inside the RFM window.",
        "monetary_eur": "Net revenue (after discount, in EUR) of those orders.",
        "recency_score": "1-5 quantile score among buyers, 5 = most recent; ties share a score.",
        "frequency_score": "1-5 quantile score of frequency among buyers, 5 = most frequent.",
        "monetary_score": "1-5 quantile score of monetary_eur among buyers, 5 = highest spend.",
        "segment": "Named segment from the (recency_score, frequency_score) grid in config/pipeline.toml.",
    },
)

SEGMENT_KPIS_DAILY = PublishedTable(
    "segment_kpis_daily",
    "Daily KPIs per segment, plus one 'All customers' row per day with the totals.",
    ("as_of_date", "segment"),
    {
        "as_of_date": "Day the KPIs describe.",
        "segment": "Segment name, or 'All customers' for the day's totals.",
        "customers": "Customers in the segment on that day.",
        "visitors": "Of those, customers with at least one web/app session delivered that day.",
        "buyers": "Customers with at least one completed order delivered that day.",
        "visitors_who_bought": "Visitors who also bought that day (numerator of conversion_rate).",
        "orders": "Completed orders delivered that day.",
        "revenue_eur": "Net revenue (EUR, after discount) of those orders.",
        "conversion_rate": "visitors_who_bought / visitors; null when there were no visitors.",
        "customers_with_purchase": "Customers with a completed order inside the RFM window.",
        "churned_customers": "Of those, customers whose last order is older than rfm.churn_after_days.",
        "churn_rate": "churned_customers / customers_with_purchase; null when the denominator is 0.",
        "revenue_per_customer_eur": "revenue_eur / customers; null for an empty segment.",
    },
)

CUSTOMERS = PublishedTable(
    "customers",
    "Pseudonymous customer attributes BI may join on (no names, emails or birthdays).",
    ("customer_key",),
    {
        "customer_key": "Pseudonymous customer id.",
        "signup_date": "Signup date from the CRM; null for customers seen only in orders/events.",
        "country": "ISO-3166 alpha-2 country from the CRM.",
        "marketing_consent": "Latest marketing consent from the CRM; null when unknown (treat as no).",
        "first_loaded_date": "First delivery day that mentioned the customer.",
    },
)

PUBLISH_LOG = PublishedTable(
    "publish_log",
    "One row per publish: what was published, from which run and partition range.",
    ("publish_id",),
    {
        "publish_id": "Unique id of the publish.",
        "published_at": "When the new serving file replaced the old one (UTC).",
        "run_id": "Dagster run that published.",
        "partition_start": "First day of the run's partition range.",
        "partition_end": "Last day of the run's partition range.",
        "membership_as_of": "as_of_date of segment_membership after this publish.",
        "row_counts": "JSON object: rows per published table after this publish.",
    },
)

PUBLISHED_TABLES = (SEGMENT_MEMBERSHIP, SEGMENT_KPIS_DAILY, CUSTOMERS, PUBLISH_LOG)


def render_markdown() -> str:
    """The table reference of docs/output-tables.md (a test keeps the doc and this module in sync)."""
    parts = []
    for table in PUBLISHED_TABLES:
        parts.append(
            f"## `{table.name}`\n\n{table.description}\n\nPrimary key: `{', '.join(table.primary_key)}`\n"
        )
        parts.append("| column | meaning |\n|---|---|")
        parts.extend(f"| `{column}` | {meaning} |" for column, meaning in table.columns.items())
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_markdown())
