"""Per source: which landing file, which pandera model, and how valid rows become bronze rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from assets.extract.landing import CUSTOMERS, EVENTS, ORDERS, SOURCE_FILE, SOURCE_ROW, LandingSource
from assets.extract.pseudonymise import CUSTOMER_KEY, is_test_account, pseudonymise
from assets.extract.schemas import customers_model, events_model, orders_model
from orchestration.settings import ExtractSettings

LINEAGE = (SOURCE_FILE, SOURCE_ROW)


@dataclass(frozen=True)
class ExtractSource:
    landing: LandingSource
    asset_name: str
    model: Callable[[ExtractSettings], type[pa.DataFrameModel]]
    to_bronze: Callable[[pl.DataFrame, ExtractSettings, bytes], pl.DataFrame]


def orders_to_bronze(valid: pl.DataFrame, cfg: ExtractSettings, key: bytes) -> pl.DataFrame:
    flagged = valid.with_columns(
        is_test_account(pl.col("email"), cfg.test_email_domains).alias("is_test_account")
    )
    return pseudonymise(flagged, key).select(
        "order_id",
        CUSTOMER_KEY,
        "is_test_account",
        "order_ts",
        "status",
        "amount",
        "discount",
        "currency",
        "channel",
        "product_category",
        *LINEAGE,
    )


def events_to_bronze(valid: pl.DataFrame, cfg: ExtractSettings, key: bytes) -> pl.DataFrame:
    return pseudonymise(valid, key).select(
        "event_id",
        CUSTOMER_KEY,
        "event_type",
        "event_ts",
        "channel",
        "product_category",
        "campaign_id",
        "variant",
        "csat_score",
        *LINEAGE,
    )


def customers_to_bronze(valid: pl.DataFrame, cfg: ExtractSettings, key: bytes) -> pl.DataFrame:
    minimised = valid.with_columns(
        is_test_account(pl.col("email"), cfg.test_email_domains).alias("is_test_account"),
        pl.col("birthday").dt.month().cast(pl.Int8).alias("birth_month"),
        pl.col("birthday").dt.day().cast(pl.Int8).alias("birth_day"),
    )
    return pseudonymise(minimised, key).select(
        CUSTOMER_KEY,
        "is_test_account",
        "signup_date",
        "birth_month",
        "birth_day",
        "country",
        "marketing_consent",
        "updated_at",
        *LINEAGE,
    )


EXTRACT_SOURCES = (
    ExtractSource(ORDERS, "raw_orders", orders_model, orders_to_bronze),
    ExtractSource(EVENTS, "raw_events", events_model, events_to_bronze),
    ExtractSource(CUSTOMERS, "raw_customers", customers_model, customers_to_bronze),
)
