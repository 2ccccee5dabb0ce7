"""A board copied to another machine still shows its pictures: the strips beside results.csv.

The rows here name run folders that are not on this machine, as in a clone of the repository;
their samples and memorisation evidence come from the board's ``strips/`` folder, read as
safely as a run folder (no link followed, names only of the form scoring writes).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from harness.board import leaderboard
from harness.board.site import write_site
from harness.scoring.strips import keep_strips, strips_dir
from tests.board.site_fixture import SIZE, faces, row


def per_class(seed: int) -> list[np.ndarray]:
    images, labels = faces(seed, 8)
    return [images[labels == c] for c in range(2)]


def test_a_site_built_without_run_folders_shows_each_rows_strip(tmp_path: Path) -> None:
    results = tmp_path / "board" / "leaderboard" / "results.csv"
    strips = strips_dir(results)
    nearest = tmp_path / "elsewhere" / "nearest.png"
    nearest.parent.mkdir()
    Image.fromarray(np.concatenate(per_class(7)[0][:4], axis=1)).save(nearest)
    golf = row("golf", "20260101-000000", "2026-01-01T10:00:00+00:00", 300.0, 310.0, 1337.41)
    golf |= keep_strips(golf, per_class(1), strips, print)
    hotel = row("hotel", None, "2026-01-01T11:00:00+00:00", 320.0, 330.0, 1337.42)
    hotel |= {"source": "samples", "memorised": True, "memorisation_grid": str(nearest)}
    hotel |= keep_strips(hotel, per_class(2), strips, print)
    india = row("india", "20260101-000001", "2026-01-01T12:00:00+00:00", 340.0, 350.0, 1337.43)
    india |= {"sample_strip": "../results.csv"}  # a hand-edited cell never becomes a path
    juliet = row("juliet", "20260101-000002", "2026-01-01T13:00:00+00:00", 360.0, 370.0, 1337.44)
    outside = tmp_path / "secret.webp"
    outside.write_bytes((strips / str(golf["sample_strip"])).read_bytes())
    juliet |= {"sample_strip": "c" * 64 + ".webp"}
    os.symlink(outside, strips / juliet["sample_strip"])  # a link out of the folder: refused
    assert golf["sample_strip"] and hotel["nearest_strip"] and not golf["nearest_strip"]
    leaderboard.append_rows([golf, hotel, india, juliet], results)

    site = tmp_path / "site"
    write_site(
        site,
        leaderboard.read(results),
        runs_root=tmp_path / "no-runs-here",
        submissions=tmp_path / "no-submissions-here",
        strips=strips,
    )
    thumbs = sorted(p.name for p in (site / "thumbs").iterdir())
    assert thumbs == ["golf.webp", "hotel.webp"]
    grid = Image.open(site / "teams" / "golf" / "with_mask.webp")
    assert grid.size == (8 * (SIZE + 2) + 2, SIZE + 4)  # the 8 images of the strip, one line
    shown = np.asarray(grid.convert("RGB"), dtype=np.int16)[2 : 2 + SIZE, 2 : 2 + SIZE]
    first, second = per_class(1)[0][:2]
    # The strip's first sample (lossy WebP on the page: nearer to it than to the next one).
    assert np.abs(shown - first).mean() < np.abs(shown - second).mean() / 2
    golf_page = (site / "teams" / "golf.html").read_text()
    assert f"strips/{golf['sample_strip']}" in golf_page
    assert "travel with the board only for rows flagged as memorised" in golf_page
    hotel_page = (site / "teams" / "hotel.html").read_text()
    assert 'src="hotel/nearest.webp"' in hotel_page
    assert Image.open(site / "teams" / "hotel" / "nearest.webp").size == (4 * SIZE, SIZE)
    for team in ("india", "juliet"):
        page = (site / "teams" / f"{team}.html").read_text()
        assert f'src="{team}/with_mask.webp"' not in page and "Not here" in page, team
    assert "lacks" in (site / "teams" / "juliet.html").read_text()


def test_without_strips_or_runs_a_row_says_where_its_pictures_are(tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    golf = row("golf", "20260101-000000", "2026-01-01T10:00:00+00:00", 300.0, 310.0, 1337.41)
    leaderboard.append_rows([golf], results)
    site = tmp_path / "site"
    write_site(
        site,
        leaderboard.read(results),
        runs_root=tmp_path / "runs",
        submissions=tmp_path / "subs",
        strips=strips_dir(results),
    )
    assert not (site / "thumbs").exists()
    assert "run 20260101-000000 is not on the machine" in (site / "teams" / "golf.html").read_text()
