"""``score`` (here): the returned checkpoints, scored on a board of their own.

Joins and checks the returned parts (:func:`gpuboard.returns.reassemble`), makes one folder
per team with its ``model.py`` from this tree and the returned ``checkpoint.pt`` (a checkpoint
submission), and runs ``harness score --all`` on them at N per class against the data here,
appending to ``leaderboard/gpu.csv``: the CPU board's ``results.csv`` is not touched. Every
row carries the checkpoint's ``train_device`` (the GPU) and whether it was trained on this
split (``checkpoint_data_matches``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

from gpuboard import REPO
from gpuboard.returns import reassemble
from harness.errors import HarnessError


def score(args: argparse.Namespace) -> int:
    work = args.work
    report = reassemble(args.returned, work / "checkpoints")
    if not report["complete"]:
        raise HarnessError("no team's checkpoint came back whole; run `collect` for the rest")
    if report["missing"]:
        print(
            f"warning: not all parts came back for {', '.join(report['missing'])}; "
            "fetch the next batch (`bash scripts/gpu_board.sh collect`) to score them",
            file=sys.stderr,
        )
    teams = work / "submissions"
    shutil.rmtree(teams, ignore_errors=True)
    for team, checkpoint in sorted(report["complete"].items()):
        folder = teams / team
        folder.mkdir(parents=True)
        for name in ("model.py", "README.md"):
            if (REPO / "submissions" / team / name).is_file():
                shutil.copyfile(REPO / "submissions" / team / name, folder / name)
        shutil.copyfile(checkpoint, folder / "checkpoint.pt")
    command = [
        sys.executable, "-m", "harness", "score", "--all", "--submissions", str(teams),
        "--runs", str(work / "runs"), "--n", str(args.n), "--leaderboard", str(args.board),
        "--device", args.device, *([f"--data={args.data}"] if args.data else []), *args.extra,
    ]  # fmt: skip
    print(f"scoring {', '.join(sorted(report['complete']))} onto {args.board} ...", file=sys.stderr)
    done = subprocess.run(command, cwd=REPO)
    summary = {
        "scored": sorted(report["complete"]),
        "missing": report["missing"],
        "board": str(args.board),
        "epochs": report.get("plan", {}).get("epochs"),
        "gpu": report.get("machine", {}).get("gpu"),
    }
    print(json.dumps(summary), file=sys.stderr)
    return done.returncode
