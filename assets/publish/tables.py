"""The published tables: names, keys and descriptions, the one source for comments and docs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedTable:
    name: str
    description: str
    primary_key: tuple[str, ...]
    columns: dict[str, str]


_SCORES = {
    "score": "The number the segment was cut on (e.g. recency days for RFM, orders for usage), on the first "
    "day of the stay; null where a family has none.",
    "recency_score": "RFM only: 1-5 quantile score among buyers, 5 = most recent; ties share a score.",
    "frequency_score": "RFM only: 1-5 quantile score of orders in the window, 5 = most frequent.",
    "monetary_score": "RFM only: 1-5 quantile score of net spend in the window, 5 = highest.",
}

SEGMENT_HISTORY = PublishedTable(
    "segment_history",
    "Point-in-time segment record: one row per customer, family and stay. Membership on day D is "
    "valid_from <= D < coalesce(valid_to, infinity); use segments_as_of(D).",
    ("customer_key", "family", "valid_from"),
    {
        "customer_key": "Pseudonymous customer id (keyed HMAC of the shop's customer id).",
        "family": "Segment family (rfm, usage, lifecycle, engagement, loyalty, occasion, affinity, ...).",
        "segment": "Segment of the customer in this family during the stay.",
        **_SCORES,
        "valid_from": "First day of the stay.",
        "valid_to": "Day after the last day of the stay; null while the stay is current.",
        "previous_segment": "Segment of the stay before this one; null for the customer's first stay.",
    },
)

SEGMENT_MEMBERSHIP = PublishedTable(
    "segment_membership",
    "Current segment of every known customer in every family, as of the latest processed day.",
    ("customer_key", "family"),
    {
        "as_of_date": "Latest processed day (data delivered up to the end of this day).",
        "customer_key": "Pseudonymous customer id.",
        "family": "Segment family.",
        "segment": "Current segment in the family.",
        **_SCORES,
        "member_since": "First day of the current stay in this segment.",
        "previous_segment": "Segment before the current one; null if none.",
    },
)

SEGMENT_MIGRATION = PublishedTable(
    "segment_migration",
    "How many customers moved from one segment to another, per family: between consecutive days "
    "(period 'day') and between consecutive month ends (period 'month'). from_segment '(new)' = "
    "customers who were not known at the start of the period.",
    ("period", "family", "as_of_date", "from_segment", "to_segment"),
    {
        "period": "'day' (the day before → as_of_date) or 'month' (previous month end → month end).",
        "family": "Segment family.",
        "as_of_date": "Last day of the period.",
        "from_segment": "Segment at the start of the period, or '(new)'.",
        "to_segment": "Segment at as_of_date.",
        "customers": "Customers who made this move (from = to: stayed).",
    },
)

SEGMENT_CATALOG = PublishedTable(
    "segment_catalog",
    "Every segment with its size today and the action marketing should take (editable in config).",
    ("family", "segment"),
    {
        "family": "Segment family.",
        "segment": "Segment name.",
        "customers": "Customers in the segment on the latest processed day.",
        "consenting_customers": "Of those, customers with marketing consent (the audience size).",
        "recommended_action": "What to do with the segment, from config.",
    },
)

AUDIENCE_EXPORT = PublishedTable(
    "audience_export",
    "Per segment, the pseudonymous ids of customers who consented to marketing, ready for a CRM or "
    "ad platform. Also written as CSV files next to the serving file (audiences/<family>/<segment>.csv).",
    ("family", "segment", "customer_key"),
    {
        "family": "Segment family.",
        "segment": "Segment name.",
        "customer_key": "Pseudonymous customer id (only customers whose latest marketing_consent is true).",
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
        "customers_with_purchase": "Members who ever had a completed order (lifecycle other than prospect).",
        "churned_customers": "Members in lifecycle segment churned (behaviour.lifecycle.churn_after_days).",
        "churn_rate": "churned_customers / customers_with_purchase; null when the denominator is 0.",
        "revenue_per_customer_eur": "revenue_eur / customers; null for an empty segment.",
    },
)

KPI_DAILY = PublishedTable(
    "kpi_daily",
    "The KPIs in long format: one row per day, segment, rolling window (1, 7, 28, 90 days) and metric, "
    "with numerator and denominator. Rates over a window are ratios of the window's sums.",
    ("as_of_date", "segment", "window_days", "metric"),
    {
        "as_of_date": "Last day of the window.",
        "segment": "RFM segment, or 'All customers'.",
        "window_days": "Window length in days (1 = the day itself).",
        "metric": "conversion_rate, average_order_value_eur, revenue_per_customer_eur, orders_per_customer, "
        "churn_rate (window 1 only).",
        "value": "numerator / denominator; null when the denominator is 0.",
        "numerator": "Sum over the window (e.g. visitors who bought, revenue).",
        "denominator": "Window sum (e.g. visitors, orders); average segment size for per-customer metrics.",
    },
)

COHORT_RETENTION = PublishedTable(
    "cohort_retention",
    "Cohort retention triangle as of the newest processed day: customers by month of first purchase, and "
    "the share who ordered again k months later.",
    ("cohort_month", "months_since_first_order"),
    {
        "as_of_date": "Day the triangle was computed for (orders delivered up to its end).",
        "cohort_month": "First day of the month of the customers' first completed order.",
        "months_since_first_order": "k: months after the cohort month (0 = the cohort month).",
        "cohort_customers": "Customers whose first completed order fell in cohort_month.",
        "active_customers": "Of those, customers with a completed order in month k.",
        "retention_rate": "active_customers / cohort_customers.",
        "is_complete_month": "False for the month still running on as_of_date (its cell can still grow).",
    },
)

EXPERIMENT_RESULTS = PublishedTable(
    "experiment_results",
    "Campaign A/B results as of the newest processed day, per campaign, RFM segment at exposure (and "
    "'All customers') and variant against control: conversion within experiments.conversion_window_days.",
    ("campaign_id", "segment", "variant"),
    {
        "as_of_date": "Day of the results; only sends whose conversion window had closed count.",
        "campaign_id": "Campaign id.",
        "segment": "RFM segment of the customer on the exposure day, or 'All customers'.",
        "variant": "The variant compared with control.",
        "control_exposures": "Customers sent the control version.",
        "control_conversions": "Of those, customers with a completed order within the window.",
        "control_rate": "control_conversions / control_exposures; null without exposures.",
        "variant_exposures": "Customers sent this variant.",
        "variant_conversions": "Of those, customers with a completed order within the window.",
        "variant_rate": "variant_conversions / variant_exposures.",
        "absolute_uplift": "variant_rate - control_rate.",
        "uplift_ci_low": "Lower bound of the confidence interval of absolute_uplift (Newcombe, statsmodels).",
        "uplift_ci_high": "Upper bound of that interval.",
        "relative_uplift": "variant_rate / control_rate - 1; null when control_rate is 0.",
        "p_value": "Score test of equal rates (statsmodels); null when undefined.",
        "sample_too_small": "True when an arm is below the experiments.min_* sample bounds.",
    },
)

DATA_QUALITY_LOG = PublishedTable(
    "data_quality_log",
    "What the extract gate did with every delivered file: rows read, kept, dropped as exact duplicates, "
    "quarantined, and quarantined per failed check. Quarantined rows themselves stay in data/quarantine/.",
    ("delivery_day", "source", "outcome", "failed_check"),
    {
        "delivery_day": "Day the file was delivered.",
        "source": "orders, events or customers.",
        "source_file": "Landing file the rows came from.",
        "outcome": "read, valid, exact_duplicate_dropped, quarantined, or quarantined_by_check.",
        "failed_check": "For quarantined_by_check: the column or row check that failed; '' for the totals.",
        "rows": "Number of rows.",
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
        "membership_as_of": "Latest processed day of the segment tables after this publish.",
        "row_counts": "JSON object: rows per published table after this publish.",
    },
)

PUBLISHED_TABLES = (
    SEGMENT_MEMBERSHIP, SEGMENT_HISTORY, SEGMENT_MIGRATION, SEGMENT_CATALOG, AUDIENCE_EXPORT,
    SEGMENT_KPIS_DAILY, KPI_DAILY, COHORT_RETENTION, EXPERIMENT_RESULTS, DATA_QUALITY_LOG,
    CUSTOMERS, PUBLISH_LOG,
)  # fmt: skip


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
