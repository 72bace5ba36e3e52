"""The real pipeline as a separate process, in a private data dir and Dagster home, watched from outside.

`python -m orchestration.run_window` is started exactly as an operator would (`make run`), with
SEGMENTS_DATA_DIR and DAGSTER_HOME pointing into a temporary workspace. Progress is observed the way
the Dagster UI observes it, through the instance's event log (`DagsterInstance.from_config` on the
same DAGSTER_HOME), or through files the step writes. Nothing in production code knows about tests.

Every wait is bounded: a run that does not finish in time has its whole process group (dbt runs as
a child process) killed, and the test fails with the tail of its log.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from assets.publish.tables import PUBLISH_LOG, PUBLISHED_TABLES
from tests.e2e.landing_fixture import write_landing

REPO_ROOT = Path(__file__).resolve().parents[2]
# A 3-day run of the fixture takes ~20 s on 2 idle cores (7 s of it process start-up); others share them.
RUN_TIMEOUT_S = 240.0
# Fast enough to freeze a 0.1 s step inside itself, slow enough not to steal the run's CPU.
POLL_S = 0.005
RUN_APPEARS_POLL_S = 0.05  # process start-up takes seconds
TERMINAL_STEP_EVENTS = frozenset({"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"})
# Columns of publish_log that differ between any two publishes of the same data.
PUBLISH_LOG_VOLATILE = ("publish_id", "published_at", "run_id")


@dataclass(frozen=True)
class Workspace:
    """One installation: landing, bronze, work DB, gold, serving file, and its own Dagster instance."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def serving_db(self) -> Path:
        return self.data_dir / "serving" / "segments.duckdb"

    @property
    def work_db(self) -> Path:
        return self.data_dir / "work" / "transform.duckdb"

    def building_files(self) -> list[Path]:
        """Serving files under construction (`.segments.duckdb.<publish id>.building`)."""
        return sorted(self.serving_db.parent.glob(f".{self.serving_db.name}.*.building"))

    def env(self) -> dict[str, str]:
        # The caller's SEGMENTS_* / WAREHOUSE_URL must not leak in: defaults, DuckDB publishing only.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTS_") and k != "WAREHOUSE_URL"}
        return env | {"SEGMENTS_DATA_DIR": str(self.data_dir), "DAGSTER_HOME": str(self.dagster_home)}

    def copy_to(self, root: Path) -> Workspace:
        """A private copy (the `audiences` symlink is relative, so it stays valid)."""
        shutil.copytree(self.root, root, symlinks=True)
        return Workspace(root)


def new_workspace(root: Path) -> Workspace:
    workspace = Workspace(root)
    workspace.dagster_home.mkdir(parents=True)
    workspace.logs.mkdir()
    shutil.copy(REPO_ROOT / "config" / "dagster.yaml", workspace.dagster_home / "dagster.yaml")
    write_landing(workspace.data_dir / "landing")
    return workspace


@dataclass
class RunProcess:
    """`run_window` in its own session, so the whole group (with dbt) can be stopped and killed."""

    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session: the child leads its own process group

    def signal_group(self, sig: signal.Signals) -> None:
        with suppress(ProcessLookupError):  # already gone
            os.killpg(self.pgid, sig)

    def kill(self) -> None:
        """SIGKILL the group and wait until no process of it is left (dbt included)."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise AssertionError(f"process group {self.pgid} still alive 10 s after SIGKILL")

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            message = f"run did not finish in {timeout:.0f} s; killed. Log:\n{self.tail()}"
            raise AssertionError(message) from exc

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.is_file() else ""


def start_run(workspace: Workspace, start: date, end: date, name: str) -> RunProcess:
    workspace.logs.mkdir(exist_ok=True)
    log = workspace.logs / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "orchestration.run_window", "--start", str(start), "--end", str(end)],
            cwd=REPO_ROOT,
            env=workspace.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return RunProcess(popen, log)


def run_to_completion(workspace: Workspace, start: date, end: date, name: str) -> str:
    """Run [start, end] as one run; fail the test (with the log) unless it succeeds."""
    run = start_run(workspace, start, end, name)
    code = run.wait()
    assert code == 0, f"{name}: run_window exited with {code}. Log tail:\n{run.tail()}"
    return run.log.read_text(errors="replace")


@contextmanager
def open_instance(workspace: Workspace) -> Iterator[dg.DagsterInstance]:
    """The workspace's Dagster instance, as the UI would open it (SQLite storage in DAGSTER_HOME)."""
    instance = dg.DagsterInstance.from_config(str(workspace.dagster_home))
    try:
        yield instance
    finally:
        instance.dispose()


@dataclass
class StepLog:
    """(event type, step key) of a run, in order, read from the instance's event log."""

    events: list[tuple[str, str | None]] = field(default_factory=list)

    def has(self, event_type: str, step: str) -> bool:
        return (event_type, step) in self.events

    def started(self, step: str) -> bool:
        return self.has("STEP_START", step)

    def finished(self, step: str) -> bool:
        return any(self.has(kind, step) for kind in TERMINAL_STEP_EVENTS)

    def running(self, step: str) -> bool:
        return self.started(step) and not self.finished(step)


class StepWatcher:
    """Reads a run's event log incrementally (by cursor), so polling stays cheap as the log grows."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str) -> None:
        self.instance, self.run_id = instance, run_id
        self.cursor: str | None = None
        self.log = StepLog()

    def poll(self) -> StepLog:
        while True:
            page = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, limit=1000)
            for record in page.records:
                event = record.event_log_entry.dagster_event
                if event is not None:
                    self.log.events.append((event.event_type_value, event.step_key))
            self.cursor = page.cursor
            if not page.has_more:
                return self.log


def step_log(instance: dg.DagsterInstance, run_id: str) -> StepLog:
    return StepWatcher(instance, run_id).poll()


def runs_of(instance: dg.DagsterInstance) -> set[str]:
    return {run.run_id for run in instance.get_runs()}


@dataclass(frozen=True)
class Crash:
    """What a SIGKILL interrupted: the run, the events it had written, the serving file while frozen."""

    run_id: str
    steps: StepLog
    frozen_observation: object
    log: Path


def kill_when(
    workspace: Workspace,
    start: date,
    end: date,
    name: str,
    trigger: Callable[[StepLog], bool],
    while_frozen: Callable[[], object] = lambda: None,
    timeout: float = RUN_TIMEOUT_S,
) -> Crash:
    """Start a run, SIGSTOP its process group as soon as `trigger` sees the wanted progress, call
    `while_frozen` (a reader looking at the serving file mid-step), then SIGKILL the group.

    `trigger` gets the run's step events so far; a trigger on files can ignore them. The step log
    returned is read after the kill, so the test can check where the kill really landed.
    """
    with open_instance(workspace) as instance:
        before = runs_of(instance)
        run = start_run(workspace, start, end, name)
        deadline = time.monotonic() + timeout
        run_id: str | None = None
        watcher: StepWatcher | None = None
        try:
            while True:
                assert time.monotonic() < deadline, f"{name}: trigger never fired. Log tail:\n{run.tail()}"
                assert run.popen.poll() is None, f"{name}: run ended before the trigger. Log:\n{run.tail()}"
                if watcher is None:
                    run_id = next(iter(runs_of(instance) - before), None)
                    if run_id is None:
                        time.sleep(RUN_APPEARS_POLL_S)
                        continue
                    watcher = StepWatcher(instance, run_id)
                if trigger(watcher.poll()):
                    run.signal_group(signal.SIGSTOP)
                    break
                time.sleep(POLL_S)
            observation = while_frozen()
        finally:
            run.kill()
        assert run_id is not None
        return Crash(run_id, step_log(instance, run_id), observation, run.log)


def building_file_appears(workspace: Workspace) -> Callable[[StepLog], bool]:
    """Publish has opened its new serving file (`.building`) and is writing it."""
    return lambda _steps: bool(workspace.building_files())


# --- what BI sees --------------------------------------------------------------------------------


def published_tables(serving_db: Path, data_dir: Path | None = None) -> dict[str, pl.DataFrame]:
    """Every published table, sorted; publish_log without what differs between two publishes of the
    same days (so two publishes of the same run range and data are one row). With `data_dir`, paths
    under it (data_quality_log.source_file) read `<data_dir>/...`, so two workspaces compare."""
    frames = {}
    with duckdb.connect(str(serving_db), read_only=True) as conn:
        for table in PUBLISHED_TABLES:
            columns = "*"
            if table is PUBLISH_LOG:
                columns = f"distinct * exclude ({', '.join(PUBLISH_LOG_VOLATILE)})"
            arrow = conn.sql(f"select {columns} from {table.name} order by all").to_arrow_table()
            frame = pl.from_arrow(arrow)
            assert isinstance(frame, pl.DataFrame)
            if data_dir is not None:
                frame = frame.with_columns(
                    pl.col(pl.String).str.replace_all(str(data_dir), "<data_dir>", literal=True)
                )
            frames[table.name] = frame
    return frames


def work_segment_state(work_db: Path) -> dict[str, pl.DataFrame]:
    """The canonical history the segment stage keeps (and publish copies) in the work DB."""
    with duckdb.connect(str(work_db), read_only=True) as conn:
        return {
            table: pl.from_arrow(conn.sql(f"select * from {table} order by all").to_arrow_table())
            for table in ("segment_history", "segment_days_processed")
        }


def audience_files(serving_db: Path) -> dict[str, str]:
    link = serving_db.parent / "audiences"
    return {str(p.relative_to(link)): p.read_text() for p in sorted(link.rglob("*.csv"))}


def assert_same_frames(actual: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    assert actual.keys() == expected.keys()
    for name, frame in expected.items():
        assert actual[name].equals(frame), f"{name} differs:\n{actual[name]}\nexpected:\n{frame}"
