"""The built-in adversarial losses as :class:`harness.spec.LossHook` objects.

The training loop only ever talks to a loss hook, so the built-in losses and a team's own
(ACGAN's auxiliary classifier, InfoGAN's code reconstruction) go through one code path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from harness.errors import SpecError
from harness.spec import LOSS_NAMES, LossHook

LossOutput = torch.Tensor | tuple[torch.Tensor, dict[str, float]]


def logits_of(output: Any) -> torch.Tensor:
    """Flatten a built-in-loss discriminator output (``[B]`` or ``[B, 1]``) to ``[B]``."""
    if not isinstance(output, torch.Tensor):
        raise SpecError(
            f"the discriminator returned {type(output).__name__}; built-in losses need a logits "
            "tensor [B] (use a LossHook for extra heads)"
        )
    if output.ndim == 2 and output.shape[1] == 1:
        return output[:, 0]
    if output.ndim != 1:
        raise SpecError(
            f"the discriminator returned shape {tuple(output.shape)}; built-in losses need [B]"
        )
    return output


class BCELoss:
    """Non-saturating GAN loss (Goodfellow et al. 2014), as in the DCGAN paper."""

    def discriminator_loss(
        self, d: Any, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> LossOutput:
        real_logits = logits_of(d(real, y))
        fake_logits = logits_of(d(fake, y))
        loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        return loss

    def generator_loss(
        self, d: Any, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> LossOutput:
        logits = logits_of(d(fake, y))
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


class HingeLoss:
    """Hinge loss (Lim & Ye 2017; used by SAGAN and BigGAN)."""

    def discriminator_loss(
        self, d: Any, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> LossOutput:
        return F.relu(1 - logits_of(d(real, y))).mean() + F.relu(1 + logits_of(d(fake, y))).mean()

    def generator_loss(
        self, d: Any, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> LossOutput:
        return -logits_of(d(fake, y)).mean()


def gradient_penalty(
    d: Any, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 on interpolates."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = logits_of(d(mixed, y))
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class WGANGPLoss:
    """Wasserstein loss with gradient penalty; use with ``n_critic`` around 5."""

    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def discriminator_loss(
        self, d: Any, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> LossOutput:
        wasserstein = logits_of(d(fake, y)).mean() - logits_of(d(real, y)).mean()
        penalty = gradient_penalty(d, real, fake, y)
        loss = wasserstein + self.gp_weight * penalty
        return loss, {"gp": float(penalty.detach()), "w_dist": float(-wasserstein.detach())}

    def generator_loss(
        self, d: Any, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> LossOutput:
        return -logits_of(d(fake, y)).mean()


def resolve_loss(loss: Any, gp_weight: float, hparams: Mapping[str, Any] | None = None) -> LossHook:
    """The hook for a spec's ``loss``: a built-in by name, the team's own hook object, or the
    hook that the team's factory ``loss(hparams)`` builds (for loss weights that are hparams)."""
    if isinstance(loss, str):
        if loss == "bce":
            return BCELoss()
        if loss == "hinge":
            return HingeLoss()
        if loss == "wgan-gp":
            return WGANGPLoss(gp_weight)
        raise SpecError(f"unknown loss {loss!r}; use one of {', '.join(LOSS_NAMES)} or a LossHook")
    if isinstance(loss, LossHook):
        return loss
    if callable(loss):
        built = loss(dict(hparams or {}))
        if isinstance(built, LossHook):
            return built
        raise SpecError(f"spec.loss(hparams) returned {type(built).__name__}, not a LossHook")
    raise SpecError(
        "spec.loss must be a loss name, a LossHook, or a function of hparams returning one"
    )


def describe_loss(loss: Any, hook: LossHook | None = None) -> str:
    """A short name for a spec's loss, for records: the built-in name or the hook's class.

    A factory ``loss(hparams)`` is named by the class of the hook it built (``hook``), e.g.
    ``InfoGANLoss (built by spec.loss(hparams))``: its own name says nothing.
    """
    if isinstance(loss, str):
        return loss
    if callable(loss) and not isinstance(loss, LossHook):
        name = getattr(loss, "__name__", "loss")
        if hook is None:
            return f"{name}(hparams)"
        return f"{type(hook).__name__} (built by spec.{name}(hparams))"
    return type(loss).__name__


def split_output(output: LossOutput, what: str) -> tuple[torch.Tensor, dict[str, float]]:
    """Separate a hook's loss from its extra logs and check that the loss is a scalar."""
    extras: dict[str, float] = {}
    if isinstance(output, tuple):
        if len(output) != 2 or not isinstance(output[1], dict):
            raise SpecError(f"{what} must return a tensor or (tensor, dict of floats)")
        output, extras = output
    if not isinstance(output, torch.Tensor) or output.numel() != 1:
        raise SpecError(f"{what} must return a scalar tensor, got {type(output).__name__}")
    return output.reshape(()), {k: float(v) for k, v in extras.items()}
