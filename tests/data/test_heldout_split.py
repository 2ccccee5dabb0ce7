"""The public/private assignment of test: deterministic per seed, per class, hidden from teams."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.data.demo import make_demo_dataset
from harness.data.split import assign_public, load_split, make_split, split_path
from harness.errors import DataError, SpecError
from harness.training.train import validate_team
from tests.conftest import write_team


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_demo_dataset(tmp_path / "d", train_per_class=2, test_per_class=9, size=8, seed=3)


def test_the_same_seed_gives_the_same_split_and_another_seed_another(data: Path) -> None:
    first = make_split(data, public_fraction=0.5, seed=11)
    record = json.loads(split_path(data).read_text())
    again = make_split(data, public_fraction=0.5, seed=11, overwrite=True)
    assert again == first and json.loads(split_path(data).read_text()) == record
    other = make_split(data, public_fraction=0.5, seed=12, overwrite=True)
    assert other.public != first.public and other.digest != first.digest
    # Per class, round(0.5 * 9) = 4 public, from that class's own files.
    for label, name in enumerate(("with_mask", "without_mask")):
        files = {p.name for p in (data / "test" / name).iterdir()}
        assert len(first.public[label]) == 4 and first.public[label] <= files


def test_the_assignment_ignores_the_order_files_are_listed_in() -> None:
    names = [f"img{i:02d}.png" for i in range(20)]
    assert assign_public(names, 0.3, 5, 0) == assign_public(names[::-1], 0.3, 5, 0)
    assert len(assign_public(names, 0.3, 5, 0)) == 6
    assert assign_public(names, 0.3, 5, 0) != assign_public(names, 0.3, 5, 1)  # per class


def test_the_split_file_lies_beside_the_test_data_and_is_checked_on_load(
    data: Path, tmp_path: Path
) -> None:
    assert load_split(data) is None
    split = make_split(data, seed=1)
    assert split_path(data).parent == data and load_split(data) == split
    with pytest.raises(DataError, match="already assigns the test images; pass --overwrite"):
        make_split(data, seed=2)
    changed = tmp_path / "changed"
    shutil.copytree(data, changed)
    victim = next((changed / "test" / "with_mask").iterdir())
    victim.write_bytes(victim.read_bytes() + b"\0")
    with pytest.raises(DataError, match=re.escape("was made for other test images")):
        load_split(changed)


@pytest.mark.parametrize(
    ("fraction", "message"),
    [(1.0, "between 0 and 1"), (0.1, "leaves 1 with_mask image")],
)
def test_a_split_that_cannot_work_is_refused(data: Path, fraction: float, message: str) -> None:
    with pytest.raises(DataError, match=message):
        make_split(data, public_fraction=fraction, seed=1)
    assert not split_path(data).exists()


def test_team_code_cannot_read_the_split(data: Path, tmp_path: Path) -> None:
    make_split(data, seed=1)
    target = split_path(data)
    team = write_team(
        tmp_path / "peek",
        {"SIZE = 16\n": f"SIZE = 16\nSECRET = open({str(target)!r}).read()\n"},
    )
    with pytest.raises(SpecError, match="not available to team code"):
        validate_team(team, data_root=data)


def test_data_split_command(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["data", "split", "--data", str(data), "--seed", "4", "--public-fraction", "0.4"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "with_mask 4 public / 5 private" in out and "keep this file secret" in out
    assert json.loads(split_path(data).read_text())["seed"] == 4
