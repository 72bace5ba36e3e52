"""The one typed configuration of the pipeline: `config/pipeline.toml` overlaid by `SEGMENTS_*` env vars.

Every path, window, threshold and map the assets use comes from `Settings`; nothing else reads the
environment. dbt reads the same values: `dbt_vars()` and `dbt_env()` hand them over, so the two
never disagree.
"""

from __future__ import annotations

import os
from datetime import date
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from orchestration.behaviour_settings import BehaviourSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config" / "pipeline.toml"
SCORE_BINS = 5
SCORE_RANGE = range(1, SCORE_BINS + 1)

# Used only when SEGMENTS_PSEUDONYMISATION_KEY is unset and SEGMENTS_ENVIRONMENT is not "production":
# it lets the bundled sample run with zero setup. Customer keys made with it are not secret.
DEVELOPMENT_ONLY_KEY = "DEVELOPMENT-ONLY-sample-key-never-use-for-real-customers"


class Section(BaseModel):
    """A config section: an unknown key is a typo to report, not something to ignore."""

    model_config = ConfigDict(extra="forbid")


class ExtractSettings(Section):
    test_email_domains: list[str]
    currencies: list[str]
    order_statuses: list[str]
    order_channels: list[str]
    event_channels: list[str]
    event_types: list[str]
    product_categories: list[str]
    max_lateness_days: int = Field(ge=0)
    max_quarantine_share: float = Field(ge=0, le=1)


# A DuckDB memory setting, e.g. "4GB" (validated: it is spliced into a SET statement).
MemorySize = Annotated[str, Field(pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")]


class OperationsSettings(Section):
    lookback_days: int = Field(ge=0)
    sensor_interval_seconds: int = Field(ge=30)
    retry_max: int = Field(ge=0)
    retry_delay_seconds: float = Field(ge=0)
    segment_chunk_memberships: int = Field(gt=0)
    duckdb_memory_limit: MemorySize
    segment_duckdb_memory_limit: MemorySize


class TransformSettings(Section):
    session_gap_minutes: int = Field(gt=0)
    fx_rates_to_eur: dict[str, float]
    run_dbt_unit_tests: bool


class ExperimentSettings(Section):
    conversion_window_days: int = Field(gt=0)
    control_variant: str = Field(min_length=1)
    confidence_level: float = Field(gt=0, lt=1)
    min_exposures_per_arm: int = Field(ge=1)
    min_conversions_per_arm: int = Field(ge=0)


class CampaignSettings(Section):
    """What each campaign cost (EUR), for campaign ROI; a campaign without a cost gets a null ROI."""

    cost_eur: dict[str, float] = Field(default_factory=dict)

    @field_validator("cost_eur")
    @classmethod
    def _costs_not_negative(cls, costs: dict[str, float]) -> dict[str, float]:
        negative = sorted(name for name, cost in costs.items() if not cost >= 0)
        if negative:
            raise ValueError(f"campaigns.cost_eur: cost must be a number >= 0 for {negative}")
        return costs


class ClvSettings(Section):
    """Customer lifetime value (assets/kpis/clv.py, docs/clv.md)."""

    horizon_months: int = Field(gt=0, description="Prediction horizon; a month is 30 days (pymc-marketing).")
    margin_share: float = Field(gt=0, le=1, description="Margin as a share of net revenue.")
    monthly_discount_rate: float = Field(ge=0, lt=1)
    p_alive_threshold: float = Field(gt=0, lt=1, description="Repeat buyers below it are predicted_at_risk.")
    priors: Literal["flat", "library_default"]
    min_repeat_customers: int = Field(ge=1, description="Fewer repeat buyers: no fit, predictions null.")

    @property
    def horizon_days(self) -> int:
        return self.horizon_months * 30


class WarehouseSettings(Section):
    """PostgreSQL publish (docs/warehouse.md). The URL is a secret: only the WAREHOUSE_URL env var sets it."""

    schema_name: str = Field("segments", pattern=r"^[a-z_][a-z0-9_]{0,39}$")
    reader_role: str = Field("segments_reader", pattern=r"^[a-z_][a-z0-9_]{0,39}$")
    # The swap retries without queueing behind BI queries this long, then queues once for lock_timeout.
    swap_wait_seconds: float = Field(30.0, ge=0)
    lock_timeout_seconds: float = Field(10.0, gt=0)


class RfmSegmentRule(Section):
    name: str
    action: str = Field(min_length=1, description="What marketing should do with this segment.")
    recency: tuple[int, int]
    frequency: tuple[int, int]

    @field_validator("recency", "frequency")
    @classmethod
    def _score_bounds(cls, bounds: tuple[int, int]) -> tuple[int, int]:
        low, high = bounds
        if not (low in SCORE_RANGE and high in SCORE_RANGE and low <= high):
            raise ValueError(f"score range {list(bounds)} must be [low, high] with 1 <= low <= high <= 5")
        return bounds

    def covers(self, recency_score: int, frequency_score: int) -> bool:
        return (
            self.recency[0] <= recency_score <= self.recency[1]
            and self.frequency[0] <= frequency_score <= self.frequency[1]
        )


class RfmThresholds(Section):
    """Fixed cut points instead of quantiles: four strictly increasing values give scores 1..5.

    Recency counts days (fewer is better: at most the first cut point scores 5); frequency and
    monetary score 5 at or above the last cut point.
    """

    recency_days: list[float]
    frequency: list[float]
    monetary_eur: list[float]

    @field_validator("recency_days", "frequency", "monetary_eur")
    @classmethod
    def _four_increasing(cls, cuts: list[float]) -> list[float]:
        if len(cuts) != SCORE_BINS - 1 or any(b <= a for a, b in pairwise(cuts)):
            raise ValueError(f"needs {SCORE_BINS - 1} strictly increasing cut points, got {cuts}")
        return cuts


class RfmSettings(Section):
    window_days: int = Field(gt=0)
    # "quantile": scores from ranks among the window's buyers; "thresholds": fixed cut points below.
    scoring: Literal["quantile", "thresholds"] = "quantile"
    thresholds: RfmThresholds | None = None
    no_purchase_segment: str
    no_purchase_action: str = Field(min_length=1)
    segments: list[RfmSegmentRule]

    @model_validator(mode="after")
    def _thresholds_when_needed(self) -> RfmSettings:
        if self.scoring == "thresholds" and self.thresholds is None:
            raise ValueError("rfm.thresholds is required when rfm.scoring = 'thresholds'")
        return self

    @model_validator(mode="after")
    def _grid_covered_exactly_once(self) -> RfmSettings:
        names = [rule.name for rule in self.segments]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"rfm.segments: segment names repeated: {duplicated}")
        if self.no_purchase_segment in names:
            raise ValueError("rfm.no_purchase_segment must differ from every rfm.segments name")
        for r in SCORE_RANGE:
            for f in SCORE_RANGE:
                owners = [rule.name for rule in self.segments if rule.covers(r, f)]
                if len(owners) != 1:
                    problem = "is not covered" if not owners else f"is covered by several segments {owners}"
                    raise ValueError(f"rfm.segments: score combination recency={r}, frequency={f} {problem}")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEGMENTS_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path
    partitions_start: date
    environment: str = "development"
    pseudonymisation_key: SecretStr | None = None
    # Publishing to PostgreSQL is on when this is set (postgresql://user:password@host:port/db).
    warehouse_url: SecretStr | None = Field(default=None, validation_alias="WAREHOUSE_URL")
    warehouse: WarehouseSettings = WarehouseSettings()
    operations: OperationsSettings
    extract: ExtractSettings
    transform: TransformSettings
    experiments: ExperimentSettings
    clv: ClvSettings
    campaigns: CampaignSettings = CampaignSettings()
    rfm: RfmSettings
    behaviour: BehaviourSettings

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("SEGMENTS_CONFIG_FILE", DEFAULT_CONFIG_FILE))
        if not config_file.is_file():
            raise FileNotFoundError(f"configuration file {config_file} does not exist (SEGMENTS_CONFIG_FILE)")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file))

    @model_validator(mode="after")
    def _every_segment_has_an_action(self) -> Settings:
        from assets.segments.behaviour import segment_names

        emitted = segment_names(self.behaviour, self.extract.product_categories)
        for family, names in emitted.items():
            configured = self.behaviour.actions.get(family, {})
            missing = [n for n in names if n not in configured]
            unknown = sorted(set(configured) - set(names))
            if missing:
                raise ValueError(
                    f"behaviour.actions.{family}: no recommended action for segment(s) {missing}"
                )
            if unknown:
                raise ValueError(f"behaviour.actions.{family}: unknown segment(s) {unknown}")
        unknown_families = sorted(set(self.behaviour.actions) - set(emitted))
        if unknown_families:
            raise ValueError(f"behaviour.actions: unknown famil(ies) {unknown_families}")
        return self

    @model_validator(mode="after")
    def _currencies_have_rates(self) -> Settings:
        missing = sorted(set(self.extract.currencies) - set(self.transform.fx_rates_to_eur))
        if missing:
            raise ValueError(f"transform.fx_rates_to_eur has no rate for extract.currencies {missing}")
        if self.environment == "production" and self.pseudonymisation_key is None:
            raise ValueError("SEGMENTS_PSEUDONYMISATION_KEY must be set when SEGMENTS_ENVIRONMENT=production")
        return self

    # Derived locations: one place decides the layout of data_dir.
    @property
    def root(self) -> Path:
        return self.data_dir if self.data_dir.is_absolute() else PROJECT_ROOT / self.data_dir

    @property
    def landing_dir(self) -> Path:
        return self.root / "landing"

    @property
    def bronze_dir(self) -> Path:
        return self.root / "bronze"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def quality_dir(self) -> Path:
        """Per source and delivery day: rows read, kept, dropped and quarantined per check."""
        return self.root / "quality"

    @property
    def gold_dir(self) -> Path:
        """Daily segment and KPI partitions written by the polars stage (input to publish)."""
        return self.root / "gold"

    @property
    def work_db(self) -> Path:
        return self.root / "work" / "transform.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.root / "serving" / "segments.duckdb"

    @property
    def uses_development_key(self) -> bool:
        return self.pseudonymisation_key is None

    def pseudonymisation_key_bytes(self) -> bytes:
        if self.pseudonymisation_key is None:
            return DEVELOPMENT_ONLY_KEY.encode()
        return self.pseudonymisation_key.get_secret_value().encode()

    def dbt_vars(self, min_date: date, max_date: date) -> dict[str, Any]:
        """The dbt `--vars` for rebuilding the delivery days [min_date, max_date]."""
        return {
            "min_date": min_date.isoformat(),
            "max_date": max_date.isoformat(),
            "bronze_root": str(self.bronze_dir),
            "fx_rates_to_eur": self.transform.fx_rates_to_eur,
            "session_gap_minutes": self.transform.session_gap_minutes,
        }

    def dbt_env(self) -> dict[str, str]:
        """Environment the dbt profile reads (`profiles.yml` uses env_var for the DuckDB path)."""
        return {
            "SEGMENTS_WORK_DB": str(self.work_db),
            "SEGMENTS_DUCKDB_MEMORY_LIMIT": self.operations.duckdb_memory_limit,
        }


@cache
def get_settings() -> Settings:
    """Load once per process; tests call `get_settings.cache_clear()` after changing the environment."""
    return Settings()
