"""Measurements and reports that are not part of the test suite (see docs/performance.md)."""
