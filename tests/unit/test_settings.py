"""The typed config: defaults load, env overrides apply, and bad config fails naming the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from assets.transform.project import dbt_build_args
from orchestration.settings import DEFAULT_CONFIG_FILE, Settings


def _settings_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: tuple[str, str]) -> Settings:
    text = DEFAULT_CONFIG_FILE.read_text()
    assert replace[0] in text
    config = tmp_path / "pipeline.toml"
    config.write_text(text.replace(*replace))
    monkeypatch.setenv("SEGMENTS_CONFIG_FILE", str(config))
    return Settings()


def test_defaults_and_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENTS_RFM__WINDOW_DAYS", "180")
    settings = Settings()
    assert settings.rfm.window_days == 180
    assert settings.uses_development_key
    monkeypatch.setenv("SEGMENTS_PSEUDONYMISATION_KEY", "s3cret")
    assert Settings().pseudonymisation_key_bytes() == b"s3cret"


def test_production_requires_a_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENTS_ENVIRONMENT", "production")
    monkeypatch.delenv("SEGMENTS_PSEUDONYMISATION_KEY", raising=False)
    with pytest.raises(ValidationError, match="SEGMENTS_PSEUDONYMISATION_KEY must be set"):
        Settings()


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (
            ("recency = [1, 1]\nfrequency = [1, 2]", "recency = [1, 2]\nfrequency = [1, 2]"),
            "recency=2, frequency=1 is covered by",
        ),
        (
            (
                "recency = [1, 1]\nfrequency = [1, 2]",
                "recency = [1, 1]\nfrequency = [1, 1]",
            ),
            "recency=1, frequency=2 is not covered",
        ),
        (
            ("recency = [5, 5]\nfrequency = [4, 5]", "recency = [5, 6]\nfrequency = [4, 5]"),
            "1 <= low <= high <= 5",
        ),
        (('name = "Loyal"', 'name = "Champions"'), "segment names repeated: ['Champions']"),
        (("window_days = 365", "window_days = 0"), "rfm.window_days"),
        (("GBP = 1.17\n", ""), "no rate for extract.currencies ['GBP']"),
        (
            ("window_days = 365\n", 'window_days = 365\nscoring = "thresholds"\n'),
            "rfm.thresholds is required",
        ),
        (
            ("window_days = 365\n", "window_days = 365\n[rfm.thresholds]\nrecency_days = [7, 30, 30, 180]\n"),
            "strictly increasing cut points",
        ),
        (("max_lateness_days = 7", "max_lateness_days = 7\nunknown_key = 1"), "extract.unknown_key"),
    ],
)
def test_bad_config_fails_at_load_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: tuple[str, str], message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        _settings_from(tmp_path, monkeypatch, replace)
    assert message in str(error.value).replace("\n", " ").replace("  ", " ") or message in str(error.value)


def test_dbt_args_carry_window_and_config() -> None:
    args = dbt_build_args(Settings(), date(2025, 9, 1), date(2025, 9, 3))
    assert args[:2] == ["build", "--vars"]
    assert '"min_date": "2025-09-01"' in args[2] and '"max_date": "2025-09-03"' in args[2]
    assert '"session_gap_minutes": 30' in args[2] and '"GBP": 1.17' in args[2]
    assert args[3:] == ["--exclude-resource-type", "unit_test"]
    with_unit_tests = Settings(transform={**Settings().transform.model_dump(), "run_dbt_unit_tests": True})
    assert dbt_build_args(with_unit_tests, date(2025, 9, 1), date(2025, 9, 3)) == args[:3]
    with pytest.raises(ValueError, match="empty date window"):
        dbt_build_args(Settings(), date(2025, 9, 3), date(2025, 9, 1))
