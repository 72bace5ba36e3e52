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
        "sessions": "Web/app sessions of the members delivered that day.",
        "session_seconds": "Their total duration, seconds (first to last event of each session).",
        "avg_session_seconds": "session_seconds / sessions: average session length (time on site); null "
        "without sessions.",
        "emails_sent": "email_sent events of the members delivered that day.",
        "email_opens": "email_open events delivered that day (may answer an earlier day's sends).",
        "email_clicks": "email_click events delivered that day.",
        "survey_responses": "Survey responses (CSAT, 1-5) delivered that day.",
        "csat_sum": "Sum of their scores (numerator of mean_csat).",
        "csat_satisfied_responses": "Responses scoring 4 or 5.",
        "mean_csat": "csat_sum / survey_responses, between 1 and 5; null without responses.",
        "csat_satisfied_share": "csat_satisfied_responses / survey_responses; null without responses.",
        "repeat_buyers": "Members with more than one completed order known by that day (loyalty segment "
        "other than none and one_time).",
        "repeat_purchase_rate": "repeat_buyers / customers_with_purchase; null when no member ever bought.",
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
        "window_days": "Window length in days (1 = the day itself). CLV metrics "
        "(historical_clv_per_customer_eur, predicted_clv_per_customer_eur, expected_purchases_per_customer, "
        "p_alive_mean, predicted_at_risk_share; newest processed day only, see docs/clv.md): the "
        "prediction horizon in days.",
        "metric": "conversion_rate, average_order_value_eur, revenue_per_customer_eur, orders_per_customer, "
        "avg_session_seconds, stickiness, email_opens_per_send, email_clicks_per_send, mean_csat, "
        "csat_satisfied_share; churn_rate and repeat_purchase_rate (window 1 only). See docs/kpis.md.",
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

CAMPAIGN_PERFORMANCE = PublishedTable(
    "campaign_performance",
    "Per campaign, variant (and 'All variants') and RFM segment at exposure (and 'All customers'), as of the "
    "newest processed day: sends, unique opens and clicks, conversions and attributed revenue within "
    "experiments.conversion_window_days, cost (campaigns.cost_eur) and ROI.",
    ("campaign_id", "variant", "segment"),
    {
        "as_of_date": "Day the figures describe (events and orders delivered up to its end).",
        "campaign_id": "Campaign id.",
        "variant": "A/B variant, or 'All variants'.",
        "segment": "RFM segment of the customer on the exposure day, or 'All customers'.",
        "exposures": "Customers sent the campaign (first email_sent per customer).",
        "opened": "Of those, customers who opened it (an open or a click known by as_of_date).",
        "clicked": "Of those, customers who clicked a link in it.",
        "open_rate": "opened / exposures.",
        "click_through_rate": "clicked / exposures.",
        "click_to_open_rate": "clicked / opened; null when nobody opened.",
        "judged_exposures": "Exposures whose conversion window had closed by as_of_date.",
        "conversions": "Of the judged exposures, customers with a completed order within the window.",
        "conversion_rate": "conversions / judged_exposures; null while no window has closed.",
        "attributed_orders": "Completed orders placed within the window after a judged exposure.",
        "attributed_revenue_eur": "Their net revenue, EUR (an order in the windows of two campaigns "
        "counts for both).",
        "cost_eur": "The campaign's configured cost, shared out by exposures; null when not configured.",
        "roi": "(attributed_revenue_eur - cost_eur) / cost_eur; null without a cost or while some exposure's "
        "window is still open.",
    },
)

CLV_CUSTOMER = PublishedTable(
    "clv_customer",
    "Customer lifetime value as of the newest processed day, per customer with a completed order: "
    "realised margin to date, and BG/NBD + Gamma-Gamma predictions (pymc-marketing) over clv.horizon_months. "
    "CLV is margin: clv.margin_share of net revenue. See docs/clv.md.",
    ("customer_key",),
    {
        "as_of_date": "Day the values describe (completed orders delivered up to its end).",
        "customer_key": "Pseudonymous customer id.",
        "rfm_segment": "RFM segment of the customer on as_of_date (segment_history).",
        "lifecycle_segment": "Lifecycle segment on as_of_date (active, at_risk, dormant, churned, ...).",
        "first_order_date": "Day of the first completed order.",
        "last_order_date": "Day of the last completed order.",
        "orders": "Completed orders known by as_of_date.",
        "frequency": "Repeat purchase days: days with a completed order after the first one.",
        "recency_days": "last_order_date - first_order_date, days.",
        "t_days": "as_of_date - first_order_date, days (the customer's observed age).",
        "monetary_value_eur": "Mean net revenue of the repeat purchase days; null without repeats.",
        "net_revenue_eur": "Net revenue (EUR, after discount) of all completed orders known by as_of_date.",
        "historical_clv_eur": "Realised margin to date: net_revenue_eur x clv.margin_share.",
        "p_alive": "BG/NBD probability that the customer is still active (1 for one-time buyers by "
        "construction); null when the model was not fitted.",
        "expected_purchases": "BG/NBD expected purchase days over the next clv.horizon_months x 30 "
        "days; null when not fitted.",
        "expected_spend_eur": "Gamma-Gamma expected net revenue per future purchase day (population mean for "
        "customers without repeats); null when not fitted.",
        "predicted_clv_eur": "Expected margin over the horizon, discounted monthly at "
        "clv.monthly_discount_rate; null when not fitted.",
        "predicted_at_risk": "Repeat buyer whose p_alive is below clv.p_alive_threshold; null when not "
        "fitted.",
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
    SEGMENT_KPIS_DAILY, KPI_DAILY, COHORT_RETENTION, EXPERIMENT_RESULTS, CAMPAIGN_PERFORMANCE,
    CLV_CUSTOMER, DATA_QUALITY_LOG, CUSTOMERS, PUBLISH_LOG,
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
