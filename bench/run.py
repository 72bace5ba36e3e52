"""`python -m bench.run --size S|M|L`: generate (once), backfill, daily run, stage alone, references, compare.

Phases, each in its own subprocess so wall time and peak RSS are its own (bench/measure.py):

1. generate   the sample of the size with `sample_data`, cached under DATA_DIR/landing (a marker
              file records size, start and the generator's summary; reruns reuse it). The window
              ends yesterday, because daily partitions exist only up to yesterday.
2. full_backfill   every day but the last, ONE run (orchestration.run_window.run_range), from an
              empty pipeline state (bronze, work DB, gold, serving and the Dagster instance of
              DATA_DIR are removed first; landing is kept).
3. daily_incremental   the last day alone, with the whole history before it in place (the lifetime
              state it starts from is saved first, for phase 4).
4. single_day  for D = the last day: the pipeline's polars RFM + lifecycle + KPIs for D as its daily
              run computes them (from the saved lifetime state) and from every order, the pandas
              and the DuckDB SQL references, each timed over --repeat runs (best run counts), plus
              what the pipeline stored for D; then bench.compare checks that all agree.
5. segment_kpi_stage   the Dagster job restricted to `segment_history` + `segment_kpis` (their
              checks included) rerunning the backfill's range on the work DB the runs built. It
              comes last because it rewrites the whole history without publishing it: a daily run
              after it would republish everything.

With `--stage-window N`, phase 2 is two runs instead of one, so that every stage meets the size's
two-year volumes in a fraction of a full backfill's time (at L the full backfill takes longer than a
working session): `upstream_backfill` runs extract and dbt over every day but the last, then
`downstream_backfill` the segment, KPI, CLV and publish stages over the N days before the last.
The full-backfill targets are not judged on such a run.

Writes bench/results/<size>-<timestamp>.json and refreshes the table in docs/performance.md.
Exit status 1 when a phase failed or the implementations disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench.compare import compare_all, read_outputs, summary
from bench.measure import Measured, machine, run_measured
from bench.report import evaluate_targets, update_doc
from orchestration.settings import PROJECT_ROOT, get_settings

DAYS = {"S": 180, "M": 730, "L": 730}  # sample_data.generator.SIZES, without importing the generator
TIMEOUT_HOURS = {"S": 1.0, "M": 8.0, "L": 24.0}
MARKER = ".bench-sample.json"
# What a fresh backfill must not find; the landing zone and the generator's truth stay.
PIPELINE_STATE = (
    "bronze",
    "quarantine",
    "quality",
    "gold",
    "work",
    "serving",
    "dagster_home",
    "bench_outputs",
)
IMPLEMENTATIONS = ("stored", "pipeline", "pipeline_full_scan", "pandas", "duckdb")
LIFETIME_STATE = "lifetime_state_before_daily.parquet"
STAGE_ASSETS = "segment_history,segment_kpis"
# --stage-window: the stages that read the marts, and everything before them (Dagster selection syntax).
DOWNSTREAM = 'key:"segment_history"+ or key:"clv_customer"+'
UPSTREAM = f"not ({DOWNSTREAM})"


def code_version() -> dict[str, Any]:
    """Which commit was measured, and whether the working tree had uncommitted changes (read-only git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "uncommitted_changes": None}
    return {"commit": commit, "uncommitted_changes": bool(status.strip())}


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.size: str = args.size
        self.data = args.data_dir.resolve()
        self.logs = self.data / "bench_logs"
        self.outputs = self.data / "bench_outputs"
        self.timeout_s = 3600 * (args.timeout_hours or TIMEOUT_HOURS[self.size])
        self.repeat: int = args.repeat
        self.skip_stage: bool = args.skip_stage
        self.days: int = args.days or DAYS[self.size]
        self.stage_window: int | None = args.stage_window
        self.python = sys.executable
        self.result: dict[str, Any] = {
            "size": self.size,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "code": code_version(),
            "phases": {},
        }

    def measure(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Measured:
        print(f"[bench] {name}: {' '.join(command[2:])}", flush=True)
        measured = run_measured(
            command, env or self.env(), PROJECT_ROOT, self.logs / f"{name}.log", self.timeout_s
        )
        phase = measured.as_dict()
        del phase["command"]
        self.result["phases"][name] = phase
        # Kept beside the phase's log, so --resume-after-backfill can report a backfill it did not rerun.
        (self.logs / f"{name}.measured.json").write_text(json.dumps(phase, indent=2) + "\n")
        verdict = "ok" if measured.returncode == 0 else f"FAILED ({measured.returncode}), see {measured.log}"
        print(
            f"[bench] {name}: {measured.wall_s:.1f} s, peak RSS {measured.peak_tree_rss_mb:.0f} MB (tree), "
            f"{verdict}",
            flush=True,
        )
        return measured

    # -- data ---------------------------------------------------------------------------------
    def sample(self, skip_generate: bool) -> dict[str, Any]:
        marker = self.data / "landing" / MARKER
        if marker.exists():
            sample = json.loads(marker.read_text())
            if (sample["size"], sample["days"]) != (self.size, self.days):
                raise SystemExit(
                    f"{self.data} holds size {sample['size']} over {sample['days']} days, not {self.size} "
                    f"over {self.days}: use another --data-dir"
                )
            self.result["phases"]["generate"] = {"cached": True}
            return sample
        if skip_generate:
            raise SystemExit(f"no generated sample in {self.data / 'landing'} and --skip-generate was given")
        days = self.days
        start = date.today() - timedelta(days=days)  # the last day is yesterday
        shutil.rmtree(self.data / "landing", ignore_errors=True)
        summary_file = self.logs / "generate.summary.json"
        command = [
            self.python, "-m", "sample_data", "--size", self.size, "--start", start.isoformat(),
            "--out", str(self.data / "landing"), "--truth", str(self.data / "truth"), "--days", str(days),
        ]  # fmt: skip
        measured = self.measure("generate", command, dict(os.environ))
        if measured.returncode != 0:
            raise SystemExit(f"sample generation failed, see {measured.log}")
        # The generator prints its summary (JSON) on stdout, followed by a line on stderr.
        text = Path(measured.log).read_text()
        generated = json.loads(text[text.index("{") : text.rindex("}") + 1])
        summary_file.write_text(json.dumps(generated, indent=2))
        sample = {"size": self.size, "start": start.isoformat(), "days": days, "generator": generated}
        marker.write_text(json.dumps(sample, indent=2) + "\n")
        return sample

    def reset_pipeline_state(self) -> None:
        for name in PIPELINE_STATE:
            shutil.rmtree(self.data / name, ignore_errors=True)
        home = self.data / "dagster_home"
        home.mkdir(parents=True)
        shutil.copy(PROJECT_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SEGMENTS_DATA_DIR=str(self.data),
            SEGMENTS_PARTITIONS_START=self.start.isoformat(),
            DAGSTER_HOME=str(self.data / "dagster_home"),
        )
        return env

    # -- phases -------------------------------------------------------------------------------
    def dagster(self, name: str, first: date, last: date, assets: str = "", select: str = "") -> bool:
        result_file = self.logs / f"{name}.result.json"
        command = [
            self.python, "-m", "bench.dagster_phase", "--start", first.isoformat(), "--end", last.isoformat(),
            "--result", str(result_file),
        ]  # fmt: skip
        if assets:
            command += ["--assets", assets]
        if select:
            command += ["--select", select]
        measured = self.measure(name, command)
        phase = self.result["phases"][name]
        phase.update(first_day=first.isoformat(), last_day=last.isoformat(), days=(last - first).days + 1)
        if result_file.exists():
            phase["dagster"] = json.loads(result_file.read_text())
        return measured.returncode == 0

    def save_lifetime_state(self, through: date) -> bool:
        from bench.pipeline_day import save_lifetime_state

        self.outputs.mkdir(parents=True, exist_ok=True)
        work_db = get_settings().model_copy(update={"data_dir": self.data}).work_db
        with duckdb.connect(str(work_db), read_only=True) as conn:
            saved = save_lifetime_state(conn, self.outputs / LIFETIME_STATE)
        if saved != through:
            print(f"[bench] lifetime state ends {saved}, expected {through}", flush=True)
        return saved == through

    def single_day(self, as_of: date) -> bool:
        timings: dict[str, Any] = {}
        ok = True
        for impl in IMPLEMENTATIONS:
            result_file = self.logs / f"single_day.{impl}.json"
            command = [
                self.python, "-m", "bench.single_day", "--impl", impl, "--as-of", as_of.isoformat(),
                "--outputs", str(self.outputs), "--result", str(result_file), "--repeat", str(self.repeat),
            ]  # fmt: skip
            if impl == "pipeline":
                command += ["--lifetime-state", str(self.outputs / LIFETIME_STATE)]
            measured = self.measure(f"single_day_{impl}", command)
            phase = self.result["phases"].pop(f"single_day_{impl}")
            if measured.returncode != 0:
                ok = False
                timings[impl] = {"failed": True, **phase}
                continue
            timings[impl] = {**json.loads(result_file.read_text()), "process": phase}
        self.result["single_day"] = {"as_of": as_of.isoformat(), "implementations": timings}
        return ok

    def agreement(self) -> bool:
        answers = read_outputs(self.outputs, list(IMPLEMENTATIONS))
        comparisons = compare_all(answers)
        text = summary(comparisons)
        print(text, flush=True)
        ok = all(c.ok for c in comparisons)
        self.result["agreement"] = {
            "ok": ok,
            "customers": comparisons[0].segment_rows,
            "pairs": {
                f"{c.base} vs {c.other}": {
                    "segment_mismatches": c.segment_mismatches,
                    "kpi_mismatches": c.kpi_mismatches,
                }
                for c in comparisons
            },
            "summary": text[:20_000],
        }
        return ok

    def ratios(self) -> None:
        phases = self.result["phases"]
        impls = self.result.get("single_day", {}).get("implementations", {})
        ratios: dict[str, float] = {}

        def best(impl: str, key: str) -> float | None:
            return impls.get(impl, {}).get("best", {}).get(key)

        for impl in ("pipeline", "pipeline_full_scan"):
            name = "pipeline" + ("" if impl == "pipeline" else "_full_scan")
            for key in ("total", "compute"):
                pipeline, pandas, duck = best(impl, key), best("pandas", key), best("duckdb", key)
                suffix = "" if key == "total" else "_compute"
                if pipeline and pandas:
                    ratios[f"pandas_over_{name}{suffix}"] = round(pandas / pipeline, 3)
                if pipeline and duck and key == "total":
                    ratios[f"{name}_over_duckdb"] = round(pipeline / duck, 3)
        full, daily = phases.get("full_backfill", {}), phases.get("daily_incremental", {})
        if full.get("wall_s") and daily.get("wall_s"):
            ratios["daily_over_full"] = round(daily["wall_s"] / full["wall_s"], 4)
        if full.get("peak_tree_rss_mb"):
            ratios["full_backfill_peak_rss_gb"] = round(full["peak_tree_rss_mb"] / 1024, 2)
        split = [
            phases.get(name, {}).get("peak_tree_rss_mb")
            for name in ("upstream_backfill", "downstream_backfill")
        ]
        if any(split):
            ratios["stage_window_peak_rss_gb"] = round(max(mb for mb in split if mb) / 1024, 2)
        self.result["ratios"] = ratios
        self.result["targets"] = evaluate_targets(self.size, ratios, self.result.get("partial_window", False))

    def reuse_backfill(self, last: date) -> bool:
        """Report the backfill already in the data dir (its measurement and step timings) instead of
        running it again: for a bench whose later phases failed after a long backfill."""
        measured = self.logs / "full_backfill.measured.json"
        steps = self.logs / "full_backfill.result.json"
        if not (measured.exists() and steps.exists()):
            print(f"[bench] no finished backfill in {self.logs} to resume after", flush=True)
            return False
        phase = json.loads(measured.read_text())
        phase.update(first_day=self.start.isoformat(), last_day=last.isoformat(), resumed=True)
        phase["days"] = (last - self.start).days + 1
        phase["dagster"] = json.loads(steps.read_text())
        self.result["phases"]["full_backfill"] = phase
        print(f"[bench] full_backfill: reused ({phase['wall_s']:.1f} s when it ran)", flush=True)
        return phase.get("returncode") == 0

    def run(self, skip_generate: bool, resume_after_backfill: bool = False) -> int:
        sample = self.sample(skip_generate)
        self.start = date.fromisoformat(sample["start"])
        last = self.start + timedelta(days=sample["days"] - 1)
        generated = sample["generator"]
        self.result["partial_window"] = self.days < DAYS[self.size] or self.stage_window is not None
        if self.stage_window is not None:
            self.result["stage_window_days"] = self.stage_window
        self.result["data"] = {
            "data_dir": str(self.data),
            "first_day": self.start.isoformat(),
            "last_day": last.isoformat(),
            "days": sample["days"],
            **{key: generated[key] for key in ("customers", "order_rows", "event_rows", "customer_rows")},
        }
        before_last = last - timedelta(days=1)
        # The range the segment stage has history for: every backfilled day, or the stage window.
        stage_first = self.start
        if resume_after_backfill:
            ok = self.reuse_backfill(before_last)
        elif self.stage_window is not None:
            self.reset_pipeline_state()
            stage_first = max(self.start, before_last - timedelta(days=self.stage_window - 1))
            ok = self.dagster("upstream_backfill", self.start, before_last, select=UPSTREAM)
            ok = ok and self.dagster("downstream_backfill", stage_first, before_last, select=DOWNSTREAM)
        else:
            self.reset_pipeline_state()
            ok = self.dagster("full_backfill", self.start, before_last)
        ok = ok and self.save_lifetime_state(before_last) and self.dagster("daily_incremental", last, last)
        ok = ok and self.single_day(last) and self.agreement()
        # Last: its rewrite of the whole range is not published, so a daily run after it would pay
        # for republishing two years of history, which is not what a daily run costs.
        if ok and not self.skip_stage:
            ok = self.dagster("segment_kpi_stage", stage_first, before_last, STAGE_ASSETS)
        self.ratios()
        self.result["success"] = ok
        self.result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(DAYS), default="S")
    parser.add_argument("--data-dir", type=Path, help="default: data/bench/<size>")
    parser.add_argument("--skip-generate", action="store_true", help="fail instead of generating the sample")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per single-day implementation (best counts)"
    )
    parser.add_argument(
        "--days",
        type=int,
        help="a shorter window than the size's two years (its own --data-dir); targets are not judged on it",
    )
    parser.add_argument(
        "--skip-stage", action="store_true", help="do not time the segment + KPI stage alone (phase 5)"
    )
    parser.add_argument(
        "--stage-window",
        type=int,
        metavar="N",
        help="backfill extract and dbt over the whole window, then the later stages over the last N days "
        "(two runs; the full-backfill targets are not judged)",
    )
    parser.add_argument(
        "--resume-after-backfill",
        action="store_true",
        help="keep the data dir's finished full backfill and run only the phases after it",
    )
    parser.add_argument("--timeout-hours", type=float, help="per phase (default: 1 for S, 8 for M, 24 for L)")
    parser.add_argument("--results-dir", type=Path, default=PROJECT_ROOT / "bench" / "results")
    parser.add_argument("--doc", type=Path, default=PROJECT_ROOT / "docs" / "performance.md")
    parser.add_argument("--no-doc", action="store_true", help="do not refresh the table in --doc")
    args = parser.parse_args(argv)
    window = f"-{args.days}d" if args.days else ""
    args.data_dir = args.data_dir or PROJECT_ROOT / "data" / "bench" / f"{args.size}{window}"
    manifest = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"
    if not manifest.exists():
        print(f"{manifest} is missing: run `make manifest` first", file=sys.stderr)
        return 2
    bench = Bench(args)
    status = bench.run(args.skip_generate, args.resume_after_backfill)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result_file = args.results_dir / f"{args.size}-{stamp}.json"
    result_file.write_text(json.dumps(bench.result, indent=2) + "\n")
    print(f"[bench] results: {result_file}")
    if not args.no_doc:
        update_doc(args.doc, args.results_dir)
        print(f"[bench] table refreshed in {args.doc}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
