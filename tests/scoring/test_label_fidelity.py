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


def test_classifier_training_gives_the_same_weights_whatever_the_callers_threads() -> None:
    # The same key once gave 0.98920 and 0.98806: the thread count alone moves the low bits.
    from harness.scoring.label_fidelity import train_classifier

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (128, 16, 16, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, 128)
    recipe = Recipe(epochs=2, batch_size=32, width=8)
    weights = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            rng_state = torch.random.get_rng_state()
            model = train_classifier(images, labels, recipe, torch.device("cpu"))
            weights.append({k: v.clone() for k, v in model.state_dict().items()})
            # The caller's settings and random stream are left as they were.
            assert torch.get_num_threads() == threads
            assert not torch.are_deterministic_algorithms_enabled()
            assert torch.equal(torch.random.get_rng_state(), rng_state)
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_the_classifier_key_names_what_could_still_change_its_weights(
    demo_faces: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from harness.paths import cache_root

    messages: list[str] = []
    judge = load_or_train(
        demo_faces, 32, torch.device("cpu"), Recipe(epochs=1, batch_size=32), say=messages.append
    )
    assert "training the mask classifier" in capsys.readouterr().err, "a progress bar"
    saved = torch.load(cache_root() / "classifiers" / f"{judge.key_digest}.pt", weights_only=True)
    numerics = json.loads(saved["key"])["numerics"]
    assert numerics["threads"] == 2 and numerics["torch"] == torch.__version__
    assert numerics["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
