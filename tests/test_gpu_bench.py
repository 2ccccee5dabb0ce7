"""bench/gpu.sh: refuses to pretend without CUDA, names missing packages, and (as a CPU dry
run on tiny data) prints the one JSON report a GPU run prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "gpu.sh"


def run(args: list[str], python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHON=python)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=900
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_without_cuda_it_says_so_in_one_line() -> None:
    result = run([])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: no CUDA GPU is visible")
    assert "--device cpu makes a dry run" in result.stderr


def test_it_installs_nothing_and_names_what_is_missing(tmp_path: Path) -> None:
    bare = tmp_path / "python-without-site-packages"
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    bare.chmod(0o755)
    result = run([], python=str(bare))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "lacks: torch" in result.stderr


@pytest.mark.slow
def test_a_cpu_dry_run_prints_the_whole_report(tiny_data: Path, fid_weights) -> None:  # type: ignore[no-untyped-def]
    result = run(
        [
            "--data",
            str(tiny_data),
            "--device",
            "cpu",
            "--steps",
            "2",
            "--batch-size",
            "8",
            "--n",
            "8",
        ]
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["dry_run"] is True and report["device"] == "cpu"
    assert report["train"]["steps"] == 2 and report["train"]["precision"] == "fp32"
    assert report["train"]["train_images_per_s_median"] > 0
    assert report["fid"]["images"] == 16 and report["fid"]["abs_fid_difference"] < 1e-3
    assert set(report["targets"]) == {
        "train_images_per_s",
        "pipeline_not_the_bottleneck",
        "fid_speedup_vs_pytorch_fid",
        "abs_fid_difference",
    }
    assert all(set(t) == {"target", "value", "met"} for t in report["targets"].values())
    assert report["targets"]["train_images_per_s"]["met"] is False, "a CPU is no GPU"
