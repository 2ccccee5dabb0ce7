"""Held-out images handed in are flagged ``test_leak`` through the real scoring path (issue 21).

Three teams on the tiny data at 16 x 16, scored once per module with 64-dim features (the
first Inception block, seconds on a CPU): ``heldout`` hands in the test images themselves as
``samples.npz``, ``memo`` hands in training images (memorisation, not a test leak), and
``ckpt`` hands in a checkpoint whose generator draws the test images (its weights hold them),
sampled in the child as any checkpoint is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.board import leaderboard
from harness.board.cells import LEAK_MARK, LEAK_NOTE
from harness.board.terminal import render
from harness.data import cache as data_cache
from harness.scoring.score import Scorer, ScoreSettings
from harness.scoring.submission import CHECKPOINT, SAMPLES
from harness.training.export import FORMAT
from tests.conftest import write_team

N = 12  # the tiny data's test images per class
SIZE = 16
SETTINGS = ScoreSettings(
    n_per_class=N,
    seed=0,
    bootstrap=0,
    kid_subsets=2,
    kid_subset_size=8,
    dims=64,
    device="cpu",
    samples_image_size=SIZE,
)
# The tiny team's generator, made to return images it holds in a buffer (in its weights).
DRAWS_HELD_OUT = {
    "SIZE = 16\n": "SIZE = 16\nBANK = 12\n",
    "nn.Linear(width, 3 * SIZE * SIZE))\n": (
        "nn.Linear(width, 3 * SIZE * SIZE))\n"
        "        self.register_buffer('bank', torch.zeros(2, BANK, 3, SIZE, SIZE))\n"
    ),
    "return torch.tanh(self.net(torch.cat([z, self.embed(y)], 1))).view(-1, 3, SIZE, SIZE)": (
        "return self.bank[y, (z[:, 0].abs() * 1000).long() % BANK]"
    ),
}


def save_npz(folder: Path, images: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.repeat(np.arange(2, dtype=np.int64), len(images) // 2)
    np.savez(folder / "samples.npz", images=images, labels=labels)


def first_of_each_class(arrays: data_cache.SplitArrays) -> np.ndarray:
    return np.concatenate([arrays.of_class(0)[:N], arrays.of_class(1)[:N]])


def checkpoint_team(folder: Path, test: data_cache.SplitArrays) -> None:
    """A team folder whose exported checkpoint's generator outputs the test images."""
    from harness.spec import load_spec

    write_team(folder, DRAWS_HELD_OUT)
    spec = load_spec(folder)
    generator = spec.build_generator(spec.hparams)
    bank = np.stack([test.of_class(c)[:N] for c in (0, 1)])  # [2, N, S, S, 3] uint8
    pixels = torch.from_numpy(bank).permute(0, 1, 4, 2, 3).float() / 127.5 - 1
    generator.bank.copy_(pixels)
    torch.save(
        {
            "format": FORMAT,
            "generator": generator.state_dict(),
            "ema": None,
            "image_size": SIZE,
            "latent_dim": int(spec.latent_dim),
            "hparams": json.dumps(dict(spec.hparams)),
            "meta": {"spec_name": spec.name, "run_id": "outside", "epochs_done": 1},
        },
        folder / "checkpoint.pt",
    )


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> dict[str, object]:
    """Each team's row, the scorer's messages and the folders, scored once."""
    base = tmp_path_factory.mktemp("leak")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_CACHE", str(base / "cache"))
        submissions, runs_root = base / "submissions", base / "runs"
        test = data_cache.cached_split(tiny_data, "test", SIZE, progress=False)
        train = data_cache.cached_split(tiny_data, "train", SIZE, progress=False)
        save_npz(submissions / "heldout", first_of_each_class(test))
        save_npz(submissions / "memo", first_of_each_class(train))
        checkpoint_team(submissions / "ckpt", test)
        said: list[str] = []
        scorer = Scorer(
            data_root=tiny_data, runs_root=runs_root, settings=SETTINGS, say=said.append
        )
        rows = scorer.score_teams([submissions / t for t in ("heldout", "memo", "ckpt")])
        return {
            "rows": {row["team"]: row for row in rows},
            "said": said,
            "cache": base / "cache",
            "submissions": submissions,
            "runs": runs_root,
            "results": base / "results.csv",
        }


def test_held_out_samples_are_a_test_leak_and_train_copies_are_not(scored: dict) -> None:
    rows = scored["rows"]
    assert [rows[t]["status"] for t in ("heldout", "memo", "ckpt")] == ["ok"] * 3, rows
    held, memo = rows["heldout"], rows["memo"]
    assert held["source"] == memo["source"] == SAMPLES
    assert held["test_leak"] is True and held["test_leak_fraction"] == 1.0
    assert memo["test_leak"] is False and memo["test_leak_fraction"] == 0.0
    assert memo["memorised"] is True  # a copy of train is memorisation, the other flag


def test_a_checkpoint_that_draws_held_out_images_is_a_test_leak(scored: dict) -> None:
    row = scored["rows"]["ckpt"]
    assert row["source"] == CHECKPOINT and row["n_fake_with_mask"] == N
    assert row["test_leak"] is True and row["test_leak_fraction"] == 1.0


def test_the_evidence_is_for_the_organiser_only(scored: dict) -> None:
    from PIL import Image

    rows, cache = scored["rows"], scored["cache"]
    folder = cache / "heldout" / "test-leak"
    expected = {f"{t}-{rows[t]['submission_id']}.png" for t in ("heldout", "ckpt")}
    assert {p.name for p in folder.iterdir()} == expected  # none for the train copies
    for name in expected:
        assert Image.open(folder / name).size[0] > 8 * 64
    # Nowhere a team or the site reads: not in a run folder, not in a team folder, not in a row.
    for root in (scored["runs"], scored["submissions"]):
        assert not [p for p in Path(root).rglob("*") if p.name in expected], root
    for row in rows.values():
        assert not any("test-leak" in str(value) for value in row.values())
    said = scored["said"]
    team_lines = [line for line in said if line.startswith("heldout:") and "TEST LEAK" in line]
    assert team_lines and "test-leak" not in team_lines[0] and str(cache) not in team_lines[0]
    assert any(line.startswith("organiser:") and str(folder) in line for line in said)


def test_the_flag_reaches_results_csv_and_the_board(scored: dict) -> None:
    results = scored["results"]
    leaderboard.append_rows(scored["rows"].values(), results)
    table = leaderboard.read(results)
    flags = dict(zip(table["team"], table["test_leak"], strict=True))
    assert flags == {"heldout": True, "memo": False, "ckpt": True}
    assert table["test_leak"].dtype == bool
    shown = render(leaderboard.ranked(table), width=200)
    assert "heldout" + LEAK_MARK in shown and "ckpt" + LEAK_MARK in shown
    assert "memo" + LEAK_MARK not in shown and LEAK_NOTE.split(":")[0] in shown
