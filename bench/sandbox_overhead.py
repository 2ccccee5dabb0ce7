"""What strict isolation (bubblewrap) costs: job start-up in ms, and training step time.

Three measurements, each alternating strict and soft so that a busy machine hurts both alike:

1. ``bwrap`` alone: the sandbox the harness builds for a job, running ``python -c pass``,
   against the same interpreter started directly (the pure start-up cost of the namespaces
   and mounts);
2. a whole ``validate`` job of team2 through :func:`harness.sandbox.runner.run_child`
   (import torch, import the team, build and check the nets), strict against soft;
3. training images/s of team2 over ``--steps`` steps (the median after warm-up), strict
   against soft: the sandbox should cost nothing once the job runs.

Run by hand; write the figures into bench/README.md.

    python bench/sandbox_overhead.py --data ../shared/facemask [--repeats 20] [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.paths import data_root
from harness.sandbox import environment
from harness.sandbox.bwrap import JobAccess, bwrap_argv, host_layout
from harness.sandbox.isolation import probe_bwrap
from harness.sandbox.runner import run_child
from harness.training.train import train_team

TEAM = Path(__file__).resolve().parent.parent / "submissions" / "team2"
MODES = ("strict", "soft")


def _harness_parent() -> Path:
    import harness

    return Path(harness.__file__).resolve().parent.parent


def bare_startup_ms(repeats: int) -> dict[str, float]:
    """Median ms of ``python -c pass`` inside the job sandbox and outside it."""
    probe = probe_bwrap()
    if not probe.works or probe.path is None:
        raise SystemExit(f"strict isolation unavailable: {probe.problem}")
    host = host_layout(extra=[str(_harness_parent() / "harness")])
    inside = bwrap_argv(
        [sys.executable, "-c", "pass"], access=JobAccess(), host=host, bwrap=probe.path
    )
    commands = {"strict": inside, "soft": [sys.executable, "-c", "pass"]}
    env = {"strict": environment.strict_env(_harness_parent()), "soft": environment.soft_env()}
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(repeats):
        for mode in MODES:
            started = time.perf_counter()
            subprocess.run(commands[mode], env=env[mode], check=True)
            times[mode].append((time.perf_counter() - started) * 1000)
    return {m: round(statistics.median(t), 1) for m, t in times.items()}


def validate_job_s(repeats: int) -> dict[str, float]:
    """Median seconds of a whole validate job of team2 under each isolation."""
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(repeats):
        for mode in MODES:
            os.environ["HARNESS_ISOLATION"] = mode
            started = time.perf_counter()
            run_child("validate", {"team_dir": str(TEAM)}, label="team2")
            times[mode].append(time.perf_counter() - started)
    return {m: round(statistics.median(t), 2) for m, t in times.items()}


def training_images_per_s(root: Path, steps: int, batch_size: int, rounds: int) -> dict[str, float]:
    """Median training images/s of team2 after warm-up, under each isolation, over rounds."""
    steady: dict[str, list[float]] = {m: [] for m in MODES}
    for mode in [m for _ in range(rounds) for m in MODES]:
        os.environ["HARNESS_ISOLATION"] = mode
        with tempfile.TemporaryDirectory() as tmp:
            result = train_team(
                TEAM,
                data_root=root,
                runs_root=Path(tmp),
                overrides={
                    "max_steps": steps,
                    "epochs": 1000,
                    "batch_size": batch_size,
                    "checkpoint_every": 1000,
                },
                image_size=64,
            )
            lines = (Path(result["run_dir"]) / "metrics.jsonl").read_text().splitlines()
        records = [r for r in map(json.loads, lines) if r["kind"] == "step"]
        steady[mode] += [r["img_per_s"] for r in records[len(records) // 3 :]]
    return {m: round(statistics.median(v), 1) for m, v in steady.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--validate-repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    report: dict[str, object] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "load_average_at_start": os.getloadavg()[0],
        "bwrap": probe_bwrap().version,
    }
    parts = (
        ("bare_python_startup_ms_median", lambda: bare_startup_ms(args.repeats)),
        ("validate_job_s_median", lambda: validate_job_s(args.validate_repeats)),
        (
            "train_images_per_s_median",
            lambda: training_images_per_s(
                data_root(args.data), args.steps, args.batch_size, args.rounds
            ),
        ),
    )
    for name, measure in parts:
        report[name] = measure()
        print(json.dumps({name: report[name]}), file=sys.stderr, flush=True)
    report["load_average_at_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
