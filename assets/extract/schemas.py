"""The extract gate's pandera (polars) models: one per landing source, built from the typed config.

The allowed values come from `ExtractSettings`, so the models are made by small factories rather
than fixed at import. `delivery_window_start/_end` are helper columns the gate adds so the
timeliness rule (not in the future, not older than `max_lateness_days`) is a pandera check too.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from orchestration.settings import ExtractSettings

WINDOW_START = "delivery_window_start"
WINDOW_END = "delivery_window_end"
UTC_TIMESTAMP = pl.Datetime("us", "UTC")
_MAX_AMOUNT = 1_000_000.0


def _within_delivery_window(data: pa.PolarsData, column: str) -> pl.LazyFrame:
    ts = pl.col(column)
    return data.lazyframe.select(ts.is_between(pl.col(WINDOW_START), pl.col(WINDOW_END), closed="left"))


def orders_model(cfg: ExtractSettings) -> type[pa.DataFrameModel]:
    class Orders(pa.DataFrameModel):
        order_id: str = pa.Field(unique=True)
        customer_id: str
        email: str = pa.Field(nullable=True)
        order_ts: UTC_TIMESTAMP  # type: ignore[valid-type]
        status: str = pa.Field(isin=cfg.order_statuses)
        amount: float = pa.Field(ge=0, lt=_MAX_AMOUNT)
        discount: float = pa.Field(ge=0, lt=_MAX_AMOUNT)
        currency: str = pa.Field(isin=cfg.currencies)
        channel: str = pa.Field(isin=cfg.order_channels)
        product_category: str = pa.Field(isin=cfg.product_categories)
        delivery_window_start: UTC_TIMESTAMP  # type: ignore[valid-type]
        delivery_window_end: UTC_TIMESTAMP  # type: ignore[valid-type]

        class Config:
            name = "orders"
            strict = "filter"

        @pa.dataframe_check(error="discount must not exceed amount")
        def discount_within_amount(cls, data: pa.PolarsData) -> pl.LazyFrame:
            return data.lazyframe.select(pl.col("discount") <= pl.col("amount"))

        # A column check (was a dataframe check) so the quarantine reason quotes the offending value.
        @pa.check("order_ts", error="order_ts outside the delivery window (future, or later than allowed)")
        def order_ts_in_delivery_window(cls, data: pa.PolarsData) -> pl.LazyFrame:
            return _within_delivery_window(data, data.key)

    return Orders


def events_model(cfg: ExtractSettings) -> type[pa.DataFrameModel]:
    class Events(pa.DataFrameModel):
        event_id: str = pa.Field(unique=True)
        customer_id: str
        event_type: str = pa.Field(isin=cfg.event_types)
        event_ts: UTC_TIMESTAMP  # type: ignore[valid-type]
        channel: str = pa.Field(isin=cfg.event_channels)
        product_category: str = pa.Field(nullable=True, isin=cfg.product_categories)
        campaign_id: str = pa.Field(nullable=True)
        variant: str = pa.Field(nullable=True)
        csat_score: pl.Int8 = pa.Field(nullable=True, ge=1, le=5)
        delivery_window_start: UTC_TIMESTAMP  # type: ignore[valid-type]
        delivery_window_end: UTC_TIMESTAMP  # type: ignore[valid-type]

        class Config:
            name = "events"
            strict = "filter"

        # A column check (was a dataframe check) so the quarantine reason quotes the offending value.
        @pa.check("event_ts", error="event_ts outside the delivery window (future, or later than allowed)")
        def event_ts_in_delivery_window(cls, data: pa.PolarsData) -> pl.LazyFrame:
            return _within_delivery_window(data, data.key)

        @pa.dataframe_check(error="email events need a campaign_id")
        def email_events_have_campaign(cls, data: pa.PolarsData) -> pl.LazyFrame:
            is_email = pl.col("event_type").str.starts_with("email_")
            return data.lazyframe.select(~is_email | pl.col("campaign_id").is_not_null())

        @pa.dataframe_check(error="survey_response needs a csat_score")
        def surveys_have_score(cls, data: pa.PolarsData) -> pl.LazyFrame:
            is_survey = pl.col("event_type") == "survey_response"
            return data.lazyframe.select(~is_survey | pl.col("csat_score").is_not_null())

    return Events


def customers_model(cfg: ExtractSettings) -> type[pa.DataFrameModel]:
    class Customers(pa.DataFrameModel):
        customer_id: str
        email: str = pa.Field(nullable=True)
        first_name: str = pa.Field(nullable=True)
        last_name: str = pa.Field(nullable=True)
        signup_date: pl.Date
        birthday: pl.Date = pa.Field(nullable=True)
        country: str = pa.Field(str_matches=r"^[A-Z]{2}$")
        marketing_consent: bool
        updated_at: UTC_TIMESTAMP  # type: ignore[valid-type]
        delivery_window_start: UTC_TIMESTAMP  # type: ignore[valid-type]
        delivery_window_end: UTC_TIMESTAMP  # type: ignore[valid-type]

        class Config:
            name = "customers"
            strict = "filter"

        @pa.dataframe_check(error="signup_date or updated_at is in the future of the delivery day")
        def not_in_future(cls, data: pa.PolarsData) -> pl.LazyFrame:
            end = pl.col(WINDOW_END)
            return data.lazyframe.select(
                (pl.col("updated_at") < end) & (pl.col("signup_date").cast(UTC_TIMESTAMP) < end)
            )

        @pa.dataframe_check(error="birthday is not a plausible date of birth")
        def plausible_birthday(cls, data: pa.PolarsData) -> pl.LazyFrame:
            birthday = pl.col("birthday")
            plausible = (birthday.dt.year() >= 1900) & (birthday.cast(UTC_TIMESTAMP) < pl.col(WINDOW_END))
            return data.lazyframe.select(birthday.is_null() | plausible)

    return Customers
