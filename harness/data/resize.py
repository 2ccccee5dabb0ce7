"""The one resizer that turns any real image into an S x S training or reference image.

Reals and fakes must reach Inception by the same road: fakes are born at S x S as uint8, so
reals are resized once to S x S with this function and quantised to uint8 too. Comparing
full-size reals against small fakes (as the course did) measures the resize, not the model.
The name :data:`RESIZER` is recorded in every cache key and leaderboard row.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

RESIZER = "center-square-crop+pil-bicubic-antialias"


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop ``image`` (uint8 ``[H, W, 3]``) to a square and resize it to ``size``.

    PIL's bicubic filter widens its support when shrinking, so downsampling is antialiased.
    An image already ``size`` x ``size`` is returned unchanged.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected uint8 [H, W, 3], got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(square)
    resized = Image.fromarray(square).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8)
