"""scripts/gpu_board.sh: the pieces that decide what the GPU run does: the
equal-epochs plan and the returned files (8 per call, 16 MiB each)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "gpu_board.sh"
sys.path.insert(0, str(REPO / "scripts"))

from gpuboard import remote, returns  # noqa: E402


def test_the_plan_gives_every_team_the_same_epochs_within_the_budget() -> None:
    probed = {
        "fast": {"images_per_s": 20_000.0, "start_s": 10.0, "checkpoint_bytes": 50_000_000},
        "slow": {"images_per_s": 5_000.0, "start_s": 12.0, "checkpoint_bytes": 400_000_000},
        "broken": {"error": "error: it failed", "wall_s": 3.0},
    }
    plan = remote.plan_epochs(probed, n_train=10_000, budget_s=300.0)
    per_epoch = (0.5 + 0.25 + 1) + (2.0 + 2.0 + 1)  # images, checkpoint at 200 MB/s, grid
    start = 10.0 + 12.0 + 2 * remote.EXPORT_S
    assert plan["epochs"] == int((300.0 - start) // per_epoch)
    assert plan["planned_s"] <= 300.0 < plan["planned_s"] + per_epoch
    assert remote.plan_epochs(probed, n_train=10_000, budget_s=1.0)["epochs"] == 1


def _export(path: Path, width: int, ema: bool = True) -> None:
    weights = {"w": torch.arange(width, dtype=torch.float32)}
    torch.save(
        {
            "format": "harness-submission-1",
            "generator": weights,
            "ema": {"module.w": weights["w"] + 1, "n_averaged": torch.tensor(3)} if ema else None,
            "image_size": 64,
            "latent_dim": 8,
            "hparams": "{}",
            "meta": {"spec_name": "x"},
        },
        path,
    )


def test_returns_drop_the_raw_generator_cut_parts_and_join_them_checked(tmp_path: Path) -> None:
    for team, width, ema in (
        ("team4", 40_000, True),
        ("team6", 100, True),
        ("team1", 30_000, False),
    ):
        _export(tmp_path / f"{team}.pt", width, ema)
    exports = {t: tmp_path / f"{t}.pt" for t in ("team1", "team4", "team6")}
    manifest = returns.prepare_returns(exports, tmp_path / "return", part_bytes=40_000)
    assert list(manifest["files"]) == ["team4.pt", "team6.pt", "team1.pt"]  # team4, team6 first
    assert len(manifest["files"]["team4.pt"]["parts"]) > 1
    batches = manifest["batch_parts"]
    assert all(len(b) <= 7 for b in batches) and manifest["batches"] == len(batches) >= 2
    outs = []
    for number in range(1, manifest["batches"] + 1):
        out = tmp_path / f"out{number}"
        out.mkdir()
        returns.write_batch(tmp_path / "return", out, number, {"plan": {"epochs": 3}})
        assert len(list(out.iterdir())) <= 8
        outs.append(out)

    partial = returns.reassemble(outs[:1], tmp_path / "joined1")
    assert "team4" in partial["complete"] and "team1" in partial["missing"]
    report = returns.reassemble(outs, tmp_path / "joined")
    assert sorted(report["complete"]) == ["team1", "team4", "team6"] and not report["missing"]
    team4 = torch.load(report["complete"]["team4"], weights_only=True)
    assert team4["generator"] == {} and "EMA" in team4["meta"]["transport"]
    assert torch.equal(team4["ema"]["module.w"], torch.arange(40_000, dtype=torch.float32) + 1)
    team1 = torch.load(report["complete"]["team1"], weights_only=True)  # no EMA: kept whole
    assert torch.equal(team1["generator"]["w"], torch.arange(30_000, dtype=torch.float32))

    first_part = manifest["files"]["team4.pt"]["parts"][0]
    (outs[0] / first_part).write_bytes(b"x" + (outs[0] / first_part).read_bytes()[1:])
    with pytest.raises(Exception, match="does not match its recorded SHA-256"):
        returns.reassemble(outs, tmp_path / "joined2")


def test_a_cpu_dry_run_packs_and_trains_team2_offline_and_its_return_joins(
    tmp_path: Path,
) -> None:
    """The GPU run's first call, as a CPU dry run: pack the train split (no wheels), then
    ``remote`` with the harness dependencies the GPU machine lacks blocked
    (``--simulate-offline``) trains team2 for one step, exports it and cuts the return into
    parts; the second batch is written as ``collect`` writes it (its bench is left out: it
    only times), and the parts join into a checkpoint that loads. About a minute on 2 cores."""
    import json
    import os
    import subprocess

    from harness.data.demo import make_demo_dataset

    data = make_demo_dataset(
        tmp_path / "facemask", train_per_class=66, test_per_class=2, size=64, seed=3
    )
    env = {**os.environ, "PYTHON": sys.executable}

    def stage(*argv: str) -> None:
        done = subprocess.run(
            ["bash", str(SCRIPT), *argv], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-2000:]

    pack, work, out1, out2 = (tmp_path / n for n in ("pack", "work", "out1", "out2"))
    stage("pack", "--data", str(data), "--out", str(pack), "--no-wheels")
    stage(
        "remote", "--pack", str(pack), "--work", str(work), "--out", str(out1), "--device",
        "cpu", "--steps", "1", "--teams", "team2", "--simulate-offline", "--part-bytes",
        "4000000",
    )  # fmt: skip
    report = json.loads((out1 / "report.json").read_text())
    trained = report["train"]["team2"]
    assert trained["status"] == "complete" and trained["steps_done"] == 1, trained
    assert report["prepared"]["train_images"] == 132 and report["dry_run"] is True
    assert len(list(out1.iterdir())) <= 8
    if report["returns"]["batches"] > 1:
        out2.mkdir()
        returns.write_batch(work / "return", out2, 2, {"stage": "collect"})
    joined = returns.reassemble([out1, out2] if out2.exists() else [out1], tmp_path / "joined")
    assert list(joined["complete"]) == ["team2"] and not joined["missing"]
    checkpoint = torch.load(joined["complete"]["team2"], weights_only=True)
    assert checkpoint["image_size"] == 64 and checkpoint["ema"] is not None
