"""Pseudonymisation and minimisation: the only place raw customer identifiers and PII are handled.

`customer_id` becomes `customer_key`, an HMAC-SHA256 under a secret key, so the same customer gets
the same key every day (joins keep working) while nobody without the key can reverse or recompute
it. Emails are used once, to flag test accounts, then dropped with names; a birthday is reduced
to month and day, which is all the occasion segments need.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

CUSTOMER_KEY = "customer_key"
_KEY_HEX_CHARS = 32


def customer_keys(customer_ids: pl.Series, key: bytes) -> pl.DataFrame:
    """Map each distinct id to its keyed hash.

    polars has no keyed hash, so the HMAC runs in Python, but only once per *distinct* id of the
    delivery (thousands a day), never per row; rows get their key through a join.
    """
    distinct = customer_ids.drop_nulls().unique().sort()
    hashed = [_keyed_hash(key, value) for value in distinct]
    return pl.DataFrame({"customer_id": distinct, CUSTOMER_KEY: pl.Series(hashed, dtype=pl.String)})


def _keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:_KEY_HEX_CHARS]


def is_test_account(email: pl.Expr, test_email_domains: list[str]) -> pl.Expr:
    domain = email.str.to_lowercase().str.split("@").list.last()
    return domain.is_in([d.lower() for d in test_email_domains]).fill_null(False)


def pseudonymise(frame: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Replace `customer_id` by `customer_key`, keeping row order."""
    keys = customer_keys(frame["customer_id"], key)
    return frame.join(keys, on="customer_id", how="left", maintain_order="left").drop("customer_id")
