"""Real-image augmentation with albumentations, and the batches that feed training.

Everything applied to the reals is learned by the generator (a rotated face teaches it to draw
rotated faces), so the default pipeline is mild. Teams may declare their own.

Determinism is what makes ``--resume`` give the same losses as an uninterrupted run: the
order of every epoch and the augmentation of every batch are pure functions of
``(seed, epoch, batch index)``, so a run restarted from a checkpoint at any step replays
exactly the batches the original run would have seen, whichever worker process makes them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from harness.errors import SpecError


def default_augmentation() -> A.Compose:
    """The mild default: horizontal flip, a small affine jitter and light colour jitter."""
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.Affine(
                scale=(0.95, 1.05),
                translate_percent=(-0.03, 0.03),
                rotate=(-5, 5),
                border_mode=cv2.BORDER_REFLECT_101,
                p=0.5,
            ),
            A.ColorJitter(brightness=0.1, contrast=0.1, saturation=0.1, hue=0.02, p=0.5),
        ]
    )


def real_pipeline(choice: str, team_pipeline: Callable[[], Any]) -> A.Compose:
    """The pipeline the reals get for ``TrainConfig.augment``: the team's, the default, or none.

    ``none`` and ``default`` exist so that what augmentation is worth can be measured on any team
    with ``--set augment=none`` rather than by editing its code.
    """
    if choice == "none":
        return A.Compose([])
    if choice == "default":
        return default_augmentation()
    return as_compose(team_pipeline())


def as_compose(transform: Any) -> A.Compose:
    """Wrap a team's transform in ``A.Compose`` (``None`` gives the default pipeline)."""
    if transform is None:
        return default_augmentation()
    if isinstance(transform, A.Compose):
        return transform
    if isinstance(transform, (A.BasicTransform, A.BaseCompose)):
        return A.Compose([transform])
    raise SpecError(
        f"spec.augmentation() returned {type(transform).__name__}; return an albumentations "
        "transform (for example A.Compose([...])) or None for the default"
    )


@dataclass(frozen=True)
class BatchKey:
    """Which batch to make: its epoch, its position in the epoch and the image indices."""

    epoch: int
    index: int
    indices: np.ndarray


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled image order of one epoch, a pure function of (seed, epoch)."""
    return np.random.default_rng([seed, epoch, 0x5EED]).permutation(n)


class RunBatches(Sampler[BatchKey]):
    """Every batch of a run from ``(start_epoch, start_batch)`` up to ``end_epoch``.

    Batches are full (the last partial batch of an epoch is dropped), so batch norm never sees
    a batch of one and every step has the same size.
    """

    def __init__(
        self, n: int, batch_size: int, seed: int, start_epoch: int, start_batch: int, end_epoch: int
    ) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start_epoch, self.start_batch, self.end_epoch = start_epoch, start_batch, end_epoch
        self.per_epoch = n // batch_size

    def __iter__(self) -> Iterator[BatchKey]:
        for epoch in range(self.start_epoch, self.end_epoch):
            order = epoch_order(self.n, self.seed, epoch)
            first = self.start_batch if epoch == self.start_epoch else 0
            for index in range(first, self.per_epoch):
                chunk = order[index * self.batch_size : (index + 1) * self.batch_size]
                yield BatchKey(epoch=epoch, index=index, indices=np.sort(chunk))

    def __len__(self) -> int:
        total = (self.end_epoch - self.start_epoch) * self.per_epoch - self.start_batch
        return max(0, total)


class AugmentedBatches(Dataset):
    """Augmented uint8 batches from a cached split (``images.npy`` + ``labels.npy``).

    ``__getitems__`` makes a whole batch at once: one reseed of the pipeline per batch, and one
    contiguous uint8 ``[B, S, S, 3]`` array, which is four times smaller to move than floats.
    The arrays are opened lazily in each worker so that they are memory-mapped, not pickled.
    """

    def __init__(self, folder: Path, transform: A.Compose, seed: int) -> None:
        self.folder = Path(folder)
        self.transform = transform
        self.seed = seed
        self._images: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._images is None or self._labels is None:
            self._images = np.load(self.folder / "images.npy", mmap_mode="r")
            self._labels = np.load(self.folder / "labels.npy")
        return self._images, self._labels

    def __len__(self) -> int:
        return len(self._arrays()[1])

    def __getitem__(self, index: int) -> Any:
        raise TypeError("AugmentedBatches is read a batch at a time through __getitems__")

    def __getitems__(self, key: BatchKey) -> tuple[torch.Tensor, torch.Tensor, BatchKey]:
        images, labels = self._arrays()
        rng = np.random.default_rng([self.seed, key.epoch, key.index])
        self.transform.set_random_state(rng, random.Random(int(rng.integers(2**62))))
        source = images[key.indices]
        out = np.empty_like(source)
        for i, image in enumerate(source):
            augmented = self.transform(image=image)["image"]
            if augmented.shape != image.shape or augmented.dtype != np.uint8:
                raise SpecError(
                    f"augmentation turned a uint8 {image.shape} image into {augmented.dtype} "
                    f"{augmented.shape}; keep the size and dtype (end with A.Resize if you crop)"
                )
            out[i] = augmented
        return torch.from_numpy(out), torch.from_numpy(labels[key.indices]), key


def _whole_batch(batch: Any) -> Any:
    return batch


def make_loader(
    dataset: AugmentedBatches, sampler: RunBatches, *, num_workers: int, pin_memory: bool
) -> DataLoader:
    """A DataLoader that yields ``(uint8 images [B,S,S,3], labels [B], BatchKey)``."""
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=_whole_batch,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=4 if num_workers > 0 else None,
    )


def to_model_input(images: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 ``[B, S, S, 3]`` to float ``[B, 3, S, S]`` in [-1, 1] on ``device``."""
    from harness.device import to_device

    x = to_device(images, device).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return x.contiguous(memory_format=memory_format)
