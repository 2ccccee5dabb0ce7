"""Labelled sample grids: one row per class, the class name and index written beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import make_grid

from harness import atomic
from harness.classes import CLASS_NAMES

LABEL_WIDTH = 120


def labelled_grid(rows: list[np.ndarray], title: str = "", scale: int = 1) -> Image.Image:
    """Lay out uint8 ``[k, S, S, 3]`` image rows, one per class, with a label column.

    Args:
        rows: one array per class, in class-index order.
        title: an optional line above the grid (team, epoch).
        scale: integer upscaling of the images, for small sizes.
    """
    strips = []
    for images in rows:
        tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        strip = make_grid(tensor, nrow=len(images), padding=2, pad_value=255)
        strips.append(strip.permute(1, 2, 0).numpy())
    body = Image.fromarray(np.concatenate(strips, axis=0))
    if scale > 1:
        body = body.resize((body.width * scale, body.height * scale), Image.Resampling.NEAREST)
    title_height = 18 if title else 0
    canvas = Image.new("RGB", (LABEL_WIDTH + body.width, title_height + body.height), "white")
    canvas.paste(body, (LABEL_WIDTH, title_height))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    row_height = body.height / max(1, len(rows))
    for i in range(len(rows)):
        name = CLASS_NAMES[i] if i < len(CLASS_NAMES) else str(i)
        y = title_height + row_height * (i + 0.5) - 6
        draw.text((6, y), f"{i} = {name}", fill="black", font=font)
    if title:
        draw.text((6, 3), title, fill="black", font=font)
    return canvas


def save_grid(path: Path, rows: list[np.ndarray], title: str = "", scale: int = 1) -> None:
    """Write :func:`labelled_grid` as a PNG atomically."""
    image = labelled_grid(rows, title=title, scale=scale)
    atomic.write_with(Path(path), lambda handle: image.save(handle, format="PNG"))
