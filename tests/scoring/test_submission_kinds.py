"""The three kinds of submission (code, checkpoint, samples), memorisation, public/private FID.

Scoring here uses Inception's 768-dim block rather than pool3: the matrix square roots of FID
cost a small fraction at 768 dims, and 768-dim features still separate memorised samples
(distance 0) from a generator's fresh ones (about 0.2 on these tiny faces; 0.4 at 2,048 dims).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from harness.cli import main
from harness.data import cache as data_cache
from harness.data.split import make_split
from harness.errors import HarnessError, SampleError
from harness.scoring.metrics.fid import frechet_distance, statistics
from harness.scoring.metrics.reference import class_reference
from harness.scoring.score import Scorer, ScoreSettings
from harness.scoring.strips import PER_CLASS, cut_strip
from harness.scoring.submission import CHECKPOINT, CODE, SAMPLES, detect
from harness.training.export import export_run
from harness.training.train import train_team
from tests.conftest import write_team

N = 12
SIZE = 16
SETTINGS = ScoreSettings(
    n_per_class=N,
    seed=0,
    bootstrap=0,
    kid_subsets=2,
    kid_subset_size=8,
    dims=768,
    device="cpu",
    samples_image_size=SIZE,
)


def save_npz(folder: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "samples.npz", images=images, labels=labels)
    return folder


def train_copies(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """The first N training images of each class at the competition size: a memoriser's output."""
    train = data_cache.cached_split(root, "train", SIZE, progress=False)
    images = np.concatenate([train.of_class(0)[:N], train.of_class(1)[:N]])
    return images, np.repeat(np.arange(2, dtype=np.int64), N)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> dict[str, object]:
    """A copy of the tiny data with a public/private split, a trained tiny team, and a scorer."""
    base = tmp_path_factory.mktemp("kinds")
    data = base / "facemask"
    shutil.copytree(tiny_data, data)
    split = make_split(data, public_fraction=0.5, seed=7)
    submissions, runs_root = base / "submissions", base / "runs"
    code = write_team(submissions / "code")
    train_team(code, data_root=data, runs_root=runs_root, overrides={"epochs": 1}, image_size=SIZE)
    strips = base / "leaderboard" / "strips"
    scorer = Scorer(
        data_root=data, runs_root=runs_root, settings=SETTINGS, say=lambda m: None, strips=strips
    )
    return {
        "strips": strips,
        "data": data,
        "split": split,
        "submissions": submissions,
        "runs": runs_root,
        "scorer": scorer,
        "rows": {},
    }


def scored(world: dict[str, object], team: str) -> dict[str, object]:
    """Score a team folder once per module (rows are reused across tests)."""
    rows = world["rows"]
    assert isinstance(rows, dict)
    if team not in rows:
        scorer = world["scorer"]
        assert isinstance(scorer, Scorer) and isinstance(world["submissions"], Path)
        rows[team] = scorer.score_team(world["submissions"] / team)
    return rows[team]


def test_the_kind_is_detected_and_two_kinds_are_explained(tmp_path: Path) -> None:
    code = write_team(tmp_path / "a")
    assert (detect(code).kind, detect(code).note) == (CODE, "")
    save_npz(code, *train_copies_stub())
    sub = detect(code)
    assert sub.kind == SAMPLES and "scored samples.npz, not a trained run of model.py" in sub.note
    (code / "checkpoint.pt").write_bytes(b"x")
    sub = detect(code)
    assert sub.kind == CHECKPOINT and "scored checkpoint.pt, not samples.npz" in sub.note
    (code / "model.py").unlink()
    with pytest.raises(HarnessError, match=re.escape("holds checkpoint.pt but no model.py")):
        detect(code)
    (tmp_path / "b" / "samples" / "with_mask").mkdir(parents=True)
    save_npz(tmp_path / "b", *train_copies_stub())
    with pytest.raises(HarnessError, match=re.escape("both samples.npz and samples/")):
        detect(tmp_path / "b")


def train_copies_stub() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((2, 4, 4, 3), np.uint8), np.array([0, 1], np.int64)


def test_a_code_submission_is_sampled_from_its_trained_run(world: dict[str, object]) -> None:
    row = scored(world, "code")
    assert row["status"] == "ok" and row["source"] == CODE and row["epochs_trained"] == 1
    assert len(str(row["submission_id"])) == 8 and str(row["submission_id"])[0].isalpha()
    assert row["submitted_at"] == row["timestamp_utc"]


def test_a_checkpoint_submission_samples_the_same_generator_without_training(
    world: dict[str, object],
) -> None:
    submissions, runs_root = world["submissions"], world["runs"]
    assert isinstance(submissions, Path) and isinstance(runs_root, Path)
    team = write_team(submissions / "ckpt")
    result = export_run(submissions / "code", runs_root=runs_root, out=team / "checkpoint.pt")
    assert result["bytes"] < result["checkpoint_bytes"] / 2  # no optimisers, no D
    row = scored(world, "ckpt")
    assert row["status"] == "ok" and row["source"] == CHECKPOINT
    assert row["checkpoint_data_matches"] is True and row["epochs_trained"] == 1
    assert not (runs_root / "ckpt").joinpath("checkpoints").exists()  # nothing was trained
    code = scored(world, "code")
    # Same weights, same EMA, same seed: the very same samples, so the very same numbers.
    assert row["fid_with_mask"] == pytest.approx(code["fid_with_mask"], abs=1e-9)
    assert row["score_public"] == pytest.approx(code["score_public"], abs=1e-9)


def test_a_malicious_checkpoint_pickle_never_runs(world: dict[str, object], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    submissions = world["submissions"]
    assert isinstance(submissions, Path)
    team = write_team(submissions / "evil")
    torch.save({"format": "harness-submission-1", "generator": Payload()}, team / "checkpoint.pt")
    scorer = world["scorer"]
    assert isinstance(scorer, Scorer)
    [row] = scorer.score_teams([team])
    assert row["status"] == "failed"
    assert "checkpoint.pt was refused" in row["error"] and "posix.system" in row["error"]
    assert not marker.exists()
    # The payload is live: an unsafe load would have run it.
    torch.load(team / "checkpoint.pt", weights_only=False)
    assert marker.exists()


def test_samples_from_the_training_images_are_flagged_and_fresh_ones_are_not(
    world: dict[str, object],
) -> None:
    data, submissions, runs_root = world["data"], world["submissions"], world["runs"]
    assert isinstance(data, Path) and isinstance(submissions, Path) and isinstance(runs_root, Path)
    save_npz(submissions / "memo", *train_copies(data))
    # Fresh samples: the tiny generator's own, handed in as PNG files.
    code = scored(world, "code")
    drawn = next((runs_root / "code" / str(code["run_id"]) / "samples").glob("samples-*.npz"))
    with np.load(drawn) as archive:
        images, labels = archive["images"], archive["labels"]
    for label, name in enumerate(("with_mask", "without_mask")):
        folder = submissions / "fresh" / "samples" / name
        folder.mkdir(parents=True)
        for i, image in enumerate(images[labels == label]):
            Image.fromarray(image).save(folder / f"{i:03d}.png")
    memo, fresh = scored(world, "memo"), scored(world, "fresh")
    assert memo["source"] == fresh["source"] == SAMPLES and memo["sample_seed"] is None
    assert memo["memorised"] is True and fresh["memorised"] is False
    assert memo["memorisation_with_mask"] < 1e-6 and fresh["memorisation_with_mask"] > 0.1
    assert memo["mifid"] > 1e6 * memo["score"]
    assert fresh["mifid"] == fresh["score"] and fresh["mifid_public"] == fresh["score_public"]
    # PNGs are lossless: the handed-in copies of the code team's samples score the same.
    assert fresh["fid_with_mask"] == pytest.approx(code["fid_with_mask"], abs=1e-9)
    grid = Path(str(memo["memorisation_grid"]))
    assert grid.is_file() and Image.open(grid).size[0] > 8 * 64
    # Both rows keep a sample strip beside the board; only the memorised one its evidence.
    strips = world["strips"]
    assert isinstance(strips, Path)
    kept = strips / str(fresh["sample_strip"])
    cut = cut_strip(np.asarray(Image.open(kept).convert("RGB")))
    for label in range(2):  # the first 8 samples of each class, lossless at this small size
        assert np.array_equal(cut[label], images[labels == label][:PER_CLASS])
    assert fresh["nearest_strip"] == "" and memo["sample_strip"] != fresh["sample_strip"]
    assert (strips / str(memo["nearest_strip"])).read_bytes() == grid.read_bytes()
    # Nothing is written into a team's own folder.
    assert [p.name for p in (submissions / "memo").iterdir()] == ["samples.npz"]
    assert sorted(p.name for p in (submissions / "fresh").iterdir()) == ["samples"]
    for key in ("precision", "recall", "density", "coverage"):
        assert memo[f"{key}_with_mask"] >= 0 and fresh[f"{key}_public_without_mask"] >= 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda im, lb: (np.zeros((2 * N, 32, 32, 3), np.uint8) + 9, lb),
            "samples.npz holds 32 x 32 images; this competition takes 16 x 16",
        ),
        (lambda im, lb: (im[1:], lb[1:]), f"{N - 1} samples of with_mask, expected {N}"),
        (lambda im, lb: (im.astype(np.float32), lb), "dtype float32, expected uint8"),
    ],
)
def test_a_bad_samples_file_is_one_line(
    world: dict[str, object], tmp_path: Path, make, message: str
) -> None:  # type: ignore[no-untyped-def]
    data = world["data"]
    assert isinstance(data, Path)
    team = save_npz(tmp_path / "bad", *make(*train_copies(data)))
    scorer = world["scorer"]
    assert isinstance(scorer, Scorer)
    with pytest.raises(SampleError, match=f"^bad: .*{message}"):
        scorer.score_team(team)


def test_a_bad_samples_folder_names_the_file(world: dict[str, object], tmp_path: Path) -> None:
    data = world["data"]
    assert isinstance(data, Path)
    images, labels = train_copies(data)
    for label, name in enumerate(("with_mask", "without_mask")):
        folder = tmp_path / "bad" / "samples" / name
        folder.mkdir(parents=True)
        for i, image in enumerate(images[labels == label]):
            Image.fromarray(image).save(folder / f"{i:03d}.png")
    scorer = world["scorer"]
    assert isinstance(scorer, Scorer)
    (tmp_path / "bad/samples/without_mask/005.png").write_bytes(b"not a png")
    with pytest.raises(
        SampleError, match=re.escape("samples/without_mask/005.png is not a readable image")
    ):
        scorer.score_team(tmp_path / "bad")
    Image.new("RGB", (20, 20)).save(tmp_path / "bad/samples/without_mask/005.png")
    with pytest.raises(
        SampleError, match=re.escape("005.png is 20 x 20; this competition takes 16 x 16")
    ):
        scorer.score_team(tmp_path / "bad")
    (tmp_path / "bad/samples/with_mask/000.png").unlink()
    with pytest.raises(SampleError, match=f"samples/with_mask holds {N - 1} images, expected {N}"):
        scorer.score_team(tmp_path / "bad")


def test_score_prints_one_line_for_a_bad_submission(
    world: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, runs_root = world["data"], world["runs"]
    assert isinstance(data, Path) and isinstance(runs_root, Path)
    images, labels = train_copies(data)
    team = save_npz(tmp_path / "bad", images[:, :8, :8], labels)
    toml = tmp_path / "competition.toml"
    toml.write_text(f"n_per_class = {N}\nimage_size = {SIZE}\n")
    board = tmp_path / "results.csv"
    common = ["--data", str(data), "--runs", str(runs_root), "--leaderboard", str(board)]
    with pytest.raises(SystemExit) as info:
        main(["score", str(team), *common, "--competition", str(toml), "--no-labels"])
    assert info.value.code == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "bad" in line]
    assert lines == [
        "bad: failed: bad: samples.npz holds 8 x 8 images; this competition takes 16 x 16 "
        "(image_size)"
    ]


def test_public_and_private_fid_come_from_the_same_real_features(
    world: dict[str, object],
) -> None:
    row = scored(world, "code")
    data, split = world["data"], world["split"]
    scorer = world["scorer"]
    assert isinstance(data, Path) and isinstance(scorer, Scorer)
    assert row["split_digest"] == split.digest  # type: ignore[attr-defined]
    assert (
        row["n_real_public_with_mask"] + row["n_real_private_with_mask"] == row["n_real_with_mask"]
    )
    drawn = next((Path(world["runs"]) / "code" / str(row["run_id"]) / "samples").glob("*.npz"))  # type: ignore[arg-type]
    with np.load(drawn) as archive:
        fake = scorer.extractor(archive["images"][archive["labels"] == 1])
    real = class_reference(data, 1, SIZE, scorer.extractor)
    names = sorted(p.name for p in (data / "test" / "without_mask").iterdir())
    public = split.public_mask(1, names)  # type: ignore[attr-defined]
    expected = frechet_distance(statistics(fake), statistics(real.features[~public]))
    assert row["fid_private_without_mask"] == pytest.approx(expected, rel=1e-6)
    assert row["score_public"] == pytest.approx(
        row["fid_public_with_mask"] + row["fid_public_without_mask"]
    )
    assert row["score_public"] != pytest.approx(row["score"])


def test_one_inception_pass_over_the_fakes_feeds_every_metric(
    world: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    scored(world, "memo")  # warms the real and train feature caches
    scorer = world["scorer"]
    assert isinstance(scorer, Scorer)
    extractor = scorer.extractor
    seen: list[int] = []
    real_call = type(extractor).__call__

    def counting(self, images, progress=None):  # type: ignore[no-untyped-def]
        seen.append(len(images))
        return real_call(self, images, progress)

    monkeypatch.setattr(type(extractor), "__call__", counting)
    submissions = world["submissions"]
    assert isinstance(submissions, Path)
    row = scorer.score_team(submissions / "memo")
    assert seen == [N, N]  # one pass per class, nothing else
    assert {"score_public", "mifid", "coverage_with_mask", "kid_with_mask"} <= set(row)


def test_without_a_split_the_public_and_private_columns_are_blank(
    world: dict[str, object], tiny_data: Path, tmp_path: Path
) -> None:
    data = world["data"]
    assert isinstance(data, Path)
    team = save_npz(tmp_path / "memo", *train_copies(data))
    scorer = Scorer(
        data_root=tiny_data, runs_root=tmp_path / "runs", settings=SETTINGS, say=lambda m: None
    )
    row = scorer.score_team(team)
    assert row["split_digest"] == "" and "score_public" not in row and "score_private" not in row
    assert row["memorised"] is True  # memorisation does not need a split
    assert json.dumps(row, default=str)
