"""`python -m orchestration.prepare`: parse the dbt project so Definitions can load its manifest."""

from __future__ import annotations

from assets.transform.project import DBT_PROJECT_DIR, dbt_cli, dbt_environment
from orchestration.settings import get_settings


def main() -> int:
    settings = get_settings()
    settings.work_db.parent.mkdir(parents=True, exist_ok=True)
    with dbt_environment(settings):
        dbt_cli().cli(["parse"], target_path=DBT_PROJECT_DIR / "target").wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
