"""Docs that users rely on stay in step with the code."""

from __future__ import annotations

from pathlib import Path

from assets.publish.tables import render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_output_tables_doc_is_current() -> None:
    doc = (ROOT / "docs" / "output-tables.md").read_text()
    assert render_markdown().strip() in doc, "regenerate with: python -m assets.publish.tables"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block
