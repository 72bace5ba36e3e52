"""The bad-input corpus (tests/bad_inputs): every broken landing file through the real extract step.

Each case is a landing zone for delivery day 2025-09-02, described in `tests/bad_inputs/cases.toml`.
A "quarantine" case must load with exactly the expected valid and quarantined rows, and lose
nothing: every row read is valid, quarantined (with its original text and row number) or an exact
duplicate. A "fail" case must raise `LandingContractError` naming the file and the problem, and
leave the bronze partition already written for that day exactly as it was.

What happens after extract (nothing published on "fail"; valid rows published and bad ones only
logged on "quarantine") is proven for one case per source and outcome through the full graph in
tests/e2e/test_bad_inputs_publish.py; the last test here keeps that subset valid as the corpus grows.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from assets.extract.assets import extract_day
from assets.extract.gate import RAW_RECORD
from assets.extract.landing import SOURCE_ROW, LandingContractError
from assets.extract.parsing import REASON
from assets.extract.sources import EXTRACT_SOURCES, ExtractSource
from assets.partition_store import partition_path
from orchestration.settings import Settings, get_settings

CORPUS = Path(__file__).parent / "bad_inputs"
CASES: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
DAY = date(2025, 9, 2)
SOURCES = {source.landing.name: source for source in EXTRACT_SOURCES}

# A good file per source: what the day looked like before the broken re-delivery arrived.
GOOD_FILES = {
    "orders": (
        "order_id,customer_id,email,order_ts,status,amount,discount,currency,channel,product_category\n"
        "o-1,c-1,a@example.com,2025-09-02T09:00:00+02:00,placed,10.00,0.00,EUR,web,toys\n"
        "o-2,c-2,b@example.com,2025-09-02T10:00:00Z,shipped,20.00,1.00,USD,app,home\n"
    ),
    "events": (
        '{"event_id": "e-1", "customer_id": "c-1", "event_type": "page_view",'
        ' "event_ts": "2025-09-02T09:00:00+02:00", "channel": "web"}\n'
    ),
    "customers": (
        "customer_id,email,first_name,last_name,signup_date,birthday,country,marketing_consent,updated_at\n"
        "c-1,a@example.com,Ann,Lee,2024-01-05,1990-02-14,DE,true,2025-09-02T08:00:00+02:00\n"
    ),
}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SEGMENTS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    return get_settings()


def _source_of(case: dict[str, Any]) -> ExtractSource:
    return SOURCES[Path(case["file"]).parts[0]]


def _land_case(name: str, settings: Settings) -> None:
    """A temporary copy of the case's landing zone: the corpus itself is never touched."""
    shutil.rmtree(settings.landing_dir, ignore_errors=True)
    shutil.copytree(CORPUS / name, settings.landing_dir)


def _partition_bytes(settings: Settings, source: str) -> dict[str, bytes | None]:
    roots = {"bronze": settings.bronze_dir, "quarantine": settings.quarantine_dir}
    roots["quality"] = settings.quality_dir
    paths = {kind: partition_path(root, source, DAY) for kind, root in roots.items()}
    return {kind: path.read_bytes() if path.is_file() else None for kind, path in paths.items()}


def test_corpus_is_complete() -> None:
    """Every case directory is described, every description has its landing files."""
    directories = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert directories == set(CASES)
    assert len(CASES) >= 25
    for name, case in CASES.items():
        assert case["outcome"] in ("quarantine", "fail"), name
        assert case["problem"], name
        if name != "missing_day":
            assert (CORPUS / name / case["file"]).is_file(), name


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c["outcome"] == "quarantine"))
def test_row_level_problems_are_quarantined_and_nothing_is_lost(name: str, settings: Settings) -> None:
    case = CASES[name]
    source = _source_of(case)
    _land_case(name, settings)
    text = (settings.landing_dir / case["file"]).read_bytes().decode("utf-8-sig")

    gate = extract_day(source, DAY, settings)

    duplicates = case.get("duplicates", 0)
    assert (gate.valid.height, gate.quarantined.height, gate.exact_duplicates_dropped) == (
        case["valid"],
        case["quarantined"],
        duplicates,
    )
    assert gate.rows_read == gate.valid.height + gate.quarantined.height + gate.exact_duplicates_dropped
    quarantined = gate.quarantined.sort(SOURCE_ROW)
    assert quarantined[SOURCE_ROW].to_list() == case.get("source_rows", [])
    for reason, expected in zip(quarantined[REASON], case.get("reasons", []), strict=True):
        assert expected in reason
        assert len(reason) < 1_000  # a reason quotes a value, never a whole 5 MB cell
    # Nothing lost: every quarantined row keeps its row number and original text.
    assert quarantined[SOURCE_ROW].null_count() == 0
    assert quarantined[SOURCE_ROW].is_unique().all()
    assert set(quarantined[SOURCE_ROW]).isdisjoint(gate.valid[SOURCE_ROW])
    for raw in quarantined[RAW_RECORD]:
        assert raw
        if raw in text:  # kept verbatim: a line that could not be split into fields
            continue
        cells = json.loads(raw)  # else the row's cells, each exactly as delivered
        assert cells and all(cell in text for cell in cells.values() if cell is not None), raw
    # What was kept is what was published to bronze / quarantine.
    bronze = pl.read_parquet(partition_path(settings.bronze_dir, source.landing.name, DAY))
    assert bronze.height == case["valid"]
    quarantine_file = partition_path(settings.quarantine_dir, source.landing.name, DAY)
    assert quarantine_file.is_file() == (case["quarantined"] > 0)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c["outcome"] == "fail"))
def test_broken_files_fail_naming_file_and_problem(name: str, settings: Settings) -> None:
    case = CASES[name]
    source = _source_of(case)
    good = source.landing.path_for(settings.landing_dir, DAY)
    good.parent.mkdir(parents=True)
    good.write_text(GOOD_FILES[source.landing.name], encoding="utf-8")
    extract_day(source, DAY, settings)
    before = _partition_bytes(settings, source.landing.name)
    assert before["bronze"] is not None

    _land_case(name, settings)
    with pytest.raises(LandingContractError) as error:
        extract_day(source, DAY, settings)

    message = str(error.value)
    assert str(settings.landing_dir / case["file"]) in message
    for expected in case["errors"]:
        assert expected in message
    assert _partition_bytes(settings, source.landing.name) == before


def test_contract_doc_lists_every_case() -> None:
    doc = (CORPUS.parents[1] / "docs" / "input-contract.md").read_text(encoding="utf-8")
    table = doc.split("## Bad-input corpus", 1)[1]
    for name, case in CASES.items():
        outcome = "fail" if case["outcome"] == "fail" else ("quarantine" if case["quarantined"] else "accept")
        assert f"| `{name}` | {outcome}" in table, name


def test_publish_representatives_cover_every_source_and_outcome() -> None:
    """tests/e2e/test_bad_inputs_publish.py takes a subset to publish: it must stay a valid one."""
    from tests.e2e.test_bad_inputs_publish import FAIL_CASES, QUARANTINE_CASES

    assert all(CASES[name]["outcome"] == "fail" for name in FAIL_CASES)
    assert {_source_of(CASES[name]).landing.name for name in FAIL_CASES} == set(SOURCES)
    assert set(QUARANTINE_CASES) == set(SOURCES)
    for source, name in QUARANTINE_CASES.items():
        case = CASES[name]
        assert _source_of(case).landing.name == source
        # Both kinds of row, so the run proves valid rows published and bad ones only logged.
        assert case["outcome"] == "quarantine" and case["quarantined"] > 0 and case["valid"] > 0, name
