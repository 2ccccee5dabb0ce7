"""How long ``harness leaderboard --html`` takes for a large class: 30 teams, 10 submissions each.

Issue 23 sets the target: the site of 30 teams with 10 submissions each is built in under
10 s. The board here is made up (300 rows with every competition column, intervals included)
and each row has its sample strip in ``strips/`` beside ``results.csv``, as scoring keeps them;
a third of the teams also have their run folder (64 samples per class and a config), so both
ways a picture reaches a page are timed. The public site and the final site (``--private``)
are each built ``--repeat`` times into a fresh folder; the report gives the median wall-clock
seconds and the median CPU seconds of the process (the fairer figure on a shared machine).

    python bench/site_build.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.board import leaderboard
from harness.board.site import write_site
from harness.classes import CLASS_NAMES
from harness.data.demo import draw_face
from harness.scoring.strips import keep_strips, strips_dir

SIZE = 64


def faces(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """``n`` noisy cartoon faces per class (compressing no better than GAN samples would)."""
    out = []
    for label in range(len(CLASS_NAMES)):
        images = []
        for _ in range(n):
            face = np.asarray(draw_face(rng, SIZE, masked=label == 0), dtype=np.float32)
            images.append((face + rng.normal(0, 18, face.shape)).clip(0, 255).astype(np.uint8))
        out.append(np.stack(images))
    return out


def board_row(team: str, k: int, score: float, rng: np.random.Generator) -> dict[str, object]:
    """One scored row with the columns a competition-mode board has."""
    when = f"2026-01-{1 + k:02d}T{10 + k % 8:02d}:00:00+00:00"
    public, private = score + rng.normal(0, 8), score + rng.normal(0, 8)
    row: dict[str, object] = {
        "timestamp_utc": when,
        "submitted_at": when,
        "team": team,
        "run_id": f"202601{1 + k:02d}-000000",
        "submission_id": f"{team}-{k:02d}",
        "source": "code",
        "status": "ok",
        "error": "",
        "image_size": SIZE,
        "checkpoint": "epoch-0010.pt",
        "sample_seed": 0,
        "epochs_trained": 10,
        "memorised": False,
        "split_digest": "s5e1ec7ed",
    }
    for part, value in (("", score), ("_public", public), ("_private", private)):
        row[f"score{part}"] = value
        row[f"score{part}_ci_low"], row[f"score{part}_ci_high"] = value - 3, value + 3
        row[f"mifid{part}"] = value
        for c, name in enumerate(CLASS_NAMES):
            infix = f"{part}_" if part else "_"
            row[f"fid{infix}{name}"] = value / 2 + c
            row[f"n_real{infix}{name}"] = 425 + 30 * c
    for name in CLASS_NAMES:
        for key, value in (("kid", 0.2), ("precision", 0.5), ("recall", 0.1), ("coverage", 0.3)):
            row[f"{key}_{name}"] = value
        row[f"n_fake_{name}"] = 1000
        row[f"memorisation_{name}"] = 0.3
    return row


def make_board(root: Path, teams: int, per_team: int, seed: int) -> tuple[Path, Path]:
    """Write results.csv, its strips and some run folders under ``root``."""
    rng = np.random.default_rng(seed)
    results = root / "leaderboard" / "results.csv"
    runs = root / "runs"
    rows = []
    for t in range(teams):
        team = f"team{t + 1:02d}"
        base = rng.uniform(150, 600)
        for k in range(per_team):
            row = board_row(team, k, base - 5 * k + rng.normal(0, 10), rng)
            samples = faces(rng, 8)
            row |= keep_strips(row, samples, strips_dir(results), print)
            rows.append(row)
        if t % 3 == 0:  # the newest run is on this machine too
            run = runs / team / str(rows[-1]["run_id"])
            name = "samples-epoch-0010-n1000-seed0.npz"
            (run / "samples").mkdir(parents=True)
            many = faces(rng, 64)
            labels = np.repeat(np.arange(len(CLASS_NAMES)), 64)
            np.savez(run / "samples" / name, images=np.concatenate(many), labels=labels)
            (run / "config.json").write_text(json.dumps({"hparams": {"g_width": 64}}))
    leaderboard.append_rows(rows, results)
    return results, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=30)
    parser.add_argument("--per-team", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results, runs = make_board(root, args.teams, args.per_team, seed=0)
        table = leaderboard.read(results)
        report: dict[str, object] = {
            "teams": args.teams,
            "rows": len(table),
            "strips_bytes": sum(p.stat().st_size for p in strips_dir(results).iterdir()),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        }
        for label, private in (("public", False), ("final", True)):
            seconds, cpu, size = [], [], 0
            for i in range(args.repeat):
                start, start_cpu = time.perf_counter(), time.process_time()
                summary = write_site(
                    root / f"site-{label}-{i}",
                    table,
                    runs_root=runs,
                    submissions=root / "submissions",
                    private=private,
                    strips=strips_dir(results),
                )
                seconds.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
                size = summary.size_bytes
            report[f"{label}_seconds_median"] = round(statistics.median(seconds), 2)
            report[f"{label}_seconds"] = [round(s, 2) for s in seconds]
            # CPU seconds of this process: on a shared machine, what the build itself cost.
            report[f"{label}_cpu_seconds_median"] = round(statistics.median(cpu), 2)
            report[f"{label}_site_bytes"] = size
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
