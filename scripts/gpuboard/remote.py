"""``remote`` and ``collect`` (on the GPU machine, which has no network).

``remote`` installs the carried wheels into a private folder, unpacks the train split, probes
each team's training speed with a short run of the normal ``harness train``, picks the one
number of epochs that lets all teams train in the time left, trains them (same seeds, their
own augmentation, EMA, checkpoints), exports each run with ``harness export``, and writes the
report and the first batch of returned files to ``$OUT``. ``collect``, a second call while the
machine is still warm, runs the GPU bench and returns the next batch (see
:mod:`gpuboard.returns` for why the checkpoints need two batches).

Team code runs under soft isolation here, and says so in every run's config: the six teams are
the organiser's own, from this repository, and the held-out ``test`` split never leaves the
organiser's machine (only ``train`` travels), so there is nothing on this machine for
isolation to protect. Strict isolation would also hide the private package folder (bubblewrap
binds only the interpreter's own prefix), and bubblewrap may not be installed there.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

from gpuboard import (
    DATA_FILE,
    NOT_PACKED_MODULES,
    REPO,
    TEAMS,
    WHEELS,
)
from gpuboard import returns as returned
from harness.errors import HarnessError

EXPORT_S = 8.0  # one `harness export`: an interpreter, torch, one checkpoint read and written

BLOCKER = '''"""Written by gpu_board --simulate-offline: modules the GPU machine lacks.

An import of one fails with ModuleNotFoundError, as it would there. A bare lookup
(importlib.util.find_spec, which torch._dynamo makes for optional modules) still finds a
spec: raising there would fail code that handles a missing module by a None spec.
"""
import importlib.machinery
import sys

BLOCKED = frozenset({blocked!r})


class _AbsentLoader:
    @staticmethod
    def create_module(spec):
        raise ModuleNotFoundError(
            f"No module named {{spec.name!r}} (the GPU machine lacks it: --simulate-offline)",
            name=spec.name,
        )

    @staticmethod
    def exec_module(module):
        pass


class _Absent:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return importlib.machinery.ModuleSpec(name, _AbsentLoader)
        return None


sys.meta_path.insert(0, _Absent)
'''


def say(text: str) -> None:
    print(f"[gpu-board {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def install_wheels(pack: Path, work: Path) -> dict[str, Any]:
    """Unpack the wheel archive and install it into ``work/site`` with pip (offline)."""
    archive = pack / WHEELS
    site = work / "site"
    if not archive.is_file():
        return {"installed": [], "note": f"no {archive.name}: using this Python's own packages"}
    wheels = work / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    shutil.rmtree(site, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(wheels, filter="data")
    files = sorted(wheels.glob("*.whl"))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
        "--no-compile", "--disable-pip-version-check", "--find-links", str(wheels),
        "--target", str(site), *map(str, files),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    how = "pip install --no-index --target"
    if done.returncode != 0:  # no pip on this Python: a wheel is a zip to unpack
        say(f"pip failed ({done.stderr.strip()[-200:]}); unpacking the wheels instead")
        for wheel in files:
            with zipfile.ZipFile(wheel) as zipped:
                zipped.extractall(site)
        how = "unzipped (no working pip)"
    return {"installed": [w.name for w in files], "how": how, "site": str(site)}


def child_env(work: Path, simulate_offline: bool) -> dict[str, str]:
    """The environment of every harness command here: the private site folder after this
    tree, the caches under ``work``, soft isolation (see the module docstring)."""
    paths = [str(REPO)]
    if (work / "site").is_dir():
        paths.append(str(work / "site"))
    if simulate_offline:
        blocker = work / "offline"
        blocker.mkdir(parents=True, exist_ok=True)
        (blocker / "sitecustomize.py").write_text(
            BLOCKER.format(blocked=sorted(NOT_PACKED_MODULES))
        )
        paths.insert(0, str(blocker))
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(paths),
        HARNESS_CACHE=str(work / "cache"),
        HARNESS_ISOLATION="soft",
        HARNESS_OFFLINE="1",
        NO_ALBUMENTATIONS_UPDATE="1",
        MPLCONFIGDIR=str(work / "matplotlib"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def prepare(args: argparse.Namespace, *, fresh: bool) -> tuple[dict[str, str], Path, dict]:
    """Install and unpack once (``fresh``) or reuse what an earlier call left in ``work``."""
    work: Path = args.work
    root = work / "data"
    done = work / "prepared.json"
    if not fresh and done.is_file():
        return child_env(work, args.simulate_offline), root, json.loads(done.read_text())
    if fresh:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    install = install_wheels(args.pack, work)
    env = child_env(work, args.simulate_offline)
    packs = sorted(args.pack.glob(DATA_FILE.format(size="*")))
    if not packs:
        raise HarnessError(f"no {DATA_FILE.format(size='N')} in {args.pack}; run the pack stage")
    os.environ["HARNESS_CACHE"] = env["HARNESS_CACHE"]
    from harness.data.transport import unpack_split

    arrays = unpack_split(packs[0], root)
    info = {
        "install": install,
        "train_images": len(arrays.labels),
        "image_size": int(arrays.meta["size"]),
        "data_fingerprint_train": arrays.meta["fingerprint"],
        "prepare_s": round(time.monotonic() - started, 1),
    }
    done.write_text(json.dumps(info, indent=2))
    return env, root, info


def machine(env: dict[str, str], device: str) -> dict[str, Any]:
    code = (
        "import json, os, platform, torch\n"
        f"cuda = torch.cuda.is_available() and {device!r} != 'cpu'\n"
        "print(json.dumps({'python': platform.python_version(), 'torch': torch.__version__,"
        " 'cuda': torch.version.cuda, 'gpu': torch.cuda.get_device_name(0) if cuda else None,"
        " 'gpu_memory_gib': round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)"
        " if cuda else None, 'cpus': os.cpu_count(), 'host': platform.node()}))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"torch does not start here: {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout)


def harness(
    env: dict[str, str], argv: list[str], log: Path, timeout: float | None = None
) -> tuple[dict | None, float, str]:
    """Run ``python -m harness ARGV --json``; its JSON result (None on failure), the wall
    seconds and the last line of its error output."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("a") as errors:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "harness", *argv, "--json"],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - started, f"stopped after {timeout:.0f} s"
    wall = time.monotonic() - started
    lines = log.read_text(errors="replace").strip().splitlines()
    last = next((line for line in reversed(lines) if line.startswith("error")), "")
    if done.returncode != 0:
        return None, wall, last or (lines[-1] if lines else f"exit {done.returncode}")
    return json.loads(done.stdout), wall, ""


def steady_images_per_s(run_dir: Path) -> float | None:
    """Median images/s of the logged windows after the first third (warm-up)."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return None
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rates = [r["img_per_s"] for r in records if r.get("kind") == "step" and "img_per_s" in r]
    steady = rates[len(rates) // 3 :]
    return statistics.median(steady) if steady else None


def train_args(team: str, root: Path, runs: Path, device: str, overrides: dict) -> list[str]:
    out = ["train", f"submissions/{team}", "--data", str(root), "--runs", str(runs)]
    out += ["--device", device, "--isolation", "soft", "--timeout", "0"]
    for key, value in overrides.items():
        out += [f"--{key.replace('_', '-')}", str(value)]
    return out


def probe(args: argparse.Namespace, env: dict, root: Path, teams: list[str]) -> dict:
    """Each team's speed from a short run of the normal training path."""
    out: dict[str, Any] = {}
    for team in teams:
        say(f"probe: {team}, {args.probe_steps} steps")
        argv = train_args(team, root, args.work / "probe", args.device,
                          {"max_steps": args.probe_steps})  # fmt: skip
        result, wall, error = harness(env, argv, args.work / "logs" / f"probe-{team}.log")
        if result is None:
            out[team] = {"error": error, "wall_s": round(wall, 1)}
            continue
        steady = steady_images_per_s(Path(result["run_dir"])) or result["images_per_s"]
        ckpt = Path(result["checkpoint"])
        config = json.loads((Path(result["run_dir"]) / "config.json").read_text())
        batch = int(config.get("train_config", {}).get("batch_size", 64))
        stepping = args.probe_steps * batch / max(steady, 1e-9)
        out[team] = {
            "images_per_s": round(steady, 1),
            "batch_size": batch,
            "wall_s": round(wall, 1),
            "start_s": round(max(wall - stepping, 0.0), 1),
            "checkpoint_bytes": ckpt.stat().st_size if ckpt.is_file() else 0,
        }
    return out


def plan_epochs(probed: dict, n_train: int, budget_s: float) -> dict[str, Any]:
    """The equal number of epochs that fits ``budget_s`` for all probed teams together.

    Per team: its start-up (probe wall time minus its stepping time) once, and per epoch
    ``n_train / images_per_s`` plus a checkpoint and a grid (the checkpoint's bytes at an
    assumed 200 MB/s, plus 1 s), and its export (:data:`EXPORT_S`). Never fewer than 1.
    """
    good = {t: p for t, p in probed.items() if "images_per_s" in p}
    start = sum(p["start_s"] + EXPORT_S for p in good.values())
    per_epoch = sum(
        n_train / p["images_per_s"] + p["checkpoint_bytes"] / 200e6 + 1.0 for p in good.values()
    )
    epochs = max(1, math.floor((budget_s - start) / per_epoch)) if good else 1
    return {
        "epochs": epochs,
        "budget_s": round(budget_s, 1),
        "start_s_all_teams": round(start, 1),
        "epoch_s_all_teams": round(per_epoch, 1),
        "planned_s": round(start + epochs * per_epoch, 1),
    }


def remote(args: argparse.Namespace) -> int:
    began = time.monotonic()
    teams = list(args.teams or TEAMS)
    args.out.mkdir(parents=True, exist_ok=True)
    env, root, prepared = prepare(args, fresh=True)
    report: dict[str, Any] = {
        "stage": "remote",
        "machine": machine(env, args.device),
        "device": args.device,
        "dry_run": args.device == "cpu",
        "isolation": "soft (the organiser's own teams; no held-out data on this machine)",
        "prepared": prepared,
    }
    say(f"machine: {report['machine']}")
    if args.steps:
        probed: dict[str, Any] = {}
        plan = {"epochs": 1, "note": f"dry run: --steps {args.steps}, no probe"}
    else:
        t0 = time.monotonic()
        probed = probe(args, env, root, teams)
        left = args.call_limit_s - (time.monotonic() - began) - returned.RESERVE_S
        plan = plan_epochs(probed, prepared["train_images"], min(args.train_budget_s, left))
        plan["probe_s"] = round(time.monotonic() - t0, 1)
    report["probe"], report["plan"] = probed, plan
    say(f"plan: {plan}")
    overrides = {"epochs": plan["epochs"], **({"max_steps": args.steps} if args.steps else {})}
    trained: dict[str, Any] = {}
    exports: dict[str, Path] = {}
    t0 = time.monotonic()
    for team in teams:
        say(f"train: {team}, {overrides}")
        logs = args.work / "logs"
        argv = train_args(team, root, args.work / "runs", args.device, overrides)
        result, wall, error = harness(env, argv, logs / f"train-{team}.log")
        if result is None:
            trained[team] = {"error": error, "wall_s": round(wall, 1)}
            say(f"{team} failed: {error}")
            continue
        trained[team] = {
            "epochs_done": result["epochs_done"],
            "steps_done": result["steps_done"],
            "status": result["status"],
            "images_per_s": round(result["images_per_s"], 1),
            "steady_images_per_s": steady_images_per_s(Path(result["run_dir"])),
            "wall_s": round(wall, 1),
            "peak_gpu_mib": round(result.get("peak_gpu_mib", 0.0)),
            "peak_rss_mib": round(result.get("peak_rss_mib", 0.0)),
            "device": result["device"],
            "run_id": result["run_id"],
        }
        target = args.work / "export" / f"{team}.pt"
        exported, _, error = harness(
            env,
            ["export", f"submissions/{team}", "--runs", str(args.work / "runs"), "--out",
             str(target)],
            logs / f"export-{team}.log",
        )  # fmt: skip
        if exported is None:
            trained[team]["export_error"] = error
            continue
        trained[team]["export_bytes"] = exported["bytes"]
        exports[team] = target
    report["train"] = trained
    report["train_wall_s_all_teams"] = round(time.monotonic() - t0, 1)
    report["returns"] = returned.prepare_returns(
        exports, args.work / "return", part_bytes=args.part_bytes
    )
    report["remote_wall_s"] = round(time.monotonic() - began, 1)
    returned.write_batch(args.work / "return", args.out, 1, report)
    say(f"done in {report['remote_wall_s']} s; batch 1 of {report['returns']['batches']} in $OUT")
    return 0


def collect(args: argparse.Namespace) -> int:
    """The GPU bench (team2's training speed, Inception against pytorch-fid) and batch N."""
    began = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    kept = (args.work / "return" / "returns.json").is_file()
    env, root, prepared = prepare(args, fresh=False)
    info: dict[str, Any] = {"stage": "collect", "machine": machine(env, args.device)}
    info["prepared"] = prepared
    if not kept:
        info["note"] = (
            "the first call's files were gone (a fresh machine): only the bench ran; "
            "train again with `remote`"
        )
    say("bench: team2 training speed and Inception features vs pytorch-fid")
    command = [
        sys.executable, str(REPO / "scripts" / "gpuboard" / "bench.py"), "--data", str(root),
        "--device", args.device, "--steps", str(args.bench_steps), "--batch-size",
        str(args.bench_batch_size), "--n", str(args.fid_n), "--fid-batch-sizes",
        *map(str, args.fid_batch_sizes), "--repeats", str(args.fid_repeats),
    ]  # fmt: skip
    log = args.work / "logs" / "bench.log"
    with log.open("a") as errors:
        done = subprocess.run(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
    if done.returncode == 0:
        info["bench"] = json.loads(done.stdout)
    else:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        info["bench"] = {"error": " | ".join(tail)}
    info["collect_wall_s"] = round(time.monotonic() - began, 1)
    batch = args.batch or 2
    if kept:
        returned.write_batch(args.work / "return", args.out, batch, info)
    else:
        (args.out / f"collect-{batch}.json").write_text(json.dumps(info, indent=2))
    say(f"done in {info['collect_wall_s']} s")
    return 0
