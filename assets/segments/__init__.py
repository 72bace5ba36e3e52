"""Segments: point-in-time customer segment assignment in lazy polars."""
