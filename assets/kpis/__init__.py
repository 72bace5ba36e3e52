"""KPIs: per-segment daily rollups in lazy polars."""
