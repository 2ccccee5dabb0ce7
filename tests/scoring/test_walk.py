"""The latent walk: spherical path, ends at the seeds' first draws, drawn in the child."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness.cli import main
from harness.scoring.sample import sample_team
from harness.scoring.walk import slerp, walk_team
from harness.training.train import train_team
from tests.conftest import write_team


def test_slerp_keeps_the_ends_and_the_norm_between_them() -> None:
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b)
    # A straight line's midpoint has norm 0.707 here; the spherical path stays on the sphere.
    assert torch.allclose(path.norm(dim=1), torch.ones(5), atol=1e-6)
    assert torch.allclose(path[2], torch.tensor([0.5**0.5, 0.5**0.5, 0.0]), atol=1e-6)


def test_slerp_of_parallel_vectors_is_the_straight_line() -> None:
    a = torch.tensor([1.0, 2.0])
    path = slerp(a, 2 * a, torch.tensor([0.0, 0.5, 1.0]))
    assert torch.allclose(path, torch.stack([a, 1.5 * a, 2 * a]))


@pytest.fixture(scope="module")
def trained_tiny(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("walk")
    team = write_team(base / "submissions" / "tiny")
    runs_root = base / "runs"
    train_team(
        team, data_root=tiny_data, runs_root=runs_root, overrides={"epochs": 1}, image_size=16
    )
    return team, runs_root


def test_sample_walk_draws_a_grid_whose_ends_are_the_seeds_first_samples(
    trained_tiny: tuple[Path, Path], capsys
) -> None:  # type: ignore[no-untyped-def]
    team, runs_root = trained_tiny
    main_args = ["sample", str(team), "--runs", str(runs_root), "--seed", "4"]
    with pytest.raises(SystemExit) as info:
        main([*main_args, "--walk", "--walk-steps", "5"])
    assert info.value.code == 0
    npz_path, png_path = (Path(p) for p in capsys.readouterr().out.split())
    assert npz_path.name == "walk-epoch-0001-seed4-5-steps5.npz" and png_path.is_file()
    with np.load(npz_path) as archive:
        images, labels = archive["images"], archive["labels"]
    assert images.shape == (10, 16, 16, 3) and labels.tolist() == [0] * 5 + [1] * 5
    # The walk starts at the first draw of seed 4 and ends at the first draw of seed 5: the
    # first with_mask sample that `sample --seed 4` (and --seed 5) scores.
    start = sample_team(team, runs_root=runs_root, n_per_class=1, seed=4).images[0]
    end = sample_team(team, runs_root=runs_root, n_per_class=1, seed=5).images[0]
    assert np.array_equal(images[0], start) and np.array_equal(images[4], end)
    assert not np.array_equal(images[1], images[0]), "the middle of the walk moves"


def test_a_walk_to_itself_is_one_error(trained_tiny: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    team, runs_root = trained_tiny
    with pytest.raises(SystemExit) as info:
        main(["sample", str(team), "--runs", str(runs_root), "--walk", "--walk-steps", "1"])
    assert info.value.code == 1
    assert capsys.readouterr().err.strip() == (
        "error: --walk-steps must be at least 2 (the two ends), got 1"
    )
    with pytest.raises(Exception, match="seeds must differ"):
        walk_team(team, runs_root=runs_root, seeds=(3, 3))


def test_walk_names_a_team_without_a_trained_run(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    team = write_team(tmp_path / "submissions" / "fresh")
    with pytest.raises(SystemExit) as info:
        main(["sample", str(team), "--runs", str(tmp_path / "runs"), "--walk"])
    assert info.value.code == 1
    assert "team fresh has no trained run" in capsys.readouterr().err
