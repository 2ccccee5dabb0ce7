"""The real-data floor: N train images per class, scored as a samples submission, marked as a
reference, flagged by the memorisation check; and ``harness real-floor`` puts it on the board."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.board import leaderboard
from harness.board.references import REFERENCE_RANK
from harness.cli import main
from harness.data import cache as data_cache
from harness.errors import DataError
from harness.scoring.real_floor import REFERENCE_TEAM, floor_samples
from harness.scoring.score import ScoreSettings

N, SIZE = 10, 16


def rows_of(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in images}


def test_the_floor_is_n_distinct_train_images_per_class_chosen_by_the_seed(tiny_data: Path) -> None:
    images, labels = floor_samples(tiny_data, n_per_class=N, size=SIZE, seed=3)
    assert images.shape == (2 * N, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [N, N]
    train = data_cache.cached_split(tiny_data, "train", SIZE, progress=False)
    for c in (0, 1):
        mine = rows_of(images[labels == c])
        assert len(mine) == N  # drawn without replacement
        assert mine <= rows_of(train.of_class(c))  # real train images of that class, as cached
    again, _ = floor_samples(tiny_data, n_per_class=N, size=SIZE, seed=3)
    other, _ = floor_samples(tiny_data, n_per_class=N, size=SIZE, seed=4)
    assert np.array_equal(images, again)
    assert not np.array_equal(images, other)


def test_more_than_a_class_holds_is_one_clear_error(tiny_data: Path) -> None:
    with pytest.raises(DataError, match=r"fewer than the 25 per class.*--n"):
        floor_samples(tiny_data, n_per_class=25, size=SIZE, seed=0)


def test_real_floor_command_puts_a_memorised_ref_row_on_the_board(
    tmp_path: Path, tiny_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "facemask"
    shutil.copytree(tiny_data, data)
    rules = tmp_path / "competition.toml"
    rules.write_text(f"n_per_class = {N}\nimage_size = {SIZE}\n")
    board = tmp_path / "results.csv"
    runs = tmp_path / "runs"
    # The command's own settings, with Inception's 768-dim block for cheap matrix square roots.
    cheap = functools.partial(ScoreSettings, dims=768, kid_subsets=2, kid_subset_size=8)
    monkeypatch.setattr("harness.scoring.score.ScoreSettings", cheap)
    common = ["--data", str(data), "--runs", str(runs), "--leaderboard", str(board)]
    with pytest.raises(SystemExit) as done:
        main(
            ["real-floor", *common, "--competition", str(rules), "--bootstrap", "0",
             "--no-labels", "--device", "cpu", "--json"]
        )  # fmt: skip
    assert done.value.code in (0, None)
    row = json.loads(capsys.readouterr().out)
    assert row["reference"] is True and row["team"] == REFERENCE_TEAM
    assert row["source"] == "samples" and "real train images" in row["source_note"]
    assert row["dims"] == 768 and row["n_fake_with_mask"] == N and row["n_fake_without_mask"] == N
    assert row["memorised"] is True  # it is training data, and the check says so
    assert row["mifid_with_mask"] > 1000 * row["fid_with_mask"]
    # The samples stay in the runs folder (training data never goes into the repository).
    assert (runs / "references" / REFERENCE_TEAM / "samples.npz").is_file()
    table = leaderboard.read(board)
    assert table["team"].tolist() == [REFERENCE_TEAM]
    assert bool(table["reference"].iloc[0]) is True
    assert leaderboard.ranked(table)["rank"].tolist() == [REFERENCE_RANK]
