"""Class-conditional samples from a trained run, made in a child, checked in the parent.

The child loads the checkpoint's generator (the EMA copy when the run kept one), draws
``z`` from a CPU generator seeded with ``seed`` (so every team and every device gets the same
noise stream for the same latent size), and writes ``samples.npz``: ``images`` uint8
``[N, S, S, 3]`` and ``labels`` int64 ``[N]``, class 0 first. The parent trusts nothing in
that file until :func:`check_samples` has looked at dtype, shape, counts and content.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import atomic
from harness.classes import CLASS_NAMES, NUM_CLASSES
from harness.errors import HarnessError, SampleError
from harness.sandbox.limits import job_limits
from harness.sandbox.runner import JobAccess, Limits, run_child
from harness.training import runs

BATCH = 200
MAX_IMAGE_SIZE = 2048
GRID_COLUMNS = 8


@dataclass(frozen=True)
class SampleSet:
    """Checked samples of one run: images uint8 ``[N, S, S, 3]``, labels int64 ``[N]``."""

    images: np.ndarray
    labels: np.ndarray
    path: Path
    run_dir: Path
    checkpoint: str
    used_ema: bool
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)  # what an exported checkpoint records

    def of_class(self, label: int) -> np.ndarray:
        """The samples of one class."""
        return self.images[self.labels == label]


LABELS_READ_FACTOR = 16  # a wrong count is named per class while labels stay this small


def npz_budget(n_total: int, size: int) -> int:
    """The most bytes a samples npz of ``n_total`` images may hold on disk: the raw arrays
    (stored or compressed; deflate grows random bytes by well under 1%) plus zip overhead."""
    from harness.sandbox.safe_images import ZIP_SLACK_BYTES

    raw = n_total * (size * size * 3 + 8)
    return raw + raw // 50 + ZIP_SLACK_BYTES


def check_samples(
    path: Path, *, n_per_class: int, size: int, team: str, root: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load ``path`` and enforce the samples contract; raise :class:`SampleError` naming the fault.

    The file is read through :mod:`harness.sandbox.safe_images`: no link is followed out of
    ``root`` (default: the file's folder), and the arrays' headers are checked against
    ``n_per_class`` images of ``size`` before anything is inflated, so a small file that
    declares a huge array costs the parent neither memory nor time.
    """
    from harness.sandbox.safe_images import NpyHeader, npz_headers, read_npz

    path = Path(path)
    n_total = n_per_class * NUM_CLASSES

    def accept(headers: dict[str, NpyHeader]) -> int:
        images, labels = headers["images"], headers["labels"]
        if images.dtype != np.uint8:
            raise SampleError(f"{team}: samples have dtype {images.dtype}, expected uint8")
        if len(images.shape) != 4 or images.shape[1:] != (size, size, 3):
            raise SampleError(
                f"{team}: samples have shape {images.shape}, expected [N, {size}, {size}, 3]"
            )
        n = images.shape[0]
        if labels.dtype != np.int64 or labels.shape != (n,):
            raise SampleError(
                f"{team}: labels must be int64 [{n}], got {labels.dtype} {labels.shape}"
            )
        if n != n_total and n > LABELS_READ_FACTOR * n_total:
            raise SampleError(
                f"{team}: {path.name} declares {n} samples, expected {n_per_class} per class "
                f"({n_total} in all)"
            )
        return n * (size * size * 3 + 8)

    where = root or path.parent
    cap = npz_budget(n_total, size)
    try:
        headers = npz_headers(path, root=where, keys=("images", "labels"), max_file_bytes=cap)
        if accept(headers) and headers["images"].shape[0] != n_total:
            # A wrong count is named per class, from the labels alone (a few kB).
            labels = read_npz(
                path,
                root=where,
                keys=("labels",),
                check=lambda h: h["labels"].nbytes,
                max_file_bytes=cap,
            )["labels"]
            _check_counts(labels, n_per_class, team)
        arrays = read_npz(
            path, root=where, keys=("images", "labels"), check=accept, max_file_bytes=cap
        )
        images, labels = arrays["images"], arrays["labels"]
    except SampleError:
        raise
    except KeyError:
        raise SampleError(f"{team}: {path} lacks 'images' or 'labels'") from None
    except HarnessError as exc:
        raise SampleError(f"{team}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise SampleError(f"{team}: samples file {path} is unreadable ({exc})") from None
    _check_counts(labels, n_per_class, team)
    flat = images.reshape(len(images), -1)
    constant = int((flat.min(axis=1) == flat.max(axis=1)).sum())
    if constant:
        raise SampleError(
            f"{team}: {constant} of {len(images)} samples are constant images (one flat colour); "
            "the generator has collapsed or saturated"
        )
    return images, labels


def _check_counts(labels: np.ndarray, n_per_class: int, team: str) -> None:
    counts = np.bincount(labels.clip(0, NUM_CLASSES), minlength=NUM_CLASSES + 1)
    if counts[NUM_CLASSES] or labels.min(initial=0) < 0:
        raise SampleError(f"{team}: labels outside 0..{NUM_CLASSES - 1}")
    for label, name in enumerate(CLASS_NAMES):
        if counts[label] != n_per_class:
            raise SampleError(f"{team}: {counts[label]} samples of {name}, expected {n_per_class}")


def check_inside_run(path: Path, run_dir: Path, what: str, team: str) -> None:
    """Raise SampleError unless ``path`` is missing or a plain file inside ``run_dir``, with
    no link in its own name or in any folder on the way.

    Team code writes in its own run folder, so a link there (``samples`` pointing at another
    team's run, a checkpoint pointing at a test image) could make this process read or write
    outside it; the paths the parent reads and writes are checked first.
    """
    from harness.sandbox.safe_files import entry_kind

    kind = entry_kind(Path(path), root=Path(run_dir))
    if kind not in ("missing", "file"):
        what_it_is = "is (or lies under) a symbolic link" if kind == "link" else "is not a file"
        raise SampleError(
            f"{team}: the {what} {path} {what_it_is} in the run folder {run_dir}; the harness "
            "follows no link there: train a new run"
        )


def sample_team(
    team_dir: Path,
    *,
    runs_root: Path,
    run_id: str | None = None,
    checkpoint: Path | None = None,
    n_per_class: int = 1000,
    seed: int = 0,
    device: str = "auto",
    limits: Limits | None = None,
    forbidden: list[str] | None = None,
) -> SampleSet:
    """Generate, save and check ``n_per_class`` samples per class from a team's run.

    The child sees the team folder, the checkpoint and the run folder (where the samples go);
    ``forbidden`` paths are refused by its audit hook too. ``limits`` default to the
    ``sample`` job's (:func:`harness.sandbox.limits.job_limits`).
    """
    if n_per_class < 1:
        raise SampleError(f"--n {n_per_class}: ask for at least 1 sample per class")
    team = runs.team_name(team_dir)
    run_dir = runs.find_run(runs_root, team, run_id)
    ckpt = Path(checkpoint) if checkpoint else runs.latest_checkpoint(run_dir)
    assert ckpt is not None
    trained_size = runs.read_config(run_dir).get("image_size")  # refused now if it is a link
    out = run_dir / runs.SAMPLES / f"samples-{ckpt.stem}-n{n_per_class}-seed{seed}.npz"
    samples = sample_checkpoint(
        team_dir,
        ckpt,
        out=out,
        work_dir=run_dir,
        n_per_class=n_per_class,
        seed=seed,
        device=device,
        limits=limits,
        forbidden=forbidden,
    )
    expected = trained_size if isinstance(trained_size, int) else samples.images.shape[1]
    if samples.images.shape[1] != expected:
        raise SampleError(
            f"{team}: samples are {samples.images.shape[1]} px but the run trained at {expected} px"
        )
    return samples


def sample_checkpoint(
    team_dir: Path,
    ckpt: Path,
    *,
    out: Path,
    work_dir: Path,
    n_per_class: int,
    seed: int,
    device: str = "auto",
    limits: Limits | None = None,
    forbidden: list[str] | None = None,
    exported: bool = False,
) -> SampleSet:
    """Sample a checkpoint file in a child into ``out`` (inside ``work_dir``, the one folder
    the child may write) and check the result.

    ``exported`` marks a team's handed-in ``checkpoint.pt`` (made by ``harness export``): the
    child reads it with :func:`harness.training.export.load_exported` and reports its record.
    The parent never opens that file.
    """
    team = runs.team_name(team_dir)
    out = Path(out)
    check_inside_run(out, work_dir, "samples file", team)
    request = {
        "team_dir": str(Path(team_dir).resolve()),
        "checkpoint": str(Path(ckpt).resolve()),
        "exported": exported,
        "n_per_class": n_per_class,
        "seed": seed,
        "device": device,
        "out": str(out.resolve()),
    }
    access = JobAccess(
        read_only=(request["team_dir"], request["checkpoint"]),
        writable=(str(Path(work_dir).resolve()),),
        hidden=tuple(forbidden or ()),
    )
    payload = run_child(
        "sample",
        request,
        label=team,
        limits=limits or job_limits("sample"),
        log_path=Path(work_dir) / "error.log",
        access=access,
    )
    size = int(payload["image_size"])
    check_inside_run(out, work_dir, "samples file", team)
    check_inside_run(out.with_suffix(".png"), work_dir, "samples grid", team)
    images, labels = check_samples(
        out, n_per_class=n_per_class, size=size, team=team, root=Path(work_dir)
    )
    from harness.training import grids

    rows = [images[labels == c][:GRID_COLUMNS] for c in range(NUM_CLASSES)]
    title = f"{team}: {Path(ckpt).stem}, seed {seed}{' (EMA)' if payload['used_ema'] else ''}"
    grids.save_grid(out.with_suffix(".png"), rows, title=title, scale=max(1, 64 // size))
    return SampleSet(
        images=images,
        labels=labels,
        path=out,
        run_dir=Path(work_dir),
        checkpoint=Path(ckpt).name,
        used_ema=bool(payload["used_ema"]),
        seed=seed,
        meta=dict(payload.get("meta") or {}),
    )


def load_generator(request: dict[str, Any]) -> tuple[Any, Any, Any, int, bool, dict[str, Any]]:
    """Child side: the team's generator with the checkpoint's weights (EMA when kept), in eval
    mode on the requested device. Returns ``(spec, generator, device, image_size, used_ema,
    meta)``, ``meta`` being what an exported checkpoint records about itself (else empty);
    shared by the sample and the latent-walk jobs so both draw from the same network."""
    from harness import device
    from harness.spec import load_spec
    from harness.training import checkpoint

    spec = load_spec(Path(request["team_dir"]))
    dev = device.resolve_device(request["device"])
    device.configure(dev)
    if request.get("exported"):
        from harness.training.export import load_exported

        state = load_exported(Path(request["checkpoint"]), "cpu")
        if int(state["latent_dim"]) != int(spec.latent_dim):
            raise SampleError(
                f"checkpoint.pt was exported with latent size {state['latent_dim']}, "
                f"but model.py's spec has {spec.latent_dim}; export it again from this model.py"
            )
    else:
        state = checkpoint.load(Path(request["checkpoint"]), "cpu")
    size = state.get("image_size")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_IMAGE_SIZE:
        raise SampleError(  # before any allocation of N x size x size x 3 bytes
            f"the checkpoint declares image size {repr(size)[:40]}; a generator's images are "
            f"1 to {MAX_IMAGE_SIZE} px wide"
        )
    hparams = (
        json.loads(state["hparams"])
        if isinstance(state.get("hparams"), str)
        else dict(spec.hparams)
    )
    g = spec.build_generator(hparams)
    weights, used_ema = checkpoint.generator_weights(state)
    try:
        g.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
        # torch's message puts the cause (which tensor, which shapes) below a header line.
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise SampleError(
            "the checkpoint's generator weights do not fit the generator model.py builds: "
            f"{(lines[1:] or lines or [type(exc).__name__])[0][:300]}"
        ) from None
    g.to(dev).eval()
    meta = dict(state.get("meta") or {}) if request.get("exported") else {}
    return spec, g, dev, int(state["image_size"]), used_ema, meta


def run_job(request: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry for ``sample``."""
    import torch

    from harness.errors import TeamCodeError
    from harness.pixels import to_uint8_nhwc
    from harness.training.validate import check_generator_output

    started = time.monotonic()
    spec, g, dev, size, used_ema, meta = load_generator(request)
    n = int(request["n_per_class"])
    noise = torch.Generator().manual_seed(int(request["seed"]))
    images = np.empty((n * NUM_CLASSES, size, size, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), n)
    with torch.inference_mode():
        for label, name in enumerate(CLASS_NAMES):
            for start in range(0, n, BATCH):
                b = min(BATCH, n - start)
                z = torch.randn(b, spec.latent_dim, generator=noise).to(dev)
                y = torch.full((b,), label, dtype=torch.long, device=dev)
                x = g(z, y)
                if isinstance(x, torch.Tensor) and not torch.isfinite(x).all():
                    raise TeamCodeError(f"the generator produced NaN or infinite values for {name}")
                # The raw output, not a float copy: an int64 tensor must fail here as in
                # `validate`. Only the range is forgiven (the pixels clamp it anyway).
                floating = isinstance(x, torch.Tensor) and x.is_floating_point()
                check_generator_output(x.clamp(-1, 1) if floating else x, size, b)
                images[label * n + start : label * n + start + b] = to_uint8_nhwc(x)
    out = Path(request["out"])
    atomic.write_with(out, lambda handle: np.savez(handle, images=images, labels=labels))
    return {
        "path": str(out),
        "image_size": size,
        "used_ema": used_ema,
        "seconds": time.monotonic() - started,
        "meta": meta or None,
    }
