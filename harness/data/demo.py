"""A synthetic stand-in dataset the harness can draw by itself, for offline first runs and tests.

Cartoon faces on random backgrounds; ``with_mask`` faces wear a coloured mask over the lower
half, ``without_mask`` faces show a nose and mouth. It exists so that a newcomer without the
real data sees the whole loop work end to end. A ``DEMO.txt`` marker in the folder makes every
score computed on it say so: such scores mean nothing about the real competition.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from harness.classes import CLASS_NAMES
from harness.errors import DataError

MARKER = "DEMO.txt"
MASK_COLOURS = ((70, 130, 200), (235, 235, 240), (30, 30, 35), (90, 170, 150))


def draw_face(rng: np.random.Generator, size: int, masked: bool) -> Image.Image:
    """One cartoon face; every shape and colour is drawn from ``rng``."""
    background = tuple(int(v) for v in rng.integers(40, 220, 3))
    img = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(img)
    cx, cy = size * (0.5 + rng.uniform(-0.06, 0.06)), size * (0.5 + rng.uniform(-0.06, 0.06))
    rx, ry = size * rng.uniform(0.28, 0.36), size * rng.uniform(0.36, 0.44)
    tone = rng.uniform(0.45, 1.0)
    skin = (int(230 * tone), int(180 * tone), int(140 * tone))
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=skin)
    eye_y, eye_dx, eye_r = cy - ry * 0.2, rx * 0.42, max(1.0, size * 0.035)
    for sign in (-1, 1):
        ex = cx + sign * eye_dx
        draw.ellipse([ex - eye_r, eye_y - eye_r, ex + eye_r, eye_y + eye_r], fill=(25, 25, 30))
    if masked:
        colour = MASK_COLOURS[int(rng.integers(len(MASK_COLOURS)))]
        top = cy + ry * rng.uniform(0.0, 0.12)
        draw.rounded_rectangle(
            [cx - rx * 0.95, top, cx + rx * 0.95, cy + ry * 0.85], radius=size * 0.06, fill=colour
        )
        draw.line([cx - rx, top + 2, cx - rx * 1.15, eye_y], fill=colour, width=max(1, size // 40))
        draw.line([cx + rx, top + 2, cx + rx * 1.15, eye_y], fill=colour, width=max(1, size // 40))
    else:
        draw.line([cx, cy - ry * 0.05, cx - rx * 0.1, cy + ry * 0.2], fill=(120, 70, 60), width=1)
        mouth_w, mouth_y = rx * rng.uniform(0.35, 0.55), cy + ry * 0.45
        draw.arc(
            [cx - mouth_w, mouth_y - ry * 0.12, cx + mouth_w, mouth_y + ry * 0.12],
            start=10,
            end=170,
            fill=(150, 40, 50),
            width=max(1, size // 32),
        )
    return img


def make_demo_dataset(
    dest: Path,
    *,
    train_per_class: int = 300,
    test_per_class: int = 100,
    size: int = 64,
    seed: int = 0,
) -> Path:
    """Write a demo dataset in the harness layout to ``dest`` and mark it as a demo.

    Raises:
        DataError: ``dest`` exists and is not an earlier demo dataset.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise DataError(f"{dest} already holds data that is not a demo set; choose another folder")
    rng = np.random.default_rng(seed)
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for label, name in enumerate(CLASS_NAMES):
            folder = dest / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                draw_face(rng, size, masked=label == 0).save(
                    folder / f"demo-{split}-{label}-{i:05d}.png"
                )
    (dest / MARKER).write_text(
        "Synthetic demo faces drawn by `harness` itself. Scores on this set mean nothing about the\n"
        "real competition; get the face-mask data with `harness data download` or\n"
        "`harness data import PATH`.\n"
    )
    return dest


def is_demo(root: Path) -> bool:
    """Whether ``root`` is a demo dataset made by :func:`make_demo_dataset`."""
    return (Path(root) / MARKER).is_file()
