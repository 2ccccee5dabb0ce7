"""No file a team hands in, and no file team code writes in its run folder, leads the harness
out of that folder (issue 21, item 1).

The class, not the examples: for every file the parent reads, binds or rewrites in a team
folder and in a run folder, a link to a secret is planted in each form (absolute, relative,
through a linked folder on the way, dangling, and a hard link), the real command runs
(``validate``, ``score``, ``sample``, the site's file lookup), and the test asserts that the
command refuses with one line naming the file and that the secret's bytes are nowhere the
team can read afterwards (its team folder, its run folder) nor in the row or the message.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.board.site.assets import find_team_files
from harness.data import cache as data_cache
from harness.errors import HarnessError
from harness.scoring.sample import sample_team
from harness.scoring.score import Scorer, ScoreSettings
from harness.training.export import export_run
from harness.training.train import train_team, validate_team
from tests.conftest import write_team

N = 4
SIZE = 16
SECRET = b'{"seed": 7301924613, "public": ["test/with_mask/0001.png"]}\n'
SETTINGS = ScoreSettings(
    n_per_class=N,
    seed=0,
    bootstrap=0,
    kid_subsets=2,
    kid_subset_size=2,
    dims=64,
    device="cpu",
    samples_image_size=SIZE,
)
FORMS = ("absolute", "relative", "folder", "dangling", "hard")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> dict[str, Path]:
    """A trained tiny team, its exported checkpoint, and honest samples at the right size."""
    base = tmp_path_factory.mktemp("links")
    data = base / "facemask"
    shutil.copytree(tiny_data, data)
    code = write_team(base / "submissions" / "code")
    result = train_team(
        code, data_root=data, runs_root=base / "runs", overrides={"max_steps": 1}, image_size=SIZE
    )
    export_run(code, runs_root=base / "runs", out=base / "exported.pt")
    train = data_cache.cached_split(data, "train", SIZE, progress=False)
    images = np.concatenate([train.of_class(0)[:N], train.of_class(1)[:N]])
    np.savez(base / "samples.npz", images=images, labels=np.repeat(np.arange(2), N))
    return {"base": base, "data": data, "code": code, "run": Path(result["run_dir"])}


def _secret_copy(where: Path, kind: str, world: dict[str, Path]) -> Path:
    """A file that must never reach a team: valid content of the planted file's kind, so that
    a harness that followed the link would accept it."""
    where.parent.mkdir(parents=True, exist_ok=True)
    if kind == "checkpoint":
        shutil.copy(world["base"] / "exported.pt", where)
    elif kind == "npz":
        shutil.copy(world["base"] / "samples.npz", where)
    elif kind == "png":
        Image.fromarray(np.full((SIZE, SIZE, 3), 77, np.uint8)).save(where)
    else:
        where.write_bytes(SECRET)
    return where


def plant(folder: Path, rel: str, kind: str, form: str, elsewhere: Path, world: dict) -> bytes:
    """Replace ``folder/rel`` with a link of ``form`` to a secret; return the secret's bytes."""
    target = folder / rel
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if form == "folder":  # a folder on the way is the link; the file in it is plain
        parent = target.parent
        outside = elsewhere / "linked-folder"
        if parent.exists():
            shutil.copytree(parent, outside, dirs_exist_ok=True)
        secret = _secret_copy(outside / target.name, kind, world)
        shutil.rmtree(parent)
        parent.symlink_to(outside, target_is_directory=True)
        return secret.read_bytes()
    secret = _secret_copy(elsewhere / f"secret-{target.name}", kind, world)
    if form == "absolute":
        target.symlink_to(secret)
    elif form == "relative":
        target.symlink_to(os.path.relpath(secret, target.parent))
    elif form == "dangling":
        target.symlink_to(elsewhere / "gone" / target.name)
    else:
        os.link(secret, target)
    return secret.read_bytes()


def assert_secret_nowhere(secret: bytes, folders: list[Path], *texts: str) -> None:
    """The secret's bytes are in no regular file (links not followed) nor message."""
    for folder in folders:
        for dirpath, _, names in os.walk(folder):
            for name in names:
                path = Path(dirpath) / name
                if path.is_symlink() or not path.is_file() or os.stat(path).st_nlink > 1:
                    continue  # the planted link itself; reading through it is the attack
                assert secret not in path.read_bytes(), f"the secret was copied to {path}"
    for text in texts:
        assert secret.decode("latin-1") not in text


def samples_team(folder: Path, world: dict[str, Path], *, pngs: bool) -> Path:
    folder.mkdir(parents=True)
    if not pngs:
        shutil.copy(world["base"] / "samples.npz", folder / "samples.npz")
        return folder
    with np.load(world["base"] / "samples.npz") as archive:
        images, labels = archive["images"], archive["labels"]
    for label, name in enumerate(("with_mask", "without_mask")):
        (folder / "samples" / name).mkdir(parents=True)
        for i, image in enumerate(images[labels == label]):
            Image.fromarray(image).save(folder / "samples" / name / f"{i:03d}.png")
    return folder


# (file in the team folder, kind of secret, the team it is planted in, forms that apply)
TEAM_FILES = [
    ("model.py", "text", "code", ("absolute", "relative", "dangling", "hard")),
    ("helpers/blocks.py", "text", "code", FORMS),  # a module model.py imports
    ("README.md", "text", "code", ("absolute", "relative", "dangling", "hard")),
    ("checkpoint.pt", "checkpoint", "checkpoint", ("absolute", "relative", "dangling", "hard")),
    ("samples.npz", "npz", "npz", ("absolute", "relative", "dangling", "hard")),
    ("samples/with_mask/000.png", "png", "pngs", FORMS),
]


@pytest.mark.parametrize(
    ("rel", "kind", "team_kind", "form"),
    [(rel, kind, team, form) for rel, kind, team, forms in TEAM_FILES for form in forms],
)
def test_a_link_in_a_team_folder_is_refused_by_name(
    world: dict[str, Path], tmp_path: Path, rel: str, kind: str, team_kind: str, form: str
) -> None:
    team = tmp_path / "submissions" / "linker"
    if team_kind in ("code", "checkpoint"):
        write_team(team)
        (team / "helpers").mkdir()
        (team / "helpers" / "blocks.py").write_text("WIDTH = 8\n")
        (team / "README.md").write_text("# linker\n")
        if team_kind == "checkpoint":
            shutil.copy(world["base"] / "exported.pt", team / "checkpoint.pt")
    else:
        samples_team(team, world, pngs=team_kind == "pngs")
    secret = plant(team, rel, kind, form, tmp_path / "elsewhere", world)
    runs_root = tmp_path / "runs"
    with pytest.raises(HarnessError) as info:
        if team_kind == "code":
            validate_team(team, world["data"])
        else:
            scorer = Scorer(
                data_root=world["data"], runs_root=runs_root, settings=SETTINGS, say=lambda m: None
            )
            scorer.score_team(team)
    message = str(info.value)
    named = Path(rel).parent.name if form == "folder" else Path(rel).name
    assert named in message and "\n" not in message, message
    assert ("hard link" if form == "hard" else "symbolic link") in message, message
    assert_secret_nowhere(secret, [team, runs_root], message)


# (file in the run folder, kind of secret, forms that apply)
RUN_FILES = [
    ("config.json", "text", ("absolute", "relative", "dangling", "hard")),
    ("checkpoints/latest.json", "text", FORMS),
    ("checkpoints/CKPT", "checkpoint", FORMS),  # another team's checkpoint, say
    ("samples/placeholder", "text", ("folder",)),  # where the parent writes the samples
]


@pytest.mark.parametrize(
    ("rel", "kind", "form"), [(rel, kind, form) for rel, kind, forms in RUN_FILES for form in forms]
)
def test_a_link_in_a_run_folder_is_refused_by_name(
    world: dict[str, Path], tmp_path: Path, rel: str, kind: str, form: str
) -> None:
    runs_root = tmp_path / "runs"
    run = runs_root / "code" / world["run"].name
    shutil.copytree(world["run"], run)
    ckpt = json.loads((run / "checkpoints" / "latest.json").read_text())["file"]
    rel = rel.replace("CKPT", ckpt)
    secret = plant(run, rel, kind, form, tmp_path / "elsewhere", world)
    with pytest.raises(HarnessError) as info:
        sample_team(world["code"], runs_root=runs_root, n_per_class=N)
    message = str(info.value)
    named = Path(rel).parent.name if form == "folder" else Path(rel).name
    assert named in message and "\n" not in message, message
    assert ("hard link" if form == "hard" else "symbolic link") in message, message
    assert_secret_nowhere(secret, [runs_root, world["code"]], message)


@pytest.mark.parametrize("rel", ["config.json", "loss_curves.png", "samples/SAMPLES"])
@pytest.mark.parametrize("form", ["absolute", "relative", "hard"])
def test_the_site_reads_no_link_of_a_run_folder(
    world: dict[str, Path], tmp_path: Path, rel: str, form: str
) -> None:
    runs_root = tmp_path / "runs"
    run = runs_root / "code" / world["run"].name
    shutil.copytree(world["run"], run)
    (run / "samples").mkdir(exist_ok=True)
    rel = rel.replace("SAMPLES", "samples-epoch-0001-n4-seed0.npz")
    kind = {"config.json": "text", "loss_curves.png": "png"}.get(rel, "npz")
    plant(run, rel, kind, form, tmp_path / "elsewhere", world)
    row = {"team": "code", "run_id": run.name, "source": "code", "checkpoint": "epoch-0001.pt"}
    row |= {"n_fake_with_mask": 4, "sample_seed": 0}
    files = find_team_files(row, runs_root=runs_root, submissions=tmp_path / "submissions")
    if rel == "config.json":
        assert files.config is None and "link" in files.notes["hparams"]
    elif rel == "loss_curves.png":
        assert files.loss_curves is None
    else:
        assert files.samples is None


def test_a_team_folder_that_is_its_own_git_repository_runs_nothing_in_the_parent(
    tmp_path: Path,
) -> None:
    from harness.training.runs import git_commit

    team = write_team(tmp_path / "submissions" / "gitty")
    marker = tmp_path / "ran-in-the-parent"
    hook = team / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    (team / ".git").mkdir()
    (team / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (team / ".git" / "objects").mkdir()
    (team / ".git" / "refs").mkdir()
    (team / ".git" / "config").write_text(
        f"[core]\n\trepositoryformatversion = 0\n\tfsmonitor = {hook}\n"
    )
    assert git_commit(team) == "unknown"
    assert not marker.exists()
