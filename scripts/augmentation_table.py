"""The augmentation-lesson table of docs/measurements/boards.md, from the rows ``harness score`` wrote.

Each row of the lesson's results file (``leaderboard/augmentation.csv``) is one run of the same
team at the same budget; which augmentation it trained with is read from that run's own
``config.json`` (its ``train_config``: ``augment`` and ``diffaugment``), never typed by hand.

    python scripts/augmentation_table.py --results leaderboard/augmentation.csv --runs runs

prints a Markdown table: score with its 95% interval, FID, coverage and memorisation distance
per class, and the run it came from.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from harness.board import leaderboard
from harness.classes import CLASS_NAMES


def variant(train_config: dict[str, object]) -> str:
    """What a run's reals went through before D, in words."""
    augment = str(train_config.get("augment", "spec"))
    diff = str(train_config.get("diffaugment") or "")
    albumentations = {
        "spec": "the team's albumentations pipeline",
        "default": "the harness's default albumentations pipeline",
        "none": "no augmentation",
    }.get(augment, augment)
    if diff:
        base = "" if augment == "none" else f"{albumentations} + "
        return f"{base}DiffAugment ({diff}) on reals and fakes"
    return albumentations


def table(results: Path, runs: Path) -> pd.DataFrame:
    """One line per ok row: the variant, the budget and the numbers."""
    rows = leaderboard.read(results)
    rows = rows[rows["status"] == "ok"]
    lines = []
    for _, row in rows.iterrows():
        config_path = runs / str(row["team"]) / str(row["run_id"]) / "config.json"
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        train_config = config.get("train_config", {})
        line = {
            "augmentation": variant(train_config) if config else "run not on this machine",
            "epochs": row.get("epochs_trained"),
            "score": f"{row['score']:.1f} [{row['score_ci_low']:.1f}, {row['score_ci_high']:.1f}]",
        }
        for name in CLASS_NAMES:
            line[f"FID {name}"] = f"{row[f'fid_{name}']:.1f}"
        for name in CLASS_NAMES:
            line[f"coverage {name}"] = f"{row.get(f'coverage_{name}', float('nan')):.3f}"
        for name in CLASS_NAMES:
            line[f"memorisation {name}"] = f"{row.get(f'memorisation_{name}', float('nan')):.3f}"
        line["run"] = f"{row['team']}/{row['run_id']}"
        lines.append(line)
    return pd.DataFrame(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("leaderboard/augmentation.csv"))
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    args = parser.parse_args()
    print(table(args.results, args.runs).to_markdown(index=False))


if __name__ == "__main__":
    main()
