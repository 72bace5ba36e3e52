"""Asset code by stage: extract → transform (dbt) → segments → kpis → publish."""
