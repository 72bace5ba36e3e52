"""Partitioned Parquet storage: one file per dataset and day, replaced whole (bronze, quarantine, segments).

Writing to a temporary file and `os.replace`-ing it over the partition makes a rerun idempotent
and crash-safe: a reader (dbt) sees the old partition or the new one, never half of either.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import polars as pl

PARTITION_FILE = "part-0.parquet"


def partition_path(root: Path, source: str, day: date) -> Path:
    return root / source / f"dt={day.isoformat()}" / PARTITION_FILE


def replace_partition(frame: pl.DataFrame, root: Path, source: str, day: date) -> Path:
    target = partition_path(root, source, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    frame.write_parquet(staging, compression="zstd", statistics=True)
    os.replace(staging, target)
    return target


def remove_partition(root: Path, source: str, day: date) -> None:
    """A rerun that quarantines nothing must not leave an earlier run's quarantine behind."""
    partition_path(root, source, day).unlink(missing_ok=True)
