"""The mask classifier behind label fidelity, on tiny demo faces where masks are obvious."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.data import cache as data_cache
from harness.scoring.label_fidelity import LabelJudge, Recipe, load_or_train


@dataclass
class FakeSamples:
    images: np.ndarray
    labels: np.ndarray


@pytest.fixture(scope="module")
def demo_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.data.demo import make_demo_dataset

    return make_demo_dataset(
        tmp_path_factory.mktemp("faces") / "d", train_per_class=100, test_per_class=30, size=32
    )


def test_classifier_learns_masks_and_reports_held_out_accuracy(demo_faces: Path) -> None:
    judge = load_or_train(demo_faces, 32, torch.device("cpu"), Recipe(epochs=6, batch_size=32))
    assert judge.test_accuracy > 0.9, judge
    assert len(judge.test_accuracy_per_class) == 2
    again = load_or_train(demo_faces, 32, torch.device("cpu"), Recipe(epochs=6, batch_size=32))
    assert again.key_digest == judge.key_digest and again.test_accuracy == judge.test_accuracy


def test_fidelity_is_high_for_right_labels_and_low_for_swapped_ones(
    demo_faces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "harness.scoring.label_fidelity.Recipe", lambda: Recipe(epochs=6, batch_size=32)
    )
    test = data_cache.cached_split(demo_faces, "test", 32, progress=False)
    judge = LabelJudge(
        demo_faces, device="cpu", say=lambda _: None, recipe=Recipe(epochs=6, batch_size=32)
    )
    right = judge(FakeSamples(np.asarray(test.images), test.labels))
    swapped = judge(FakeSamples(np.asarray(test.images), 1 - test.labels))
    assert right["label_fidelity_with_mask"] > 0.9 and right["label_fidelity_without_mask"] > 0.9
    assert (
        swapped["label_fidelity_with_mask"] < 0.1 and swapped["label_fidelity_without_mask"] < 0.1
    )
    assert right["classifier_key"] == swapped["classifier_key"], "one classifier judges every team"
