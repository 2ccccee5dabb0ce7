"""``harness validate``: does a team's spec keep the contract? Runs inside the child process.

Each check runs the team's code the way training and sampling will, on a batch of four, and
stops at the first broken promise with one sentence naming it: an import error with its line,
a missing attribute, a generator output of the wrong shape, dtype or range, a discriminator
output the loss cannot read, a loss that is not a finite scalar, an augmentation that changes
the image size, a search space that names unknown parameters.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.classes import NUM_CLASSES
from harness.errors import Interrupted, SpecError
from harness.spec import apply_overrides, describe_exception, load_spec
from harness.training import augment, losses

BATCH = 4


def _call(what: str, team_dir: Path, fn: Any, *args: Any) -> Any:
    """Call team code, turning any exception into a SpecError that names ``what``."""
    try:
        return fn(*args)
    except (SpecError, Interrupted):
        raise
    except BaseException as exc:  # KeyboardInterrupt and SystemExit from team code included
        raise SpecError(f"{what} raised {describe_exception(exc, team_dir)}") from None


def check_generator_output(x: Any, size: int, batch: int = BATCH) -> None:
    """Raise SpecError unless ``x`` is a finite float tensor ``[batch, 3, size, size]`` in [-1, 1]."""
    if not isinstance(x, torch.Tensor):
        raise SpecError(f"generator returned {type(x).__name__}, expected a tensor")
    if tuple(x.shape) != (batch, 3, size, size):
        raise SpecError(
            f"generator output has shape {tuple(x.shape)}, expected ({batch}, 3, {size}, {size}) "
            "for spec.image_size"
        )
    if not x.is_floating_point():
        raise SpecError(f"generator output has dtype {x.dtype}, expected a float tensor")
    if not torch.isfinite(x).all():
        raise SpecError("generator output contains NaN or infinity")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1.001 or hi > 1.001:
        raise SpecError(
            f"generator output spans [{lo:.3f}, {hi:.3f}], outside [-1, 1]; end with tanh"
        )


def validate_spec(
    team_dir: Path,
    overrides: dict[str, Any] | None = None,
    trial_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run every check; return a summary (parameter counts, loss kind) when all pass.

    ``overrides`` and ``trial_params`` (what ``harness train`` was asked for) are applied to
    the spec last, so that a misspelt ``--set`` key or ``--epochs 0`` is refused here, before
    the parent makes a run folder; the summary's ``train_config`` is the resolved result.
    """
    team_dir = Path(team_dir)
    spec = load_spec(team_dir)
    torch.manual_seed(0)
    hparams = dict(spec.hparams)
    g = _call("spec.build_generator", team_dir, spec.build_generator, hparams)
    d = _call("spec.build_discriminator", team_dir, spec.build_discriminator, hparams)
    for what, net in (("build_generator", g), ("build_discriminator", d)):
        if not isinstance(net, torch.nn.Module):
            raise SpecError(
                f"spec.{what} returned {type(net).__name__}, expected a torch.nn.Module"
            )
    z = torch.randn(BATCH, spec.latent_dim)
    y = torch.arange(BATCH) % NUM_CLASSES
    g.eval()
    with torch.no_grad():
        x = _call("the generator", team_dir, g, z, y)
        check_generator_output(x, spec.image_size)
        other = _call("the generator", team_dir, g, z, 1 - y)
    if torch.equal(x, other):
        raise SpecError("generator output does not depend on the class label y")
    g.train()
    hook = losses.resolve_loss(spec.loss, spec.train.gp_weight, hparams)
    real = torch.rand(BATCH, 3, spec.image_size, spec.image_size) * 2 - 1
    fake = _call("the generator", team_dir, g, z, y)
    d_loss, _ = losses.split_output(
        _call(
            "the discriminator loss",
            team_dir,
            hook.discriminator_loss,
            d,
            real,
            fake.detach(),
            y,
            z,
        ),
        "discriminator_loss",
    )
    g_loss, _ = losses.split_output(
        _call("the generator loss", team_dir, hook.generator_loss, d, fake, y, z), "generator_loss"
    )
    for what, value in (("discriminator", d_loss), ("generator", g_loss)):
        if not torch.isfinite(value):
            raise SpecError(f"the {what} loss is {float(value)} on a random batch")
    _call("backward through the generator loss", team_dir, g_loss.backward)
    if not any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters()):
        raise SpecError("the generator loss sends no gradient to the generator's parameters")
    transform = augment.as_compose(_call("spec.augmentation", team_dir, spec.augmentation))
    image = np.random.default_rng(0).integers(0, 256, (spec.image_size,) * 2 + (3,), dtype=np.uint8)
    out = _call("the augmentation", team_dir, lambda: transform(image=image)["image"])
    if not isinstance(out, np.ndarray) or out.shape != image.shape or out.dtype != np.uint8:
        raise SpecError(
            f"augmentation must keep uint8 {image.shape} images, got "
            f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
        )
    import optuna

    trial = optuna.create_study().ask()
    space = _call("spec.search_space", team_dir, spec.search_space, trial)
    if not isinstance(space, dict):
        raise SpecError(f"spec.search_space returned {type(space).__name__}, expected a dict")
    apply_overrides(spec, space)
    from optuna.distributions import distribution_to_json

    from harness.training.trial_params import space_overrides

    asked = _call("spec.search_space", team_dir, space_overrides, spec, trial_params)
    resolved = apply_overrides(spec, {**asked, **(overrides or {})})

    return {
        "search_distributions": {
            k: distribution_to_json(v) for k, v in trial.distributions.items()
        },
        "name": spec.name,
        "latent_dim": spec.latent_dim,
        "image_size": spec.image_size,
        "loss": losses.describe_loss(spec.loss, hook),
        "generator_params": sum(p.numel() for p in g.parameters()),
        "discriminator_params": sum(p.numel() for p in d.parameters()),
        "search_space": sorted(space),
        "train_config": dataclasses.asdict(resolved.train),
    }


def run_job(request: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry for ``validate``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return validate_spec(
        Path(request["team_dir"]), request.get("overrides"), request.get("trial_params")
    )
