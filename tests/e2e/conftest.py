"""Workspaces shared by the e2e modules: built once per session by the real `run_window` process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.landing_fixture import DAYS
from tests.e2e.pipeline_process import Workspace, new_workspace, run_to_completion


@pytest.fixture(scope="session")
def published_two_days(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Workspace:
    """Fixture landing (3 days) with days 1-2 run and published: "a previous good publish".

    Tests copy it (`Workspace.copy_to`) and never change it.
    """
    workspace = new_workspace(tmp_path_factory.mktemp("published_two_days") / "ws")
    run_to_completion(workspace, DAYS[0], DAYS[1], "base")
    assert workspace.serving_db.is_file()
    return workspace
