"""Differentiable augmentation of reals and fakes before the discriminator.

Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS 2020):
augmenting both real and generated images with the same differentiable transforms, inside the
discriminator's view only, stops a discriminator from memorising a small training set without
teaching the generator the augmentations. Policies: ``color``, ``translation``, ``cutout``.
Randomness comes from torch's global generator, which checkpoints save and restore.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from harness.errors import SpecError


def _color(x: torch.Tensor) -> torch.Tensor:
    b = x.shape[0]
    x = x + (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side, filling with zeros."""
    b, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (b,), device=x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (b,), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy.view(b, 1, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx.view(b, 1, 1)
    valid = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1)
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    shifted = x.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    return shifted * valid.to(x.dtype)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` times the side at a random place in each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h, (b, 1, 1), device=x.device)
    cx = torch.randint(0, w, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch)
    inside = inside & (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


POLICIES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "color": _color,
    "translation": _translation,
    "cutout": _cutout,
}


def parse_policy(policy: str) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """Turn ``"color,translation"`` into the list of transforms, checking each name."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise SpecError(
            f"unknown DiffAugment policy {', '.join(unknown)}; use a comma list of "
            f"{', '.join(POLICIES)}"
        )
    return [POLICIES[n] for n in names]


def diff_augment(
    x: torch.Tensor, transforms: list[Callable[[torch.Tensor], torch.Tensor]]
) -> torch.Tensor:
    """Apply the transforms in order; an empty list returns ``x`` itself."""
    for transform in transforms:
        x = transform(x)
    return x
