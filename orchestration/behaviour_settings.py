"""Typed config of the behavioural segment families (section `[behaviour]` of the pipeline config).

Validation happens at load and names the key: thresholds must be ordered without gaps or
overlaps, shares must lie in [0, 1], lifecycle windows must increase, and every segment a family
can emit needs a recommended action (an action for a segment no family emits is a typo).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UsageSettings(_Section):
    """Orders in the purchase window: heavy ≥ heavy_min, medium ≥ medium_min, light ≥ 1, else non_user."""

    heavy_min_orders: int
    medium_min_orders: int

    @model_validator(mode="after")
    def _ordered(self) -> UsageSettings:
        if not 1 < self.medium_min_orders < self.heavy_min_orders:
            raise ValueError("behaviour.usage: need 1 < medium_min_orders < heavy_min_orders")
        return self


class LifecycleSettings(_Section):
    active_days: int = Field(gt=0)
    dormant_after_days: int = Field(gt=0)
    churn_after_days: int = Field(gt=0)
    resurrected_min_gap_days: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleSettings:
        if not self.active_days < self.dormant_after_days < self.churn_after_days:
            raise ValueError("behaviour.lifecycle: need active_days < dormant_after_days < churn_after_days")
        return self


class EngagementLevel(_Section):
    name: str
    min_score: float = Field(gt=0)


class EngagementSettings(_Section):
    weights: dict[str, float]
    levels: list[EngagementLevel]
    below_levels: str

    @model_validator(mode="after")
    def _ordered(self) -> EngagementSettings:
        scores = [level.min_score for level in self.levels]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise ValueError(
                "behaviour.engagement.levels: min_score must strictly decrease from level to level"
            )
        return self


class LoyaltySettings(_Section):
    loyal_min_orders: int = Field(ge=2)
    loyal_min_tenure_days: int = Field(ge=0)


class OccasionSettings(_Section):
    holiday_min_share: float = Field(ge=0, le=1)
    birthday_min_share: float = Field(ge=0, le=1)
    seasonal_min_share: float = Field(ge=0, le=1)
    min_orders: int = Field(ge=1)


class AffinitySettings(_Section):
    min_share: float = Field(gt=0, le=1)
    min_orders: int = Field(ge=1)


class PriceSettings(_Section):
    discount_driven_min_share: float = Field(ge=0, le=1)
    price_aware_min_share: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> PriceSettings:
        if not self.price_aware_min_share < self.discount_driven_min_share:
            raise ValueError("behaviour.price: need price_aware_min_share < discount_driven_min_share")
        return self


class BrowsingSettings(_Section):
    window_shopper_min_views: int = Field(ge=1)
    cart_abandoner_min_carts: int = Field(ge=1)
    cart_abandoner_min_share: float = Field(ge=0, le=1)


class BehaviourSettings(_Section):
    engagement_window_days: int = Field(gt=0)
    holiday_season: tuple[str, str]  # "MM-DD", inclusive; may wrap over the new year
    birthday_window_days: int = Field(ge=0)
    cart_horizon_hours: int = Field(gt=0)
    usage: UsageSettings
    lifecycle: LifecycleSettings
    engagement: EngagementSettings
    loyalty: LoyaltySettings
    occasion: OccasionSettings
    affinity: AffinitySettings
    price: PriceSettings
    browsing: BrowsingSettings
    actions: dict[str, dict[str, str]]

    @model_validator(mode="after")
    def _season_dates(self) -> BehaviourSettings:
        for value in self.holiday_season:
            month, _, day = value.partition("-")
            if not (month.isdigit() and day.isdigit() and 1 <= int(month) <= 12 and 1 <= int(day) <= 31):
                raise ValueError(f"behaviour.holiday_season: '{value}' is not MM-DD")
        return self

    def month_day(self, index: int) -> tuple[int, int]:
        month, day = self.holiday_season[index].split("-")
        return int(month), int(day)
