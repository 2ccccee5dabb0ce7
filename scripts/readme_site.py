"""Make the README's board site and its screenshots from what the repository holds.

The five example teams' runs are not in the repository (only their rows in
``leaderboard/results.csv`` and the sample grids in ``docs/grids/``), so this builds a small
fixture from those two: for each team a run folder whose scored-samples file holds the eight
samples per class that its grid shows (the first eight of the 1,000 it was scored on, cut out
of the grid pixel for pixel). There is no checkpoint, loss log or config in it, so the pages
say that the latent walk, losses and hparams are not on this machine. Then it writes the site
with ``harness leaderboard --html`` and screenshots it in headless Chromium.

    python scripts/readme_site.py --site board-site --shots docs/site

Needs Debian's ``chromium`` and ``pip install playwright`` (the browser test's tools).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from harness.board import leaderboard
from harness.board.site import write_site
from harness.classes import CLASS_NAMES
from harness.training.grids import LABEL_WIDTH

REPO = Path(__file__).resolve().parent.parent
TITLE_HEIGHT = 18  # grids.labelled_grid's title line
PADDING = 2  # torchvision make_grid's padding in grids.labelled_grid
CHROMIUM = os.environ.get("HARNESS_CHROMIUM") or shutil.which("chromium") or "chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def cut_grid(path: Path, size: int, columns: int = 8) -> np.ndarray:
    """The images of a labelled grid (one row per class) as uint8 ``[classes, k, S, S, 3]``."""
    pixels = np.asarray(Image.open(path).convert("RGB"))
    step = size + PADDING
    rows = []
    for c in range(len(CLASS_NAMES)):
        top = TITLE_HEIGHT + PADDING + c * step
        rows.append(
            [
                pixels[top : top + size, x : x + size]
                for x in (LABEL_WIDTH + PADDING + i * step for i in range(columns))
            ]
        )
    return np.array(rows, dtype=np.uint8)


def build_fixture(runs_root: Path) -> None:
    """A run folder per board row holding the samples its grid shows, named as scoring names them."""
    table = leaderboard.read(REPO / "leaderboard" / "results.csv")
    for row in table[table["status"] == "ok"].to_dict("records"):
        size = int(row["image_size"])
        images = cut_grid(REPO / "docs" / "grids" / f"{row['team']}.png", size)
        samples = runs_root / row["team"] / row["run_id"] / "samples"
        samples.mkdir(parents=True, exist_ok=True)
        stem = Path(row["checkpoint"]).stem
        name = f"samples-{stem}-n{int(row['n_fake_with_mask'])}-seed{int(row['sample_seed'])}.npz"
        labels = np.repeat(np.arange(len(CLASS_NAMES), dtype=np.int64), images.shape[1])
        np.savez(samples / name, images=images.reshape(-1, size, size, 3), labels=labels)


def screenshot(url: str, out: Path, width: int, height: int) -> list[str]:
    """Save the page's top ``width`` x ``height`` as a palette PNG; returns console errors."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        raw = out.with_suffix(".raw.png")
        page.screenshot(path=str(raw))
        browser.close()
    Image.open(raw).convert("RGB").quantize(colors=192, method=Image.Quantize.MEDIANCUT).save(
        out, optimize=True
    )
    raw.unlink()
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, required=True, help="where to write the site")
    parser.add_argument("--shots", type=Path, help="folder for the screenshots (PNG)")
    parser.add_argument("--team", default="team4", help="the team page to screenshot")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs_root = Path(tmp) / "runs"
        build_fixture(runs_root)
        summary = write_site(
            args.site,
            leaderboard.read(REPO / "leaderboard" / "results.csv"),
            runs_root=runs_root,
            submissions=REPO / "submissions",
        )
    report = {"index": str(summary.index), "bytes": summary.size_bytes, "shots": []}
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
        index = summary.index.resolve().as_uri()
        team = (args.site / "teams" / f"{args.team}.html").resolve().as_uri()
        for url, name, width, height in (
            (index, "index-1280.png", 1280, 900),
            (team, "team-1280.png", 1280, 1300),
            (index, "index-390.png", 390, 1200),
            (team, "team-390.png", 390, 1400),
        ):
            errors = screenshot(url, args.shots / name, width, height)
            report["shots"].append({"file": name, "console_errors": errors})
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
