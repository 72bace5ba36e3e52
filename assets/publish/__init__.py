"""Publish: checked outputs → the serving warehouse BI reads (embedded DuckDB file)."""
