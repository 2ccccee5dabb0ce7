"""The one conversion from generator output to image pixels, shared by grids and samples."""

from __future__ import annotations

import numpy as np
import torch


def to_uint8_nhwc(x: torch.Tensor) -> np.ndarray:
    """float ``[B, 3, S, S]`` in [-1, 1] to uint8 ``[B, S, S, 3]``: clamp, scale, round.

    No per-image min-max stretch: that would change every image's contrast and bias FID.
    """
    pixels = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).contiguous().cpu().numpy()
