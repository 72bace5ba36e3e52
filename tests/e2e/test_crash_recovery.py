"""SIGKILL the real pipeline process inside each stage; rerunning converges to an uninterrupted run.

Start: the fixture's days 1-2 run and published (a previous good publish). Then day 3 is run as
its own process, `python -m orchestration.run_window`, exactly as `make run` starts it, on one data
dir and Dagster home, and killed with SIGKILL (its whole process group: dbt runs as a child process
and dies with it) inside extract; rerun and killed inside dbt; rerun and killed inside the segment
step; rerun and killed inside publish; rerun to the end. Each rerun after a crash therefore has to
get past the point where the previous run died, and the last one has to clean up after four.

1. At every kill, while the process is frozen mid-step (SIGSTOP just before the SIGKILL), a reader
   opening the serving file sees a complete publish: the previous one, byte for byte, consistent
   with its publish_log. It is still that file after the kill.
2. Every rerun, on the same data dir and Dagster home, gets going: the killed run is marked failed
   and its `duckdb_writer` concurrency slot released (before `release_dead_runs` in run_window, the
   slot was held forever and every later run hung at dbt), and the `.building` file left by the
   killed publish does not get in the way: the next publish removes it.
3. At the end every published table, the audience CSVs and the work DB's segment history equal
   those of an uninterrupted run of the same days on a fresh copy (`reference`); publish_log holds
   the same publishes: the killed publish never became visible.

One chained test rather than one test per stage: each crash is still followed by a rerun that must
recover from it, and the whole module costs 4 killed runs + 1 rerun + 1 reference run (~2 minutes
on 2 idle cores) instead of 4 x (killed run + rerun).

Where the kill lands is observed, not injected. The test polls the run's event log (the instance
in DAGSTER_HOME, as the UI reads it) or the serving directory for the `.building` file, freezes the
group the moment the wanted progress shows, and reads the event log again after the kill to check
that the target step had started and not finished. Steps on the fixture are short (extract,
segments and publish 0.1-0.3 s; dbt ~7 s), so on a loaded machine the freeze can come too late; that
kill still leaves a crashed run (checked to have left a whole publish), and another run is started
and killed at the same point, at most `ATTEMPTS` times, then the test fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test  # a run in any status, as Dagster's tests make

from orchestration.run_window import HOST_TAG, PID_TAG, release_dead_runs
from tests.e2e.landing_fixture import DAYS
from tests.e2e.pipeline_process import (
    Crash,
    StepLog,
    Workspace,
    assert_same_frames,
    audience_files,
    building_file_appears,
    kill_when,
    open_instance,
    published_tables,
    run_to_completion,
    work_segment_state,
)
from tests.readers import observe_duckdb

ATTEMPTS = 3
EXTRACT_STEPS = ("raw_customers", "raw_events", "raw_orders")
DAY = DAYS[2]


@dataclass(frozen=True)
class KillPoint:
    trigger: Callable[[Workspace], Callable[[StepLog], bool]]
    landed: Callable[[Crash, Workspace], bool]  # was the kill really inside the target step?


def _second_extract_started(steps: StepLog) -> bool:
    """One extract source already written for the day, another one being read: a half-done extract."""
    done = [s for s in EXTRACT_STEPS if steps.has("STEP_SUCCESS", s)]
    return bool(done) and any(steps.started(s) for s in EXTRACT_STEPS if s not in done)


KILL_POINTS = {
    "extract": KillPoint(
        trigger=lambda _ws: _second_extract_started,
        landed=lambda crash, _ws: (
            any(crash.steps.running(s) for s in EXTRACT_STEPS) and not crash.steps.started("behaviour_models")
        ),
    ),
    # After dbt committed its first models (a materialization was reported) and before it finished.
    "dbt": KillPoint(
        trigger=lambda _ws: lambda steps: steps.has("ASSET_MATERIALIZATION", "behaviour_models"),
        landed=lambda crash, _ws: crash.steps.running("behaviour_models"),
    ),
    "segments": KillPoint(
        trigger=lambda _ws: lambda steps: steps.started("segment_history"),
        landed=lambda crash, _ws: crash.steps.running("segment_history"),
    ),
    # The new serving file is being written; still there after the kill = killed before os.replace.
    "publish": KillPoint(
        trigger=building_file_appears,
        landed=lambda crash, ws: crash.steps.running("serving_warehouse") and bool(ws.building_files()),
    ),
}


def test_release_dead_runs_frees_only_runs_whose_process_is_gone() -> None:
    """The unit under the rerun: a dead run of this host is failed and its slot freed; others stay."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid, host = gone.stdout.decode().strip(), socket.gethostname()
    tags = {
        "dead": {HOST_TAG: host, PID_TAG: dead_pid},
        "alive": {HOST_TAG: host, PID_TAG: str(os.getpid())},
        "elsewhere": {HOST_TAG: "another-host", PID_TAG: dead_pid},
        "untagged": {},
    }
    started = dg.DagsterRunStatus.STARTED
    with dg.instance_for_test() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb_writer", 1)
        runs = {name: create_run_for_test(instance, status=started, tags=t) for name, t in tags.items()}
        dead = runs["dead"].run_id
        assert storage.claim_concurrency_slot("duckdb_writer", dead, "behaviour_models").is_claimed

        assert release_dead_runs(instance) == [dead]

        status = {name: instance.get_run_by_id(run.run_id).status for name, run in runs.items()}  # type: ignore[union-attr]
        assert status == {name: dg.DagsterRunStatus.FAILURE if name == "dead" else started for name in tags}
        assert storage.get_concurrency_info("duckdb_writer").active_run_ids == set()
        assert release_dead_runs(instance) == []


@pytest.fixture(scope="module")
def reference(published_two_days: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Day 3 run without interruption on a copy of the same published days 1-2."""
    workspace = published_two_days.copy_to(tmp_path_factory.mktemp("reference") / "ws")
    run_to_completion(workspace, DAY, DAY, "reference")
    return workspace


def _crash(stage: str, workspace: Workspace) -> list[Crash]:
    """Kill a day-3 run inside `stage`; kill another one when the kill landed elsewhere."""
    point, crashes = KILL_POINTS[stage], []
    for attempt in range(1, ATTEMPTS + 1):
        serving_before = workspace.serving_db.read_bytes()
        leftovers_before = workspace.building_files()

        def look_while_frozen(before: bytes = serving_before) -> tuple[bool, list[str]]:
            return (
                workspace.serving_db.read_bytes() == before,
                observe_duckdb(str(workspace.serving_db)).problems(),
            )

        trigger = point.trigger(workspace)
        crash = kill_when(workspace, DAY, DAY, f"{stage}-{attempt}", trigger, look_while_frozen)
        crashes.append(crash)
        unchanged_while_frozen, problems_while_frozen = crash.frozen_observation  # type: ignore[misc]
        assert problems_while_frozen == [], (stage, problems_while_frozen)
        assert observe_duckdb(str(workspace.serving_db)).problems() == []
        if point.landed(crash, workspace):
            assert unchanged_while_frozen, f"{stage}: the serving file changed before publish"
            assert workspace.serving_db.read_bytes() == serving_before
            new_leftovers = set(workspace.building_files()) - set(leftovers_before)
            assert len(new_leftovers) == (stage == "publish"), new_leftovers
            return crashes
    events = [c.steps.events[-4:] for c in crashes]
    raise AssertionError(f"{stage}: {ATTEMPTS} kills all landed outside the step; last events {events}")


@pytest.mark.e2e
def test_sigkill_in_every_stage_then_rerun_converges(
    published_two_days: Workspace, reference: Workspace, tmp_path: Path
) -> None:
    workspace = published_two_days.copy_to(tmp_path / "ws")
    crashes = [crash for stage in KILL_POINTS for crash in _crash(stage, workspace)]
    final_log = run_to_completion(workspace, DAY, DAY, "rerun")
    assert workspace.building_files() == []  # the killed publish's build file was cleaned up

    # 2. Each run found the one killed before it dead, failed it and freed its slots.
    later_logs = [c.log.read_text(errors="replace") for c in crashes[1:]] + [final_log]
    for crash, later in zip(crashes, later_logs, strict=True):
        assert f"run {crash.run_id} died unfinished" in later, crash.run_id
    with open_instance(workspace) as instance:
        for crash in crashes:
            assert instance.get_run_by_id(crash.run_id).status.value == "FAILURE"  # type: ignore[union-attr]
        storage = instance.event_log_storage
        held = {k: storage.get_concurrency_info(k).active_run_ids for k in storage.get_concurrency_keys()}
        assert all(not run_ids for run_ids in held.values()), held

    # 3. Exactly the output of the uninterrupted run.
    assert_same_frames(
        published_tables(workspace.serving_db, workspace.data_dir),
        published_tables(reference.serving_db, reference.data_dir),
    )
    assert_same_frames(work_segment_state(workspace.work_db), work_segment_state(reference.work_db))
    assert audience_files(workspace.serving_db) == audience_files(reference.serving_db)
    assert observe_duckdb(str(workspace.serving_db)).problems() == []
