"""``harness doctor``: what this machine offers the harness, and what to do about what is missing.

An organiser runs it before a competition: is team code going to run in the bubblewrap sandbox
(bwrap installed, its version, user namespaces), is there a GPU, are the Inception weights,
the data and the caches where the harness will look. Each line says ``ok``, ``missing`` or
``note`` and, when something is missing, the command that fixes it. Nothing is downloaded,
derived or decoded: the checks only look.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.cli._common import DataOpt, JsonOpt, emit

OK, MISSING, NOTE = "ok", "missing", "note"
USERNS_FILES = {
    "max_user_namespaces": "/proc/sys/user/max_user_namespaces",
    "unprivileged_userns_clone": "/proc/sys/kernel/unprivileged_userns_clone",
    "apparmor_restrict_unprivileged_userns": "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
}


@dataclass(frozen=True)
class Check:
    """One line of the report: what was looked at, its state, what was seen, how to fix it."""

    name: str
    status: str
    detail: str
    fix: str = ""


def check_isolation() -> Check:
    """bubblewrap: installed, its version, whether it can start a sandbox here."""
    from harness.sandbox.isolation import isolation_in_use, probe_bwrap

    probe = probe_bwrap()
    if probe.works:
        return Check(
            "isolation",
            OK,
            f"strict: {probe.version} at {probe.path} starts a sandbox (jobs run "
            f"{isolation_in_use()})",
        )
    return Check(
        "isolation",
        MISSING,
        f"soft only: {probe.problem}; team code could read the held-out test set, so "
        "`score` and other teams' code (--all, a competition.toml) refuse to run",
        f"{probe.advice()}; then `harness doctor` again",
    )


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def check_user_namespaces() -> Check:
    """The kernel settings that decide whether bwrap may create namespaces without root."""
    values = {k: _read(v) for k, v in USERNS_FILES.items()}
    seen = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None) or "no settings"
    root = os.geteuid() == 0
    detail = f"{seen}; running as {'root' if root else 'an unprivileged user'}"
    if values["max_user_namespaces"] == "0":
        return Check("user namespaces", MISSING, detail, "sysctl -w user.max_user_namespaces=15000")
    if not root and values["unprivileged_userns_clone"] == "0":
        return Check(
            "user namespaces", MISSING, detail, "sysctl -w kernel.unprivileged_userns_clone=1"
        )
    if not root and values["apparmor_restrict_unprivileged_userns"] == "1":
        return Check(
            "user namespaces",
            MISSING,
            detail,
            "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile "
            "for bwrap)",
        )
    return Check("user namespaces", OK, detail)


def check_cuda() -> Check:
    """Whether torch sees a GPU, and which device nodes a sandboxed job would get."""
    import torch

    from harness.sandbox.bwrap import gpu_device_nodes

    nodes = gpu_device_nodes()
    bound = f"; bound into jobs: {', '.join(nodes)}" if nodes else ""
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Check("cuda", OK, f"torch {torch.__version__}: {names}{bound}")
    if nodes:
        return Check(
            "cuda",
            MISSING,
            f"GPU device nodes present but torch {torch.__version__} sees no GPU{bound}",
            "install a CUDA build of torch (https://pytorch.org/get-started/locally/)",
        )
    return Check("cuda", NOTE, f"no GPU (torch {torch.__version__}): jobs run on the CPU")


def check_weights() -> Check:
    """The FID Inception weights, looked for where `harness weights` puts them."""
    from harness.scoring.metrics import weights

    folder = weights.checkpoints_dir()
    for name in (weights.OFFICIAL_NAME, weights.DERIVED_NAME):
        if (folder / name).is_file():
            return Check("weights", OK, str(folder / name))
    return Check(
        "weights",
        MISSING,
        f"no FID Inception weights in {folder}",
        "`harness weights` (downloads pytorch-fid's file, or derives it offline)",
    )


def check_data(flag: Path | None) -> Check:
    """The dataset folder, where its path came from, and its split counts."""
    from harness.data.demo import is_demo
    from harness.data.layout import list_split
    from harness.errors import HarnessError
    from harness.paths import data_root_source

    source = "?"
    try:
        root, source = data_root_source(flag)
        counts = {split: len(list(list_split(root, split).items())) for split in ("train", "test")}
    except HarnessError as exc:
        return Check(
            "data",
            MISSING,
            f"{str(exc).split(';')[0]} (path from {source})",
            "`harness config set data PATH` (said once), or pass --data PATH, set "
            "HARNESS_DATA, or `harness data import PATH`",
        )
    demo = " (a synthetic demo set)" if is_demo(root) else ""
    return Check(
        "data",
        OK,
        f"{root}{demo} (from {source}): {counts['train']} train, {counts['test']} test",
    )


def check_caches() -> Check:
    """The cache folder: where, how big, writable, and whether held-out caches exist yet."""
    from harness.data.cache import heldout_cache_root
    from harness.paths import cache_root

    root = cache_root()
    if not root.exists():
        parent = next((p for p in root.parents if p.exists()), Path("/"))
        if os.access(parent, os.W_OK):
            return Check("caches", OK, f"{root} (created on first use)")
        return Check("caches", MISSING, f"{root} cannot be created", "set HARNESS_CACHE")
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    heldout = sum(1 for p in heldout_cache_root().rglob("*") if p.is_file())
    detail = f"{root}: {size / 2**20:.0f} MiB, {heldout} held-out cache files"
    if not os.access(root, os.W_OK):
        return Check("caches", MISSING, detail + ", not writable", "set HARNESS_CACHE")
    return Check("caches", OK, detail)


def doctor(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """What this machine offers: the sandbox (bwrap, user namespaces), CUDA, weights, data, caches."""
    checks = [
        check_isolation(),
        check_user_namespaces(),
        check_cuda(),
        check_weights(),
        check_data(data),
        check_caches(),
    ]
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.name:<{width}}  {c.status:<7}  {c.detail}")
        if c.fix:
            lines.append(f"{'':<{width}}  {'fix:':<7}  {c.fix}")
    emit([asdict(c) for c in checks], as_json, "\n".join(lines))
