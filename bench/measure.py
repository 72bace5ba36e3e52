"""Run one benchmark phase in a subprocess: wall time, peak RSS, a hard timeout; and the machine.

Peak memory is reported two ways, because the pipeline starts subprocesses (dbt):
- `peak_rss_mb`: `ru_maxrss` from `wait4` on the phase's process — the largest single process of
  the tree (the kernel keeps the maximum over waited-for descendants, never a sum);
- `peak_tree_rss_mb`: the sum of RSS over the process and all its descendants, sampled from /proc
  every `SAMPLE_SECONDS` (can miss a spike shorter than that). Targets use this one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.2
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


@dataclass
class Measured:
    command: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    timed_out: bool
    log: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        # The command name (field 2) may contain spaces and parentheses; fields after it do not.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_bytes(root: int) -> int:
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        # A process may end between listing and reading it.
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
        stack.extend(tree.get(pid, []))
    return total


def run_measured(command: list[str], env: dict[str, str], cwd: Path, log: Path, timeout_s: float) -> Measured:
    """Run `command` to completion (or kill its process group after `timeout_s`), logging to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak = [0]
    timed_out = threading.Event()
    finished = threading.Event()
    began = time.perf_counter()
    with log.open("w") as out:
        # A new session gives the phase its own process group, so a timeout kills dbt too.
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

        def sample() -> None:
            while not finished.wait(SAMPLE_SECONDS):
                peak[0] = max(peak[0], tree_rss_bytes(process.pid))
                if time.perf_counter() - began > timeout_s and not timed_out.is_set():
                    timed_out.set()
                    os.killpg(process.pid, signal.SIGKILL)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4 (not Popen.wait) returns the child's own resource usage, so phases never mix.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
        finished.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        command=command,
        returncode=process.returncode,
        wall_s=round(wall, 3),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
        peak_tree_rss_mb=round(max(peak[0], usage.ru_maxrss * 1024) / MB, 1),
        timed_out=timed_out.is_set(),
        log=str(log),
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """What the numbers were measured on; the load average says whether the machine was shared."""
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": _memory_gib(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in ("polars", "duckdb", "pandas", "dagster", "dbt-core", "dbt-duckdb", "pyarrow")
        },
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.measure --log F --result F.json -- command ...`: one phase outside bench.run,
    measured the same way (for runs that bench.run does not chain, such as a window's stages one by one)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--log", type=Path, required=True, help="the command's stdout and stderr")
    parser.add_argument("--result", type=Path, required=True, help="wall time, peak RSS and the machine")
    parser.add_argument("--timeout-hours", type=float, default=24.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    measured = run_measured(command, dict(os.environ), Path.cwd(), args.log, 3600 * args.timeout_hours)
    args.result.write_text(json.dumps({**measured.as_dict(), "machine": machine()}, indent=2) + "\n")
    print(
        f"{measured.wall_s:.1f} s, peak RSS {measured.peak_tree_rss_mb:.0f} MB (tree), "
        f"exit {measured.returncode}",
        file=sys.stderr,
    )
    return measured.returncode


if __name__ == "__main__":
    raise SystemExit(main())
