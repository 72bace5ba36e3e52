"""The fast landing reader (assets/extract/fast_landing.py) against the record-by-record reference.

`read_fast` must return exactly the frame `read_by_record` returns, or None (then the reference
reads the file and raises every contract error). Checked on the bad-input corpus, on generated sample
days, on hand-written nasty files and on random ones; and a clean sample day must take the fast path,
or the speed-up is silently gone.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from assets.extract import fast_landing
from assets.extract.fast_landing import read_fast
from assets.extract.landing import (
    CUSTOMERS,
    EVENTS,
    ORDERS,
    READ_ERROR,
    SOURCE_FILE,
    LandingContractError,
    LandingSource,
    read_by_record,
    read_landing_file,
)
from sample_data import generate_landing

CORPUS = Path(__file__).parents[1] / "bad_inputs"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
DAY = date(2025, 9, 2)
SOURCES = {source.name: source for source in (ORDERS, EVENTS, CUSTOMERS)}
PATH = Path("landing/file")  # only named in error messages

# Corpus cases the fast path hands to the reference reader, and why. Every other readable case must
# be read by the fast path: a new case that falls back belongs here, with its reason.
FALLBACK_CASES = {
    "csv_unbalanced_quote": "a quote left open at the end of a line",
    "csv_empty_0_bytes": "no header: the reference raises",
    "csv_missing_column": "header is not the contract's columns: the reference raises",
    "csv_extra_column": "header is not the contract's columns: the reference raises",
    "csv_renamed_column": "header is not the contract's columns: the reference raises",
    "csv_duplicate_column_name": "header is not the contract's columns: the reference raises",
    "jsonl_empty_0_bytes": "no line proves the required fields",
    "json_field_outside_contract": "a field outside the contract: the reference raises",
    "json_renamed_field": "a required field is never carried: the reference raises",
}


def _outcome(read: Callable[[], pl.DataFrame]) -> pl.DataFrame | str:
    try:
        return read()
    except LandingContractError as exc:
        return str(exc)


def _agrees(source: LandingSource, text: str) -> pl.DataFrame | None:
    """`read_fast`, after checking it equals the reference whenever it answers."""
    fast = read_fast(text, source)
    expected = _outcome(lambda: read_by_record(PATH, text, source))
    if fast is not None:
        assert isinstance(expected, pl.DataFrame), f"fast path read a file the reference rejects: {expected}"
        assert_frame_equal(fast, expected, check_exact=True)
    return fast


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_reads_exactly_as_by_record(name: str) -> None:
    case = CASES[name]
    source = SOURCES[Path(case["file"]).parts[0]]
    landing_dir = CORPUS / name
    path = source.path_for(landing_dir, DAY)
    actual = _outcome(lambda: read_landing_file(source, landing_dir, DAY))
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (FileNotFoundError, UnicodeDecodeError):
        assert isinstance(actual, str)  # decided before either reader runs
        return
    expected = _outcome(lambda: read_by_record(path, text, source))
    if isinstance(expected, str):
        assert actual == expected
    else:
        assert isinstance(actual, pl.DataFrame), actual
        assert actual[SOURCE_FILE].to_list() == [str(path)] * actual.height
        assert_frame_equal(actual.drop(SOURCE_FILE), expected, check_exact=True)
    fast = _agrees(source, text)
    assert (fast is None) == (name in FALLBACK_CASES), FALLBACK_CASES.get(name, "expected the fast path")


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[LandingSource, Path]]:
    """Three generated days with the default dirt: quoted amounts, truncated JSON lines, duplicates."""
    root = tmp_path_factory.mktemp("sample")
    generate_landing(root / "landing", root / "truth", size="S", days=3)
    files = [
        (source, path) for source in SOURCES.values() for path in (root / "landing").glob(f"{source.name}/*")
    ]
    assert len(files) == 9
    return sorted(files, key=lambda file: str(file[1]))


def test_sample_days_take_the_fast_path_and_read_exactly_as_by_record(
    sample_files: list[tuple[LandingSource, Path]],
) -> None:
    unreadable_rows, quoted_lines = 0, 0
    for source, path in sample_files:
        text = path.read_bytes().decode("utf-8-sig")
        fast = _agrees(source, text)
        assert fast is not None, path
        unreadable_rows += fast[READ_ERROR].is_not_null().sum()
        quoted_lines += sum('"' in line for line in text.splitlines()) if source.file_format == "csv" else 0
        day = date.fromisoformat(path.stem.rsplit("_", 1)[1])
        frame = read_landing_file(source, path.parents[1], day)
        assert_frame_equal(frame.drop(SOURCE_FILE), read_by_record(path, text, source), check_exact=True)
    # The dirt (truncated JSON lines, a quoted "12,50" amount) was read on the fast path too.
    assert unreadable_rows > 0 and quoted_lines > 0


def test_large_file_line_cutting_agrees(
    sample_files: list[tuple[LandingSource, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files beyond one polars string are cut with str.split: the same lines."""
    monkeypatch.setattr(fast_landing, "_MAX_POLARS_TEXT", 0)
    for source, path in sample_files:
        assert _agrees(source, path.read_bytes().decode("utf-8-sig")) is not None, path


HEADER = ",".join(ORDERS.columns)
ROW = "o-1,c-1,a@example.com,2025-09-02T09:00:00Z,placed,10.00,0.00,EUR,web,toys"


def _csv(*lines: str, end: str = "\n") -> str:
    return "".join(line + end for line in lines)


def _row(old: str, new: str) -> str:
    return ROW.replace(old, new)


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        (_csv(HEADER, ROW), True),
        (_csv(HEADER, ROW, end="\r\n") + ROW, True),  # CRLF, last line unterminated
        (_csv(HEADER, "", ROW, ",,,", " \t", ROW), True),  # blank rows still count in source_row
        (_csv(HEADER, ROW, "\x1c,\xa0,\u2028", ROW), True),  # str.strip() whitespace: skipped
        (_csv(HEADER, ROW, "\u200b,,"), True),  # not whitespace: a 3-field row
        (_csv(HEADER, _row("10.00", '"10,00"')), True),  # quoted comma
        (_csv(HEADER, _row("web", '"w""e""b"')), True),  # doubled quotes
        (_csv(HEADER, _row("web", ' "web" ')), True),  # quote after a space: literal
        (_csv(HEADER, _row("web", 'w"eb')), True),
        (_csv(HEADER, ROW, ROW + ",") + ROW[:20], True),  # too many / too few fields, truncated
        (_csv(HEADER, _row("toys", " toys ")), True),  # padding kept verbatim
        (_csv(HEADER, _row("10.00", "")), True),  # empty field: "" not null
        (_csv(",".join(reversed(ORDERS.columns)), ROW), True),  # reordered header
        (_csv("", " ", HEADER, ROW), True),  # blank lines before the header
        (_csv(HEADER, ROW + "x" * 300_000), True),  # a long field
        (_csv(HEADER, _row("web", '"' + "x" * 300_000 + '"')), True),  # above csv's default limit
        (_csv(HEADER, _row("web", '"w\neb"'), ROW), False),  # quoted newline: a 2-line record
        (_csv(HEADER, _row("web", '"web'), ROW), False),  # unbalanced quote
        (_csv(HEADER, _row("web", '"web"x')), False),  # csv.Error
        (_csv(HEADER, ROW, end="\r"), False),  # a lone CR ends a line for the reference
        (_csv(HEADER, _row("web", "w\reb")), False),
        (_csv(HEADER + ",order_id", ROW), False),  # repeated column: the reference raises
        ("", False),
        (" \n,\n", False),
    ],
)
def test_nasty_csv(text: str, fast: bool) -> None:
    assert (_agrees(ORDERS, text) is not None) == fast


def _event(**fields: object) -> str:
    return json.dumps({"event_id": "e-1", "customer_id": "c-1", "event_type": "page_view", **fields})


BASE = _event(event_ts="2025-09-02T09:00:00Z", channel="web")


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        (f"{BASE}\n", True),
        (f"{BASE}\r\n\n  \n{BASE}", True),  # CRLF, blank lines still count in source_row
        (f'{BASE}\n{BASE[:-1]}, "csat_score": 5}}\n', True),  # integer -> "5"
        (f'{BASE}\n{BASE[:-1]}, "csat_score": -0}}\n', True),  # Python says "0" too
        (f'{BASE}\n{BASE[:-1]}, "csat_score": 4.0}}\n', True),  # json.dumps: "4.0" (slow line)
        (f'{BASE}\n{BASE[:-1]}, "csat_score": 1e5}}\n', True),  # "100000.0"
        (f'{BASE}\n{BASE[:-1]}, "csat_score": 123456789012345678901234}}\n', True),
        (f'{BASE}\n{BASE[:-1]}, "variant": true, "csat_score": [1, {{"a": "é"}}]}}\n', True),
        (f'{BASE}\n{BASE[:-1]}, "variant": NaN}}\n', True),
        (f'{BASE}\n{BASE[:-1]}, "variant": null}}\n', True),  # null and missing: both null
        (f'{BASE}\n{BASE[:-1]}, "variant": "a\\u00e9\\"b\\n"}}\n', True),  # escapes
        (f'{BASE}\n{BASE[:-1]}, "variant": "a\u2028b\x85c"}}\n', True),  # raw line separators
        (f'{BASE}\n{BASE[:-1]}, "channel": "app"}}\n', True),  # repeated key: json keeps the last
        (f'{BASE}\n{{"event_id": "e-2", {BASE[1:]}\n', True),  # (polars keeps the first)
        (f'{BASE}\n{{"channel": "app", "event_id": "e-2"}}\n', True),  # keys out of order
        (f'{BASE}\n[1, 2]\nnull\n"text"\n{BASE[:30]}\n\ufeff{BASE}\n{{}}\n', True),  # not objects
        (f'{BASE}\n{BASE[:-1]}, "extra": 1}}\n', False),  # field outside the contract
        ('{"event_id": "e-1"}\n', False),  # required fields never carried
        (_event(customer_id=None, event_ts="t", channel="c") + "\n", False),  # a value proves a field
        ("", False),
    ],
)
def test_nasty_jsonl(text: str, fast: bool) -> None:
    assert (_agrees(EVENTS, text) is not None) == fast


# --- random files ---------------------------------------------------------------------------------

NASTY = st.sampled_from(
    [*'ab1 ,"\n\r\t\\{:é', "\u2028", "\x85", "\x1c", "\xa0", "\ufeff", "\x00", "\u200b", "𝄞"]
)
nasty_text = st.text(alphabet=NASTY, max_size=8)
plain_text = st.text(
    alphabet=st.sampled_from(["a", "Z", "0", " ", ".", "-", "é", "\xa0", "\x1c"]), max_size=6
)
csv_field = st.one_of(
    plain_text,
    plain_text.map(lambda s: f'"{s}"'),
    nasty_text.map(lambda s: '"' + s.replace('"', '""') + '"'),  # well quoted, maybe multi-line
    nasty_text,
)
line_end = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])


@st.composite
def csv_files(draw: st.DrawFn, source: LandingSource) -> str:
    columns = draw(st.permutations(source.columns))
    header = draw(st.sampled_from([",".join(columns), ",".join(columns[:-1])]))
    width = len(source.columns)
    rows = draw(
        st.lists(st.lists(csv_field, min_size=width - 1, max_size=width + 1).map(",".join), max_size=6)
    )
    rows += draw(st.lists(st.sampled_from(["", " ", ",,,", "\t,\xa0"]), max_size=2))
    lines = [header, *draw(st.permutations(rows))]
    text = "".join(line + draw(line_end) for line in lines)
    return text if draw(st.booleans()) else text.rstrip("\r\n")


@given(text=csv_files(ORDERS))
@hyp_settings(max_examples=300, deadline=None)
def test_random_csv_reads_exactly_as_by_record(text: str) -> None:
    _agrees(ORDERS, text)


json_value = st.one_of(
    st.none(),
    plain_text,
    nasty_text,
    st.integers(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(nasty_text, st.integers(), max_size=1),
)
json_key = st.sampled_from([*EVENTS.columns, "extra"])
json_space = st.sampled_from(["", " ", "\t", "\r"])


@st.composite
def json_lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["object", "object", "required", "required", "garbage", "blank"]))
    if kind == "garbage":
        return draw(nasty_text)
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t", "\r", "\xa0"]))
    pairs = [(key, draw(json_value)) for key in draw(st.lists(json_key, max_size=6))]
    if kind == "required":  # carry the required fields, so that not every file fails
        pairs = [(key, draw(plain_text)) for key in EVENTS.required] + [p for p in pairs if p[0] != "extra"]
    if draw(st.booleans()):
        pairs.sort(key=lambda pair: [*EVENTS.columns, "extra"].index(pair[0]))
    gap = draw(json_space)
    ascii_only = draw(st.booleans())
    members = [f"{gap}{json.dumps(k)}{gap}:{gap}{json.dumps(v, ensure_ascii=ascii_only)}" for k, v in pairs]
    line = "{" + ",".join(members) + gap + "}"
    return line[: draw(st.integers(0, len(line)))] if draw(st.integers(0, 9)) == 0 else line


@given(lines=st.lists(json_lines(), max_size=8), ends=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=8))
@hyp_settings(max_examples=300, deadline=None)
def test_random_jsonl_reads_exactly_as_by_record(lines: list[str], ends: list[str]) -> None:
    _agrees(EVENTS, "".join(line + end for line, end in zip(lines, ends, strict=False)))
