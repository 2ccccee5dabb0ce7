"""The contract between a team's ``model.py`` and the harness.

A team folder ``submissions/<team>/`` holds ``model.py`` with a module-level ``spec`` that
conforms to :class:`GeneratorSpec`. The harness imports it only inside child processes
(:mod:`harness.sandbox.runner`), never in the process that reads the held-out test images.

Class indices: ``y = 0`` is ``with_mask`` and ``y = 1`` is ``without_mask``.

Generator contract: ``G(z, y)`` with ``z`` float ``[B, latent_dim]`` drawn from N(0, 1) and
``y`` long ``[B]`` returns float ``[B, 3, S, S]`` in ``[-1, 1]`` (``S = image_size``). The
harness turns it into images by ``((x.clamp(-1, 1) + 1) * 127.5).round()`` to uint8; there is
no per-image min-max normalisation.

Discriminator contract: ``D(x, y)`` with ``x`` float ``[B, 3, S, S]`` in ``[-1, 1]`` returns
logits ``[B]`` (or ``[B, 1]``) for the built-in losses ``bce``, ``hinge`` and ``wgan-gp``. A team
whose discriminator returns more (ACGAN's class head, InfoGAN's code head) sets ``loss`` to its
own :class:`LossHook`, which is the only code that reads ``D``'s outputs.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from harness.errors import Interrupted, SpecError

if TYPE_CHECKING:
    import albumentations as A
    import optuna
    import torch
    from torch import nn

LossName = Literal["bce", "hinge", "wgan-gp"]
LossFactory = Callable[[Mapping[str, Any]], "LossHook"]
LOSS_NAMES: tuple[str, ...] = ("bce", "hinge", "wgan-gp")
SPEC_ATTRIBUTE = "spec"
AUGMENT_CHOICES: tuple[str, ...] = ("spec", "default", "none")


@dataclass(frozen=True)
class TrainConfig:
    """Training hyperparameters; every field can be overridden from the CLI or by Optuna.

    Attributes:
        epochs: passes over the training split (default 25).
        batch_size: real images per discriminator step (default 128).
        lr_g: generator Adam learning rate (default 2e-4).
        lr_d: discriminator Adam learning rate (default 2e-4).
        beta1: Adam beta1 for both networks (default 0.5, as in DCGAN).
        beta2: Adam beta2 for both networks (default 0.999).
        n_critic: discriminator steps per generator step (default 1; WGAN-GP uses 5).
        gp_weight: gradient-penalty weight for ``wgan-gp`` (default 10).
        ema_decay: decay of the exponential moving average of G, or 0 for none (default 0.999).
            Samples and scores use the EMA generator when there is one.
        diffaugment: DiffAugment policy applied to reals and fakes before D, a comma list of
            ``color``, ``translation``, ``cutout``; empty for none (default "").
        augment: which albumentations pipeline the reals get: ``spec`` (the team's
            ``augmentation()``), ``default`` (the harness's mild one) or ``none``; for measuring
            what augmentation is worth with one flag (default "spec").
        seed: seed for weights, data order, augmentation and noise (default 0).
        max_steps: stop after this many discriminator steps, 0 for no limit (default 0).
        checkpoint_every: epochs between checkpoints and sample grids (default 1).
        num_workers: DataLoader worker processes, -1 for automatic (default -1).
    """

    epochs: int = 25
    batch_size: int = 128
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 1
    gp_weight: float = 10.0
    ema_decay: float = 0.999
    diffaugment: str = ""
    augment: str = "spec"
    seed: int = 0
    max_steps: int = 0
    checkpoint_every: int = 1
    num_workers: int = -1

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied, converted to each field's type.

        Raises:
            SpecError: an unknown field name (the message lists the known ones) or a value
                that does not convert.
        """
        known = {f.name: f for f in dataclasses.fields(self)}
        converted: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in known:
                raise SpecError(
                    f"unknown training setting {key!r}; known settings: {', '.join(known)}"
                )
            kind = type(getattr(self, key))
            try:
                converted[key] = kind(value)
            except (TypeError, ValueError):
                raise SpecError(
                    f"training setting {key}={value!r} is not a {kind.__name__}"
                ) from None
        return dataclasses.replace(self, **converted)

    def problems(self) -> list[str]:
        """Values no training run could use, each as a sentence; empty when all is well."""
        out = []
        for name in ("epochs", "batch_size", "n_critic", "checkpoint_every"):
            if getattr(self, name) < 1:
                out.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                out.append(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("beta1", "beta2", "ema_decay"):
            if not 0 <= getattr(self, name) < 1:
                out.append(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.augment not in AUGMENT_CHOICES:
            out.append(f"augment must be one of {', '.join(AUGMENT_CHOICES)}, got {self.augment!r}")
        if self.max_steps < 0:
            out.append(f"max_steps must be 0 (no limit) or positive, got {self.max_steps}")
        return out


@runtime_checkable
class LossHook(Protocol):
    """A team's own adversarial loss, for discriminators with extra heads.

    Both methods receive ``d``, a callable ``d(x, y)`` that already applies the harness's
    differentiable augmentation, and return a scalar loss tensor, or a pair of the loss and a
    dict of extra floats to log (such as an auxiliary classifier's accuracy).
    ``z`` is the latent batch that made ``fake``, for InfoGAN-style code reconstruction.
    """

    def discriminator_loss(
        self, d: Any, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, float]]:
        """Loss minimised by the discriminator's optimiser."""
        ...

    def generator_loss(
        self, d: Any, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, float]]:
        """Loss minimised by the generator's optimiser."""
        ...


@runtime_checkable
class GeneratorSpec(Protocol):
    """What a team's ``model.py`` exposes as ``spec``.

    Attributes:
        name: a short display name for the leaderboard.
        latent_dim: size of ``z``.
        image_size: side ``S`` of generated images (the competition uses 64).
        loss: ``"bce"``, ``"hinge"``, ``"wgan-gp"``, a :class:`LossHook`, or a method
            ``loss(hparams) -> LossHook`` when the loss has weights among the hparams.
        train: default :class:`TrainConfig`.
        hparams: architecture knobs passed to the builders (may be empty); Optuna may
            override them through :meth:`search_space`.

    Class indices: 0 = with_mask, 1 = without_mask. See the module docstring for the exact
    generator and discriminator contracts.
    """

    name: str
    latent_dim: int
    image_size: int
    loss: LossName | LossHook | LossFactory
    train: TrainConfig
    hparams: Mapping[str, Any]

    def build_generator(self, hparams: Mapping[str, Any]) -> nn.Module:
        """A fresh generator ``G(z, y) -> [B, 3, S, S]`` in [-1, 1]."""
        ...

    def build_discriminator(self, hparams: Mapping[str, Any]) -> nn.Module:
        """A fresh discriminator ``D(x, y)`` (logits ``[B]`` for built-in losses)."""
        ...

    def augmentation(self) -> A.BasicTransform | A.BaseCompose | None:
        """The albumentations pipeline for real uint8 HWC images, or None for the default."""
        ...

    def search_space(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample overrides for :class:`TrainConfig` fields and ``hparams`` keys."""
        ...


REQUIRED_MEMBERS: tuple[str, ...] = (
    "name",
    "latent_dim",
    "image_size",
    "loss",
    "train",
    "hparams",
    "build_generator",
    "build_discriminator",
    "augmentation",
    "search_space",
)


def import_model_file(team_dir: Path) -> Any:
    """Import ``<team_dir>/model.py`` as a fresh module and return it.

    Raises:
        SpecError: the folder or file is missing, or importing it raised; the message names
            the file, the exception and the line in the team's file where it happened.
    """
    team_dir = Path(team_dir)
    path = team_dir / "model.py"
    if not team_dir.is_dir():
        raise SpecError(f"team folder {team_dir} does not exist")
    if not path.is_file():
        raise SpecError(f"{path} does not exist; a team folder needs a model.py exposing `spec`")
    module_name = f"harness_team_{team_dir.name}_{uuid.uuid4().hex[:8]}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise SpecError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(team_dir.resolve()))
    try:
        module_spec.loader.exec_module(module)
    except Interrupted:
        raise  # the harness asked this child to stop
    except BaseException as exc:  # KeyboardInterrupt and SystemExit from team code included
        raise SpecError(f"importing {path} failed: {_describe(exc, path)}") from None
    finally:
        sys.path.remove(str(team_dir.resolve()))
    return module


def _describe(exc: BaseException, path: Path) -> str:
    """``Type: message (model.py line N)`` with the deepest frame inside the team's file."""
    import traceback

    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        line = exc.lineno
    where = f" ({path.name} line {line})" if line is not None else ""
    # A SyntaxError's str() already ends in "(model.py, line 35)": use its bare message, so
    # that the place is said once.
    message = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    text = message.strip().splitlines()[0] if message.strip() else ""
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


def describe_exception(exc: BaseException, team_dir: Path) -> str:
    """One line for an exception raised by team code, pointing into ``model.py`` if it can."""
    return _describe(exc, Path(team_dir) / "model.py")


def load_spec(team_dir: Path) -> Any:
    """Import a team's ``model.py`` and return its ``spec`` after a structural check.

    Only presence and types of attributes are checked here; :mod:`harness.training.validate` runs
    the builders and checks shapes and ranges.

    Raises:
        SpecError: no ``spec``, missing members, or members of the wrong type.
    """
    module = import_model_file(team_dir)
    path = Path(team_dir) / "model.py"
    if not hasattr(module, SPEC_ATTRIBUTE):
        raise SpecError(
            f"{path} defines no `{SPEC_ATTRIBUTE}`; add a module-level `spec = ...` object "
            "conforming to harness.spec.GeneratorSpec"
        )
    spec = getattr(module, SPEC_ATTRIBUTE)
    missing = [m for m in REQUIRED_MEMBERS if not hasattr(spec, m)]
    if missing:
        raise SpecError(
            f"{path}: spec is missing {', '.join(missing)} (see harness.spec.GeneratorSpec)"
        )
    problems = structural_problems(spec)
    if problems:
        raise SpecError(f"{path}: " + "; ".join(problems))
    return spec


def structural_problems(spec: Any) -> list[str]:
    """Type and value problems of a spec's plain attributes, as sentences."""
    out = []
    if not isinstance(spec.name, str) or not spec.name.strip():
        out.append("spec.name must be a non-empty string")
    for attr in ("latent_dim", "image_size"):
        value = getattr(spec, attr)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            out.append(f"spec.{attr} must be a positive int, got {value!r}")
    size = spec.image_size
    if isinstance(size, int) and not isinstance(size, bool) and not 16 <= size <= 512:
        out.append(f"spec.image_size must be between 16 and 512, got {size}")
    if isinstance(spec.loss, str):
        if spec.loss not in LOSS_NAMES:
            out.append(
                f"spec.loss {spec.loss!r} is unknown; use one of {', '.join(LOSS_NAMES)} "
                "or a LossHook object"
            )
    elif not isinstance(spec.loss, LossHook) and not callable(spec.loss):
        out.append(
            "spec.loss must be a loss name, an object with discriminator_loss and generator_loss, "
            "or a function loss(hparams) returning one"
        )
    if not isinstance(spec.train, TrainConfig):
        out.append(
            f"spec.train must be a harness.spec.TrainConfig, got {type(spec.train).__name__}"
        )
    else:
        out += [f"spec.train: {p}" for p in spec.train.problems()]
    if not isinstance(spec.hparams, Mapping):
        out.append(f"spec.hparams must be a dict, got {type(spec.hparams).__name__}")
    for method in ("build_generator", "build_discriminator", "augmentation", "search_space"):
        if not callable(getattr(spec, method)):
            out.append(f"spec.{method} must be callable")
    return out


@dataclass(frozen=True)
class ResolvedParams:
    """A spec's training config and hparams after overrides, ready for a run."""

    train: TrainConfig
    hparams: dict[str, Any] = field(default_factory=dict)


def apply_overrides(spec: Any, overrides: Mapping[str, Any]) -> ResolvedParams:
    """Split ``overrides`` between TrainConfig fields and ``hparams`` keys and apply them.

    A key that is neither a TrainConfig field nor one of the spec's ``hparams`` is an error, so
    that a misspelt parameter from a search space is never silently ignored.
    """
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    hparams = dict(spec.hparams)
    train_changes = {}
    for key, value in overrides.items():
        if key in train_fields:
            train_changes[key] = value
        elif key in hparams:
            hparams[key] = value
        else:
            raise SpecError(
                f"parameter {key!r} is neither a TrainConfig field nor one of the team's hparams "
                f"({', '.join(hparams) or 'none'})"
            )
    train = spec.train.replace(**train_changes)
    problems = train.problems()
    if problems:
        raise SpecError("; ".join(problems))
    return ResolvedParams(train=train, hparams=hparams)
