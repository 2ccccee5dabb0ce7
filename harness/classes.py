"""The two classes of the face-mask competition and their fixed indices.

Index 0 is ``with_mask`` and index 1 is ``without_mask``: alphabetical, as torchvision's
``ImageFolder`` and the course's notebook assigned them. Every generator receives these
indices as ``y``; every output that shows a label uses :data:`CLASS_NAMES`.
"""

from __future__ import annotations

CLASS_NAMES: tuple[str, ...] = ("with_mask", "without_mask")
NUM_CLASSES = len(CLASS_NAMES)
SPLITS: tuple[str, ...] = ("train", "test")


def class_index(name_or_index: str | int) -> int:
    """Turn a class name (``with_mask``) or index (``0`` or ``"0"``) into its index.

    Raises:
        ValueError: the value names no class; the message lists the valid ones.
    """
    text = str(name_or_index).strip()
    if text in CLASS_NAMES:
        return CLASS_NAMES.index(text)
    if text.isdigit() and int(text) < NUM_CLASSES:
        return int(text)
    choices = ", ".join(f"{i} = {n}" for i, n in enumerate(CLASS_NAMES))
    raise ValueError(f"unknown class {name_or_index!r}; use a name or index ({choices})")
