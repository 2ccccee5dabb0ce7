"""harness export: a small, safe checkpoint.pt from a run; a crafted pickle is refused unrun."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from harness.cli import main
from harness.training import checkpoint, runs
from harness.training.export import FORMAT, ExportedCheckpointError, load_exported

RUN_ID = "20260101-000000"


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, Path]:
    """A hand-made run of team ``t`` with one training checkpoint (no child processes)."""
    g = torch.nn.Linear(4, 3)
    run_dir = tmp_path / "runs" / "t" / RUN_ID
    runs.write_config(
        run_dir,
        {"run_id": run_dir.name, "spec_name": "tiny", "epochs_done": 3, "steps_done": 30,
         "train_config": {"seed": 5}, "data_fingerprint_train": "f" * 64, "device": "cpu"},
    )  # fmt: skip
    ema = {f"module.{k}": v + 1 for k, v in g.state_dict().items()}
    state = {
        "epoch": 3, "batch": 0, "step": 30, "generator": g.state_dict(),
        "discriminator": torch.nn.Linear(3000, 10).state_dict(),
        "ema": {**ema, "n_averaged": torch.tensor(30)},
        "opt_g": {"state": {}, "param_groups": []}, "opt_d": {"state": {}, "param_groups": []},
        "latent_dim": 4, "image_size": 16, "hparams": json.dumps({"width": 3}),
    }  # fmt: skip
    checkpoint.save(run_dir, state)
    (tmp_path / "sub" / "t").mkdir(parents=True)
    return tmp_path / "sub" / "t", tmp_path / "runs"


def test_export_writes_generator_ema_and_metadata_only(
    run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    team, runs_root = run
    with pytest.raises(SystemExit) as info:
        main(["export", str(team), "--runs", str(runs_root), "--json"])
    assert info.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bytes"] < result["checkpoint_bytes"] / 3 and result["ema"] is True
    state = load_exported(team / "checkpoint.pt")
    assert state["format"] == FORMAT and set(state) == {
        "format", "generator", "ema", "image_size", "latent_dim", "hparams", "meta",
    }  # fmt: skip
    assert (state["image_size"], state["latent_dim"], json.loads(state["hparams"])) == (
        16,
        4,
        {"width": 3},
    )
    meta = state["meta"]
    assert (meta["spec_name"], meta["run_id"], meta["epochs_done"]) == ("tiny", RUN_ID, 3)
    assert meta["train_seed"] == 5 and meta["data_fingerprint_train"] == "f" * 64
    assert meta["harness_version"] and meta["torch_version"] == str(torch.__version__)
    source = checkpoint.load(runs.latest_checkpoint(runs_root / "t" / RUN_ID))  # type: ignore[arg-type]
    assert torch.equal(state["ema"]["module.bias"], source["ema"]["module.bias"])
    assert torch.equal(state["generator"]["weight"], source["generator"]["weight"])


def test_a_crafted_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "checkpoint.pt"
    torch.save({"format": FORMAT, "generator": Payload()}, path)
    with pytest.raises(ExportedCheckpointError, match=r"refused.*GLOBAL posix\.system"):
        load_exported(path)
    assert not marker.exists()


def test_a_training_checkpoint_is_not_an_export(run: tuple[Path, Path]) -> None:
    _, runs_root = run
    ckpt = runs.latest_checkpoint(next((runs_root / "t").iterdir()))
    assert ckpt is not None
    with pytest.raises(ExportedCheckpointError, match="not a checkpoint made by `harness export`"):
        load_exported(ckpt)
