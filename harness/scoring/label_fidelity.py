"""Label fidelity: does a "with_mask" sample show a mask? A small classifier decides.

FID per class says how close each class's samples are to that class's reals, but a generator
that ignores ``y`` can still score well on both. A small CNN, trained by the harness on the
``train`` split only (at the team's image size, with flips), labels every sample; a team's
label fidelity for a class is the share of its samples of that class the classifier assigns
to that class. The classifier's accuracy on the held-out ``test`` reals is recorded beside it,
as the ceiling to read those shares against.

The classifier is cached like the real statistics, keyed by the train split's fingerprint, the
size, the resizer, the recipe and the seed, so every team in a competition is judged by the
same network. Its training is deterministic for a given key: fixed threads, deterministic
algorithms, a private seeded stream (:mod:`.deterministic`); what could still change its low
bits (torch version, CPU instruction set or GPU) is part of the key.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness import atomic, data
from harness.classes import CLASS_NAMES, NUM_CLASSES
from harness.data import cache as data_cache
from harness.data.resize import RESIZER
from harness.paths import cache_root
from harness.scoring.deterministic import deterministic_training, numerics_key
from harness.scoring.progress import one_time_pass


@dataclass(frozen=True)
class Recipe:
    """How the classifier is trained; every field is part of its cache key."""

    epochs: int = 4
    batch_size: int = 64
    lr: float = 2e-3
    width: int = 32
    seed: int = 0
    version: int = 1


class MaskClassifier(nn.Module):
    """Four strided conv blocks, global average pooling, a linear head over the two classes."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for out in (width, width * 2, width * 4, width * 8):
            layers += [
                nn.Conv2d(channels, out, 3, 2, 1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def _to_input(images: np.ndarray, device: torch.device) -> torch.Tensor:
    x = torch.from_numpy(np.array(images, copy=True)).to(device).permute(0, 3, 1, 2).float()
    return (x / 127.5 - 1).contiguous(memory_format=torch.channels_last)


def predict(
    model: nn.Module, images: np.ndarray, device: torch.device, batch: int = 256
) -> np.ndarray:
    """Predicted class indices of uint8 ``[N, S, S, 3]`` images."""
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            out.append(
                model(_to_input(images[start : start + batch], device)).argmax(1).cpu().numpy()
            )
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def train_classifier(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    recipe: Recipe,
    device: torch.device,
    progress: bool = False,
) -> nn.Module:
    """Train the classifier on (flipped) training images.

    The same images, recipe and :func:`~harness.scoring.deterministic.numerics_key` give the
    same weights, bit for bit, whatever thread count or random state the caller left behind
    (:func:`~harness.scoring.deterministic.deterministic_training`). ``progress`` shows a bar
    on stderr.
    """
    from harness.scoring.progress import image_bar

    rng = np.random.default_rng(recipe.seed)
    per_epoch = len(train_images) // recipe.batch_size
    labels = torch.from_numpy(np.asarray(train_labels))
    with deterministic_training(device, recipe.seed):
        model = MaskClassifier(recipe.width).to(device).to(memory_format=torch.channels_last)
        optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=recipe.lr, total_steps=max(1, recipe.epochs * per_epoch)
        )
        model.train()
        bar = image_bar(
            "training the mask classifier",
            recipe.epochs * per_epoch * recipe.batch_size,
            enabled=progress,
        )
        with bar:
            for _ in range(recipe.epochs):
                order = rng.permutation(len(train_images))
                for start in range(0, per_epoch * recipe.batch_size, recipe.batch_size):
                    idx = np.sort(order[start : start + recipe.batch_size])
                    batch = np.asarray(train_images[idx])
                    flip = rng.random(len(idx)) < 0.5
                    batch[flip] = batch[flip, :, ::-1]
                    loss = F.cross_entropy(model(_to_input(batch, device)), labels[idx].to(device))
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    optimiser.step()
                    schedule.step()
                    bar.update(len(idx))
    return model.eval()


@dataclass(frozen=True)
class Judge:
    """A trained classifier with its key and held-out accuracy."""

    model: nn.Module
    key_digest: str
    test_accuracy: float
    test_accuracy_per_class: tuple[float, ...]


def _classifier_key(
    root: Path, size: int, device: torch.device, recipe: Recipe
) -> tuple[dict[str, Any], str, Path]:
    """The classifier's cache key, its digest and its file: everything that changes it."""
    key = {
        "fingerprint_train": data.split_fingerprint(root, "train"),
        "fingerprint_test": data.split_fingerprint(root, "test"),
        "size": size,
        "resizer": RESIZER,
        **asdict(recipe),
        "numerics": numerics_key(device),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return key, digest, cache_root() / "classifiers" / f"{digest}.pt"


def classifier_cached(
    root: Path, size: int, device: torch.device, recipe: Recipe = Recipe()
) -> bool:
    """Whether :func:`load_or_train` would load this classifier instead of training it."""
    return _classifier_key(root, size, device, recipe)[2].is_file()


def load_or_train(
    root: Path,
    size: int,
    device: torch.device,
    recipe: Recipe = Recipe(),
    say: Callable[[str], None] | None = None,
) -> Judge:
    """The cached classifier for this dataset and size, trained on ``train`` on first use."""
    key, digest, path = _classifier_key(root, size, device, recipe)
    model = MaskClassifier(recipe.width)
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if json.loads(state["key"]) == key:
            model.load_state_dict(state["model"])
            return Judge(
                model.to(device).to(memory_format=torch.channels_last).eval(),
                digest,
                float(state["test_accuracy"]),
                tuple(state["per_class"].tolist()),
            )
    if say:
        say(f"training the mask classifier on the train split at {size}px (once per dataset) ...")
    train = data_cache.cached_split(root, "train", size)
    with one_time_pass(
        "training the mask classifier",
        recipe.epochs * (len(train.labels) // recipe.batch_size) * recipe.batch_size,
    ):
        model = train_classifier(
            train.images, train.labels, recipe, device, progress=say is not None
        )
    test = data_cache.cached_split(root, "test", size)
    predicted = predict(model, np.asarray(test.images), device)
    per_class = tuple(float((predicted[test.labels == c] == c).mean()) for c in range(NUM_CLASSES))
    accuracy = float((predicted == test.labels).mean())
    state = {
        "model": {k: v.cpu() for k, v in model.state_dict().items()},
        "key": json.dumps(key, sort_keys=True),
        "test_accuracy": accuracy,
        "per_class": torch.tensor(per_class),
    }
    atomic.write_with(path, lambda handle: torch.save(state, handle))
    if say:
        say(f"mask classifier: {accuracy:.1%} accuracy on the held-out test reals")
    return Judge(model, digest, accuracy, per_class)


class LabelJudge:
    """Callable for :class:`harness.scoring.score.Scorer`: label-fidelity columns of a sample set."""

    def __init__(
        self,
        root: Path,
        device: str = "auto",
        say: Callable[[str], None] | None = None,
        recipe: Recipe = Recipe(),
    ) -> None:
        from harness.device import resolve_device

        self.root = Path(root)
        self.recipe = recipe
        self.device = resolve_device(device)
        self.say = say or (lambda message: print(message, file=sys.stderr))
        self._judges: dict[int, Judge] = {}

    def judge(self, size: int) -> Judge:
        """The classifier for one image size (trained or loaded once per process)."""
        if size not in self._judges:
            self._judges[size] = load_or_train(
                self.root, size, self.device, self.recipe, say=self.say
            )
        return self._judges[size]

    def __call__(self, samples: Any) -> dict[str, Any]:
        judge = self.judge(int(samples.images.shape[1]))
        predicted = predict(judge.model, samples.images, self.device)
        row: dict[str, Any] = {
            "classifier_test_accuracy": judge.test_accuracy,
            "classifier_key": judge.key_digest,
        }
        for c, name in enumerate(CLASS_NAMES):
            row[f"label_fidelity_{name}"] = float((predicted[samples.labels == c] == c).mean())
        return row
