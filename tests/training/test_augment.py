"""Which pipeline the reals get: the team's, the harness default, or none (``--set augment=``)."""

from __future__ import annotations

import albumentations as A
import numpy as np

from harness.spec import TrainConfig
from harness.training.augment import real_pipeline


def _team_pipeline() -> A.Compose:
    return A.Compose([A.HorizontalFlip(p=1.0)])


def test_augment_choices_pick_the_pipeline() -> None:
    image = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    flipped = real_pipeline("spec", _team_pipeline)(image=image)["image"]
    assert np.array_equal(flipped, image[:, ::-1]), "spec: the team's own pipeline"
    untouched = real_pipeline("none", _team_pipeline)(image=image)["image"]
    assert np.array_equal(untouched, image), "none: the reals as they are"
    default = real_pipeline("default", _team_pipeline)
    names = [type(t).__name__ for t in default.transforms]
    assert names == ["HorizontalFlip", "Affine", "ColorJitter"], "default: the harness's mild set"


def test_an_unknown_augment_choice_is_named() -> None:
    problems = TrainConfig().replace(augment="lots").problems()
    assert problems == ["augment must be one of spec, default, none, got 'lots'"]
