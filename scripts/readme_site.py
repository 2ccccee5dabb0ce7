"""Make the board site of this repository's ``leaderboard/results.csv`` and its screenshots.

The site is what ``harness leaderboard --html`` writes on any machine: pictures come from the
run folders under ``--runs`` where they are, else from the sample strips that scoring keeps in
``leaderboard/strips/`` (see ``harness/scoring/strips.py``); a row with neither says so on its
page. Nothing is made up for a row that has no pictures: a row scored before strips existed
shows them once it is scored again. The screenshots (index at 1280 and 390 px, one team's page
at 1280 px) are taken in headless Chromium.

    python scripts/readme_site.py --site board-site --shots docs/site

Needs Debian's ``chromium`` and ``pip install playwright`` (the browser test's tools).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

from PIL import Image

from harness.board import leaderboard
from harness.board.site import write_site
from harness.scoring.strips import strips_dir

REPO = Path(__file__).resolve().parent.parent
BOARD = REPO / "leaderboard" / "results.csv"
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
SHOTS = (  # (page, file, width, height)
    ("index", "index-1280.png", 1280, 900),
    ("team", "team-1280.png", 1280, 1300),
    ("index", "index-390.png", 390, 1200),
)


def screenshots(pages: dict[str, str], folder: Path) -> list[dict[str, object]]:
    """Save each page's top as a palette PNG (one browser for all); console errors per shot."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    report: list[dict[str, object]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for page_name, name, width, height in SHOTS:
            errors: list[str] = []
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.goto(pages[page_name])
            raw = folder / f"{name}.raw.png"
            page.screenshot(path=str(raw))
            page.close()
            with Image.open(raw) as shot:
                shot.convert("RGB").quantize(colors=192, method=Image.Quantize.MEDIANCUT).save(
                    folder / name, optimize=True
                )
            raw.unlink()
            report.append({"file": name, "console_errors": errors})
        browser.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, required=True, help="where to write the site")
    parser.add_argument("--shots", type=Path, help="folder for the screenshots (PNG)")
    parser.add_argument("--runs", type=Path, default=REPO / "runs", help="run folders, if any")
    parser.add_argument("--team", default="team4", help="the team page to screenshot")
    args = parser.parse_args()
    summary = write_site(
        args.site,
        leaderboard.read(BOARD),
        runs_root=args.runs,
        submissions=REPO / "submissions",
        source_label="leaderboard/results.csv",
        strips=strips_dir(BOARD),
    )
    report: dict[str, object] = {"index": str(summary.index), "bytes": summary.size_bytes}
    if args.shots:
        team = summary.index.parent / "teams" / f"{args.team}.html"
        pages = {"index": summary.index.resolve().as_uri(), "team": team.resolve().as_uri()}
        report["shots"] = screenshots(pages, args.shots)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
