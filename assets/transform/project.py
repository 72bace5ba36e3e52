"""The dbt project handle and the pure functions that build dbt command lines (unit-tested)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from orchestration.settings import PROJECT_ROOT, Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The dbt installed beside this interpreter, so nothing depends on the virtualenv being activated.
DBT_EXECUTABLE = (
    str(Path(sys.executable).with_name("dbt"))
    if Path(sys.executable).with_name("dbt").exists()
    else (shutil.which("dbt") or "dbt")
)


@cache
def dbt_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    project.prepare_if_dev()
    return project


def dbt_cli() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project(), dbt_executable=DBT_EXECUTABLE)


def dbt_build_args(settings: Settings, min_date: date, max_date: date) -> list[str]:
    """`dbt build` for the delivery days [min_date, max_date]: models, then their tests, in DAG order.

    `build` (not `run` + `test`) makes a failing test skip everything downstream of it inside dbt;
    Dagster then sees the failed checks and blocks the Python stages too. dbt unit tests (fixed
    input rows) only run when `transform.run_dbt_unit_tests` is on, as in the e2e tests.
    """
    if min_date > max_date:
        raise ValueError(f"empty date window: {min_date} > {max_date}")
    args = ["build", "--vars", json.dumps(settings.dbt_vars(min_date, max_date), sort_keys=True)]
    if not settings.transform.run_dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


@contextmanager
def dbt_environment(settings: Settings) -> Iterator[None]:
    """Expose the settings the dbt profile reads (profiles.yml uses env_var) for one invocation.

    dagster-dbt hands the process environment to the dbt subprocess, so this is how the one
    config reaches dbt without a second source of truth.
    """
    previous = {name: os.environ.get(name) for name in settings.dbt_env()}
    os.environ.update(settings.dbt_env())
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
