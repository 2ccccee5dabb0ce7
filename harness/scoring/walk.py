"""The latent walk: does a generator know a smooth space, or a list of pictures?

Radford et al. (DCGAN, ICLR 2016, section 6.1) walk the latent space between two points and
look at the images on the way: a generator that learned a smooth space changes gradually (a
mask fades in, a face turns), while one that memorised its training images jumps from one to
the next. FID cannot see the difference; a person looking at one row can.

For each class the walk keeps the label fixed and moves ``z`` from the first draw of seed A to
the first draw of seed B (each from a CPU generator seeded like :mod:`.sample`, so the walk's
start is the first scored sample of class 0). Both classes walk the same path of ``z``, so a
column shows what the label alone changes. The path is spherical (Shoemake's slerp, as White
2016, "Sampling Generative Networks", recommends for Gaussian latents): the straight line
between two Gaussian vectors passes through points of unusually small norm, which the generator
never saw in training, and its middle images come out faded for that reason alone.

The generator runs in a child (team code never runs in the parent); the child writes
``walk-<checkpoint>-seed<A>-<B>-steps<K>.npz`` (``images`` uint8 ``[2K, S, S, 3]``, class 0
first, and ``labels``) in the run's ``samples/`` folder, and the parent checks it and draws the
labelled grid PNG beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import atomic
from harness.classes import CLASS_NAMES, NUM_CLASSES
from harness.errors import HarnessError
from harness.sandbox.runner import JobAccess, Limits, run_child
from harness.scoring.sample import check_inside_run, check_samples, load_generator
from harness.training import runs

DEFAULT_STEPS = 10
WALK_PREFIX = "walk-"


@dataclass(frozen=True)
class Walk:
    """A checked latent walk: ``images`` uint8 ``[classes, steps, S, S, 3]``."""

    images: np.ndarray
    path: Path
    grid: Path
    seeds: tuple[int, int]


def walk_name(checkpoint_stem: str, seeds: tuple[int, int], steps: int) -> str:
    """The walk's file stem in ``samples/``: what it was drawn from, so reruns reuse the name."""
    return f"{WALK_PREFIX}{checkpoint_stem}-seed{seeds[0]}-{seeds[1]}-steps{steps}"


def slerp(a: Any, b: Any, fractions: Any) -> Any:
    """Spherical interpolation between two latent vectors ``[D]`` at each fraction ``[K]``.

    Falls back to a straight line when the two vectors are (nearly) parallel, where the
    spherical formula divides by ``sin(0)``.
    """
    import torch

    a64, b64 = a.double(), b.double()
    cos = torch.dot(a64, b64) / (a64.norm() * b64.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    t = fractions.double()[:, None]
    if float(torch.sin(omega)) < 1e-6:
        return ((1 - t) * a64 + t * b64).to(a.dtype)
    s = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / s * a64 + torch.sin(t * omega) / s * b64).to(a.dtype)


def walk_team(
    team_dir: Path,
    *,
    runs_root: Path,
    run_id: str | None = None,
    checkpoint: Path | None = None,
    seeds: tuple[int, int] = (0, 1),
    steps: int = DEFAULT_STEPS,
    device: str = "auto",
    limits: Limits = Limits(timeout_s=600.0, memory_gib=16.0),
    forbidden: list[str] | None = None,
) -> Walk:
    """Draw, save and check the latent walk of a team's run (latest checkpoint by default).

    Raises:
        HarnessError: fewer than 2 steps or equal seeds (a walk from a point to itself).
    """
    if steps < 2:
        raise HarnessError(f"--walk-steps must be at least 2 (the two ends), got {steps}")
    if seeds[0] == seeds[1]:
        raise HarnessError(f"the walk's two seeds must differ, got {seeds[0]} twice")
    team = runs.team_name(team_dir)
    run_dir = runs.find_run(runs_root, team, run_id)
    ckpt = Path(checkpoint) if checkpoint else runs.latest_checkpoint(run_dir)
    assert ckpt is not None
    out = run_dir / runs.SAMPLES / (walk_name(ckpt.stem, seeds, steps) + ".npz")
    check_inside_run(out, run_dir, "walk file", team)
    request = {
        "team_dir": str(Path(team_dir).resolve()),
        "checkpoint": str(ckpt.resolve()),
        "seeds": list(seeds),
        "steps": steps,
        "device": device,
        "out": str(out.resolve()),
        "forbidden_paths": forbidden or [],
    }
    access = JobAccess(  # the same view as the sample job: the team, the checkpoint, the run
        read_only=(request["team_dir"], request["checkpoint"]),
        writable=(str(run_dir.resolve()),),
        hidden=tuple(forbidden or ()),
    )
    payload = run_child(
        "walk", request, label=team, limits=limits, log_path=run_dir / "error.log", access=access
    )
    size = int(payload["image_size"])
    check_inside_run(out.with_suffix(".png"), run_dir, "walk grid", team)
    images, _ = check_samples(out, n_per_class=steps, size=size, team=team, root=run_dir)
    rows = images.reshape(NUM_CLASSES, steps, size, size, 3)
    from harness.training import grids

    grid = out.with_suffix(".png")
    title = f"{team}: {ckpt.stem}, z from seed {seeds[0]} to seed {seeds[1]} (slerp)"
    grids.save_grid(grid, list(rows), title=title, scale=max(1, 64 // size))
    return Walk(images=rows, path=out, grid=grid, seeds=seeds)


def run_job(request: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry for ``walk``."""
    import torch

    from harness.errors import TeamCodeError
    from harness.pixels import to_uint8_nhwc
    from harness.training.validate import check_generator_output

    started = time.monotonic()
    spec, g, dev, size, used_ema, _ = load_generator(request)
    steps = int(request["steps"])
    ends = [
        torch.randn(1, spec.latent_dim, generator=torch.Generator().manual_seed(int(seed)))[0]
        for seed in request["seeds"]
    ]
    z = slerp(ends[0], ends[1], torch.linspace(0, 1, steps)).float().to(dev)
    rows = []
    with torch.inference_mode():
        for label, name in enumerate(CLASS_NAMES):
            x = g(z, torch.full((steps,), label, dtype=torch.long, device=dev))
            if isinstance(x, torch.Tensor) and not torch.isfinite(x).all():
                raise TeamCodeError(f"the generator produced NaN or infinite values for {name}")
            check_generator_output(
                x.float().clamp(-1, 1) if isinstance(x, torch.Tensor) else x, size, steps
            )
            rows.append(to_uint8_nhwc(x))
    images = np.concatenate(rows)
    labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), steps)
    out = Path(request["out"])
    atomic.write_with(out, lambda handle: np.savez(handle, images=images, labels=labels))
    return {
        "path": str(out),
        "image_size": size,
        "used_ema": used_ema,
        "seconds": time.monotonic() - started,
    }
