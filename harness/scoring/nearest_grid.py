"""The memorisation evidence a person checks: samples beside their nearest training images.

MiFID flags a submission by a number; a reviewer wants to see it. This PNG shows the samples
that lie nearest (in Inception feature space) to a training image, each above that training
image, with the cosine distance and class under the pair. It is the DCGAN paper's own check
that its generator did not memorise (Radford et al. 2016 show samples beside their nearest
training neighbours), and what Kaggle's reviewers looked at by hand after the dog competition.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from harness import atomic
from harness.classes import CLASS_NAMES

ROW_LABEL_WIDTH = 70
CAPTION_HEIGHT = 26
MIN_SIDE = 64  # small images are scaled up to at least this many pixels
PADDING = 4


def nearest_pairs(
    fakes: Sequence[np.ndarray], train: Sequence[np.ndarray], nearest: Sequence[Any], shown: int
) -> list[tuple[float, int, np.ndarray, np.ndarray]]:
    """The ``shown`` (distance, class, fake, train image) pairs with the smallest distance,
    over all classes (each fake compared with its own class's training images)."""
    pairs = []
    for label, record in enumerate(nearest):
        for i in record.closest(shown):
            pairs.append(
                (
                    float(record.distance[i]),
                    label,
                    np.asarray(fakes[label][record.fake_index[i]]),
                    np.asarray(train[label][record.train_index[i]]),
                )
            )
    pairs.sort(key=lambda pair: pair[0])
    return pairs[:shown]


def save_nearest_grid(
    path: Path,
    *,
    fakes: Sequence[np.ndarray],
    train: Sequence[np.ndarray],
    nearest: Sequence[Any],
    shown: int = 8,
    title: str = "",
    reference_label: str = "nearest\ntrain",
) -> Path:
    """Write the PNG: a row of samples, below it their nearest training images, captions.

    Args:
        fakes: per class, the generated uint8 images ``[n, S, S, 3]``.
        train: per class, the training images ``[m, S, S, 3]`` the features were taken of.
        nearest: per class, a :class:`harness.scoring.metrics.memorisation.Nearest`.
        shown: how many pairs (default 8).
        title: a line above the grid.
        reference_label: the lower row's name (the test-leak check shows held-out images).
    """
    pairs = nearest_pairs(fakes, train, nearest, shown)
    size = int(fakes[0].shape[1])
    scale = max(1, -(-MIN_SIDE // size))
    cell = size * scale + PADDING
    width = ROW_LABEL_WIDTH + cell * max(1, len(pairs))
    top = 18 if title else 0
    canvas = Image.new("RGB", (width, top + 2 * cell + CAPTION_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    if title:
        draw.text((4, 3), title, fill="black", font=font)
    for row, name in enumerate(("sample", reference_label)):
        draw.text((4, top + row * cell + cell // 2 - 8), name, fill="black", font=font)
    for column, (distance, label, fake, real) in enumerate(pairs):
        x = ROW_LABEL_WIDTH + column * cell
        for row, image in enumerate((fake, real)):
            tile = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
            tile = tile.resize((size * scale, size * scale), Image.Resampling.NEAREST)
            canvas.paste(tile, (x, top + row * cell))
        caption = f"d={distance:.3f}\n{CLASS_NAMES[label]}"
        draw.text((x, top + 2 * cell), caption, fill="black", font=font)
    atomic.write_with(Path(path), lambda handle: canvas.save(handle, format="PNG"))
    return Path(path)
