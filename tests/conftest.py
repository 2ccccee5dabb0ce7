"""Shared fixtures: a tiny demo dataset, isolated caches, and tiny team folders."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest


def _share_the_cores_between_xdist_workers() -> None:
    """Under pytest-xdist (scripts/test.sh runs ``-n auto``) each worker, and every harness
    child it starts, gets cores // workers threads: HARNESS_THREADS and OMP_NUM_THREADS pass
    into the sandbox. Without this, two workers each run torch on every core and spend the
    time preempting each other. Set before torch is imported, so that the worker's own OpenMP
    pool takes it too."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "HARNESS_THREADS" not in os.environ:
        threads = str(max(1, len(os.sched_getaffinity(0)) // workers))
        os.environ["HARNESS_THREADS"] = threads
        os.environ.setdefault("OMP_NUM_THREADS", threads)


_share_the_cores_between_xdist_workers()

from harness.data.demo import make_demo_dataset  # noqa: E402  (after the thread settings)
from harness.sandbox.isolation import probe_bwrap  # noqa: E402

# Strict isolation needs a working bubblewrap. Without one these tests skip, except where
# HARNESS_TEST_REQUIRE_BWRAP=1 (CI's .ci/run installs bubblewrap and sets it): there they run
# and fail, so that the hostile-team suite can never quietly drop out of CI.
requires_bwrap = pytest.mark.skipif(
    not probe_bwrap().works and os.environ.get("HARNESS_TEST_REQUIRE_BWRAP") != "1",
    reason=f"strict isolation unavailable here ({probe_bwrap().problem}); CI installs bubblewrap",
)

# Scoring, --all and competition.toml commands fail closed without a working bwrap. On a
# development machine without one, the suite asks for soft isolation by name (as a user would)
# so that those commands' tests still run; CI requires bwrap and runs them strict.
if not probe_bwrap().works and os.environ.get("HARNESS_TEST_REQUIRE_BWRAP") != "1":
    os.environ.setdefault("HARNESS_ISOLATION", "soft")


@pytest.fixture(autouse=True)
def isolation_choice_restored() -> object:
    """A command fixes ``$HARNESS_ISOLATION`` in this process for the workers it starts; each
    test starts from the session's value, so that one test's choice never leaks into the next."""
    before = os.environ.get("HARNESS_ISOLATION")
    yield
    if before is None:
        os.environ.pop("HARNESS_ISOLATION", None)
    else:
        os.environ["HARNESS_ISOLATION"] = before


TINY_TEAM = """
from __future__ import annotations

import albumentations as A
import torch
from torch import nn

from harness.spec import TrainConfig

SIZE = 16


class Generator(nn.Module):
    def __init__(self, latent_dim, width):
        super().__init__()
        self.embed = nn.Embedding(2, 4)
        self.net = nn.Sequential(nn.Linear(latent_dim + 4, width), nn.ReLU(), nn.Linear(width, 3 * SIZE * SIZE))

    def forward(self, z, y):
        return torch.tanh(self.net(torch.cat([z, self.embed(y)], 1))).view(-1, 3, SIZE, SIZE)


class Discriminator(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.embed = nn.Embedding(2, 4)
        self.net = nn.Sequential(nn.Linear(3 * SIZE * SIZE + 4, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, x, y):
        return self.net(torch.cat([x.flatten(1), self.embed(y)], 1)).flatten()


class TinySpec:
    name = "tiny"
    latent_dim = 8
    image_size = SIZE
    loss = "bce"
    train = TrainConfig(epochs=2, batch_size=8, lr_g=1e-3, lr_d=1e-3, ema_decay=0.9)
    hparams = {"width": 32}

    def build_generator(self, hparams):
        return Generator(self.latent_dim, hparams["width"])

    def build_discriminator(self, hparams):
        return Discriminator(hparams["width"])

    def augmentation(self):
        return A.Compose([A.HorizontalFlip(p=0.5)])

    def search_space(self, trial):
        return {"lr_g": trial.suggest_float("lr_g", 1e-4, 1e-2, log=True),
                "width": trial.suggest_categorical("width", [16, 32])}


spec = TinySpec()
"""


@pytest.fixture(scope="session", autouse=True)
def offline_torch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inception weights are derived offline once per test session, in a private torch home."""
    import os

    home = tmp_path_factory.getbasetemp() / "torch-home"
    os.environ["TORCH_HOME"] = str(home)
    os.environ["HARNESS_OFFLINE"] = "1"
    return home


@pytest.fixture(scope="session")
def fid_weights(offline_torch_home: Path):  # type: ignore[no-untyped-def]
    """The derived FID Inception weights (about 15 s to derive and verify, once)."""
    from harness.scoring.metrics.weights import ensure_weights

    return ensure_weights()


@pytest.fixture(scope="session")
def pool3(fid_weights):  # type: ignore[no-untyped-def]
    """A CPU feature extractor with pool3 (2048-d) features."""
    from harness.scoring.metrics.inception import InceptionFeatures

    return InceptionFeatures(dims=2048, device="cpu", weights=fid_weights)


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test session caches under a temporary folder, never in the user's home."""
    cache = tmp_path_factory.getbasetemp() / "harness-cache"
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    monkeypatch.delenv("HARNESS_RUNS", raising=False)
    return cache


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test has its own (absent) user settings file, never the user's own."""
    path = tmp_path / "user-config" / "settings.toml"
    monkeypatch.setenv("HARNESS_CONFIG", str(path))
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 + 24 train and 12 + 12 test demo faces at 32 x 32 (read-only by convention)."""
    root = tmp_path_factory.mktemp("data") / "facemask"
    return make_demo_dataset(root, train_per_class=24, test_per_class=12, size=32, seed=1)


def write_team(
    folder: Path, replace: dict[str, str] | None = None, source: str = TINY_TEAM
) -> Path:
    """Write a team folder whose model.py is ``source`` with textual replacements applied."""
    folder.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(source)
    for old, new in (replace or {}).items():
        assert old in text, f"template has no {old!r}"
        text = text.replace(old, new)
    (folder / "model.py").write_text(text)
    return folder


@pytest.fixture
def tiny_team(tmp_path: Path) -> Path:
    """A valid, fast team folder (16 x 16 MLP GAN) named ``tiny``."""
    return write_team(tmp_path / "submissions" / "tiny")
