"""DuckDB → PostgreSQL column types (no server needed)."""

from __future__ import annotations

import pytest

from assets.publish.postgres import WarehouseTarget, postgres_type


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("VARCHAR", "text"),
        ("BIGINT", "bigint"),
        ("TINYINT", "smallint"),
        ("UBIGINT", "numeric(20, 0)"),
        ("DOUBLE", "double precision"),
        ("DATE", "date"),
        ("TIMESTAMP WITH TIME ZONE", "timestamptz"),
        ("BOOLEAN", "boolean"),
        ("JSON", "jsonb"),
        ("DECIMAL(18,3)", "numeric(18, 3)"),
        ("INTEGER[]", "jsonb"),
        ("STRUCT(x INTEGER, y VARCHAR)", "jsonb"),
    ],
)
def test_duckdb_types_map_to_postgres(duckdb_type: str, expected: str) -> None:
    assert postgres_type(duckdb_type) == expected


def test_an_unmapped_type_fails_naming_it() -> None:
    with pytest.raises(TypeError, match="INTERVAL"):
        postgres_type("INTERVAL")


@pytest.mark.parametrize("schema", ["Segments", "bi; drop table x", "a" * 41, "1st"])
def test_schema_and_role_names_are_plain_identifiers(schema: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        WarehouseTarget(url="postgresql://x", schema=schema)
