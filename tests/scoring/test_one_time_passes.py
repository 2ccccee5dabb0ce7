"""The one-time passes of a first score: announced, measured, preparable, skippable.

Issue 22: a "small" `harness score --n 50` ran 18 minutes silently after sampling, then began
a memorisation pass over every train image labelled "once: about 6 min" (it took far longer);
tuning's validation pass said "once: under a minute" and took 9.5 minutes per class.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.scoring import rounds
from harness.scoring.label_fidelity import LabelJudge
from harness.scoring.score import Scorer, ScoreSettings
from harness.training import runs

SMALL = ScoreSettings(
    n_per_class=10, bootstrap=0, kid_subsets=0, kid_subset_size=8, dims=64, device="cpu"
)


def a_run_of_size(runs_root: Path, team: str, size: int) -> str:
    """A run folder as training leaves it, as far as a round's planning reads it."""
    run_dir = runs_root / team / "r1"
    run_dir.mkdir(parents=True)
    runs.write_config(run_dir, {"team": team, "run_id": "r1", "image_size": size})
    return "r1"


def test_a_round_announces_its_one_time_passes_then_prepare_finds_them_made(
    tiny_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fid_weights,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))  # nothing cached yet
    run_id = a_run_of_size(tmp_path / "runs", "tiny", 16)
    said: list[str] = []
    scorer = Scorer(
        data_root=tiny_data,
        runs_root=tmp_path / "runs",
        settings=SMALL,
        say=said.append,
        label_judge=LabelJudge(tiny_data, device="cpu", say=said.append),
    )
    rounds.prepare_references(scorer, [tmp_path / "submissions" / "tiny"], run_id)
    (line,) = [m for m in said if m.startswith("one-time passes before the first row")]
    assert "Inception features of 24 test images (with_mask and without_mask, 16px)" in line
    assert "of 48 train images for the memorisation check" in line
    assert "the label classifier's training on 48 train images (16px)" in line
    assert "--no-memorisation skips the train pass" in line
    # Each pass ended with what it took on this machine, measured.
    err = capsys.readouterr().err
    assert re.search(r"Inception features of real with_mask \(train\): 24 images in \d+ s", err)
    assert "images/s; cached" in err
    assert rounds.pending_passes(scorer, [16]) == [], "made by the round, in the cache now"
    # `harness prepare` finds them made, and adds tuning's validation features.
    args = ["prepare", "--data", str(tiny_data), "--size", "16", "--dims", "64"]
    with pytest.raises(SystemExit) as info:
        main([*args, "--device", "cpu", "--json"])
    assert info.value.code == 0
    out, err = capsys.readouterr()
    done = {(p["name"], p["was_cached"]) for p in json.loads(out)}
    assert done == {
        ("test features, with_mask", True),
        ("test features, without_mask", True),
        ("train features (memorisation, MiFID), with_mask", True),
        ("train features (memorisation, MiFID), without_mask", True),
        ("label classifier", True),
    }
    # The tiny set's validation part (1 image of with_mask) is too small for a FID: said, and
    # the rest is still prepared.
    assert "validation features (tune), with_mask: skipped: the val part of train has 1" in err


def test_without_memorisation_no_train_pass_is_announced(
    tiny_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fid_weights,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    scorer = Scorer(
        data_root=tiny_data,
        runs_root=tmp_path / "runs",
        settings=ScoreSettings(**{**SMALL.__dict__, "memorisation": False}),
        say=print,
    )
    coming = rounds.pending_passes(scorer, [16])
    assert coming == ["Inception features of 24 test images (with_mask and without_mask, 16px)"]


def test_a_row_without_memorisation_reads_not_measured_never_no() -> None:
    from harness.board.terminal import _memorised

    skipped = pd.Series({"memorised": None, "memorisation_measured": False})
    clean = pd.Series({"memorised": False, "memorisation_measured": True})
    copied = pd.Series({"memorised": True, "memorisation_measured": True})
    older = pd.Series({"memorised": float("nan")})  # a row from before the column existed
    assert [_memorised(r) for r in (skipped, clean, copied, older)] == [
        "not measured",
        "no",
        "yes",
        "not measured",
    ]


def _printed_strings(path: Path) -> list[str]:
    """String constants of a module that are not docstrings (messages, help texts)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_message_predicts_a_duration_from_a_fixed_figure() -> None:
    import harness

    guess = re.compile(r"\(once: |, once: |under a minute|about \{?[\w.:]+\}? ?min|on a 2-core CPU")
    found = [
        f"{path.name}: {text!r}"
        for path in Path(harness.__file__).parent.rglob("*.py")
        for text in _printed_strings(path)
        if guess.search(text)
    ]
    assert found == []
