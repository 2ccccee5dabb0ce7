"""Every option `harness train` can refuse is refused before a run folder exists.

Issue 22: `--set nosuchkey=1`, `--epochs 0` and `--max-steps -3` each left
`runs/<team>/<id>/` with status `created` and an error.log holding a traceback. The class of
bug is "checked in the training child, after the parent made the folder", so every rejectable
option is tried here, and each must end in one `error:` line with no folder left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.training import runs
from harness.training.train import train_team
from tests.cli.test_bad_input import run_cli

REJECTED = {
    "unknown --set key": (["--set", "nosuchkey=1"], "nosuchkey"),
    "--set value of the wrong type": (["--set", "epochs=many"], "epochs='many'"),
    "--set without =": (["--set", "lr_g"], "key=value"),
    "--set out of range": (["--set", "lr_g=-1"], "lr_g must be positive"),
    "--set unknown augment": (["--set", "augment=wild"], "augment must be one of"),
    "--epochs 0": (["--epochs", "0"], "epochs must be at least 1"),
    "--batch-size 0": (["--batch-size", "0"], "batch_size must be at least 1"),
    "--batch-size past the data": (["--batch-size", "1000"], "larger than the 48 training"),
    "--max-steps -3": (["--max-steps", "-3"], "max_steps must be 0"),
    "--device nonsense": (["--device", "gpu7"], "device 'gpu7'"),
    "--precision fp16": (["--precision", "fp16"], "unknown precision 'fp16'"),
    "--timeout -1": (["--timeout", "-1"], "--timeout must be 0"),
    "--memory-gib -2": (["--memory-gib", "-2"], "--memory-gib must be 0"),
    "--resume of no run": (["--resume", "19990101-000000"], "no run '19990101-000000'"),
    "--params file missing": (["--params", "nosuch.json"], "nosuch.json"),
    "--isolation unknown": (["--isolation", "loose"], "loose"),
}


@pytest.mark.parametrize("case", list(REJECTED), ids=list(REJECTED))
def test_a_rejected_train_option_leaves_no_run_folder(
    case: str,
    tiny_team: Path,
    tiny_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    extra, fragment = REJECTED[case]
    runs_root = tmp_path / "runs"
    args = ["train", str(tiny_team), "--data", str(tiny_data), "--runs", str(runs_root)]
    code, err = run_cli([*args, *extra], capsys)
    assert code == 1 and "Traceback" not in err, err
    # A progress bar of the data cache may come first (tqdm's carriage returns); then one line.
    errors = [line for line in err.replace("\r", "\n").splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("error: ") and fragment in errors[0], err
    left = sorted(runs_root.glob("*/*")) if runs_root.exists() else []
    assert left == [], f"{case} left {left}"


def test_a_rejected_option_on_resume_leaves_the_run_as_it_was(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={"max_steps": 2}
    )
    run_dir = Path(first["run_dir"])
    before = runs.read_config(run_dir)
    code, err = run_cli(
        [
            *("train", str(tiny_team), "--data", str(tiny_data), "--runs", str(tmp_path)),
            *("--resume", "latest", "--set", "nosuchkey=1"),
        ],
        capsys,
    )
    assert code == 1 and "nosuchkey" in err and "Traceback" not in err
    assert runs.read_config(run_dir) == before
    assert [p.name for p in (tmp_path / "tiny").iterdir()] == [run_dir.name]
