"""Every failed row carries the one-line reason from inside the sandbox (strict isolation).

Run as ``harness score --all`` runs from a competition folder: relative ``runs`` and
``leaderboard`` paths, so that the sandbox, which starts in the read-only team folder, would
resolve a relative log path there. Each team hands in a broken checkpoint (a pickle payload,
wrong shapes, NaN weights, an absurd image size, a garbage file) or a checkpoint with code
that raises ``KeyboardInterrupt``, ``SystemExit`` or calls ``os._exit`` while sampling. Each
gets a failed row whose error names its fault in one line; the terminal shows one line per
team and no traceback; the traceback is in the job's writable folder, not lost.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch

from harness.board import leaderboard
from harness.cli import main
from harness.training.export import export_run
from harness.training.train import train_team
from tests.conftest import requires_bwrap, write_team

pytestmark = [pytest.mark.slow, requires_bwrap]  # eight sandboxed sampling jobs

SIZE = 16
FORWARD = "        return torch.tanh("
EVAL_ONLY = "        if not self.training:\n            {}\n" + FORWARD
# team -> what its row's error must say (a regular expression)
FAULTS = {
    "pickle": r"checkpoint\.pt was refused: .*posix\.system",
    "shapes": r"size mismatch",
    "nan": r"NaN or infinite",
    "huge": r"declares image size 1000000000",
    "garbage": r"checkpoint\.pt was refused",
    "ki": r"KeyboardInterrupt",
    "sysexit": r"SystemExit",
    "osexit": r"exited with code 7 before reporting a result; team code ended the process",
}
CODE_FAULTS = {
    "ki": "raise KeyboardInterrupt",
    "sysexit": "raise SystemExit(3)",
    "osexit": "import os; os._exit(7)",
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> dict:
    """An honest exported checkpoint of the tiny team, as ``torch.load`` reads it."""
    base = tmp_path_factory.mktemp("honest")
    team = write_team(base / "submissions" / "tiny")
    train_team(
        team,
        data_root=tiny_data,
        runs_root=base / "runs",
        overrides={"max_steps": 1},
        image_size=SIZE,
    )
    path = export_run(team, runs_root=base / "runs", out=base / "checkpoint.pt")["path"]
    return torch.load(path, weights_only=True)


def broken_teams(submissions: Path, honest: dict, marker: Path) -> None:
    """One team folder per fault, each with model.py and a checkpoint.pt."""

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    def with_checkpoint(name: str, state: object, replace: dict[str, str] | None = None) -> None:
        team = write_team(submissions / name, replace)
        torch.save(state, team / "checkpoint.pt")

    plain = {**honest, "ema": None}
    weights = dict(plain["generator"])
    first = next(iter(weights))
    with_checkpoint("pickle", {"format": honest["format"], "generator": Payload()})
    with_checkpoint("shapes", {**plain, "generator": {**weights, first: torch.zeros(2, 2)}})
    nan = {
        k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
        for k, v in weights.items()
    }
    with_checkpoint("nan", {**plain, "generator": nan})
    with_checkpoint("huge", {**honest, "image_size": 10**9})
    team = write_team(submissions / "garbage")
    (team / "checkpoint.pt").write_bytes(b"\x80\x04 not a checkpoint at all" * 100)
    for name, line in CODE_FAULTS.items():
        with_checkpoint(name, honest, {FORWARD: EVAL_ONLY.format(line)})


def test_every_fault_is_its_rows_one_line_reason_and_no_traceback(
    exported: dict,
    tiny_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "strict")
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    broken_teams(Path("submissions"), exported, marker)
    Path("rules.toml").write_text(f"n_per_class = 4\nimage_size = {SIZE}\n")
    args = ["score", "--all", "--data", str(tiny_data), "--runs", "runs"]
    try:
        main([*args, "--competition", "rules.toml", "--no-labels", "--bootstrap", "0"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err  # --all: teams' failed rows are not the command's failure
    rows = {
        r["team"]: r for r in leaderboard.read(Path("leaderboard/results.csv")).to_dict("records")
    }
    assert set(rows) == set(FAULTS)
    for team, reason in FAULTS.items():
        row = rows[team]
        assert row["status"] == "failed" and row["isolation"] == "strict", row
        error = row["error"]
        assert "\n" not in error and len(error) < 800, error
        assert "Read-only file system" not in error, error
        assert re.search(reason, error), f"{team}: {error}"
        if team != "osexit":
            assert "before reporting a result" not in error, f"{team}: {error}"
        said = [line for line in err.splitlines() if line.startswith(f"{team}: failed")]
        assert len(said) == 1, err
    assert "Traceback" not in err and "Traceback" not in out
    assert "Read-only file system" not in err
    logs = {p.parts[1] for p in Path("runs").glob("*/handed-in/*/error.log")}
    assert logs >= {"nan", "shapes", "ki", "sysexit", "huge"}, logs  # kept where it may write
    assert not marker.exists(), "the pickle's payload ran"
