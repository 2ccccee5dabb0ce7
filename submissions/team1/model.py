"""Team 1: a conditional GAN of multilayer perceptrons, in the style of the original GAN code.

Mirza & Osindero, "Conditional Generative Adversarial Nets" (2014), on top of Goodfellow et
al.'s fully connected GAN: the one-hot class is concatenated to z for the generator and to the
flattened image for the discriminator. LeakyReLU MLPs, non-saturating BCE, Adam 2e-4,
betas (0.5, 0.999). Classes: 0 = with_mask, 1 = without_mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import albumentations as A
import optuna
import torch
import torch.nn.functional as F
from torch import nn

from harness.spec import TrainConfig

NUM_CLASSES = 2
IMAGE_SIZE = 64
PIXELS = 3 * IMAGE_SIZE * IMAGE_SIZE


class Generator(nn.Module):
    def __init__(self, latent_dim: int, width: int) -> None:
        super().__init__()

        def block(cin: int, cout: int, norm: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Linear(cin, cout)]
            if norm:
                layers.append(nn.BatchNorm1d(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.net = nn.Sequential(
            *block(latent_dim + NUM_CLASSES, width, norm=False),
            *block(width, width * 2),
            *block(width * 2, width * 4),
            *block(width * 4, width * 8),
            nn.Linear(width * 8, PIXELS),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z, F.one_hot(y, NUM_CLASSES).to(z.dtype)], dim=1)
        return self.net(h).view(-1, 3, IMAGE_SIZE, IMAGE_SIZE)


class Discriminator(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(PIXELS + NUM_CLASSES, width * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(width * 4, width * 4),
            nn.Dropout(dropout),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(width * 4, width * 2),
            nn.Dropout(dropout),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(width * 2, 1),
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x.flatten(1), F.one_hot(y, NUM_CLASSES).to(x.dtype)], dim=1)
        return self.net(h).flatten()


class MLPCGANSpec:
    name = "MLP conditional GAN"
    latent_dim = 100
    image_size = IMAGE_SIZE
    loss = "bce"
    train = TrainConfig(epochs=25, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)
    hparams: Mapping[str, Any] = {"g_width": 128, "d_width": 128, "dropout": 0.4}

    def build_generator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Generator(self.latent_dim, int(hparams["g_width"]))

    def build_discriminator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Discriminator(int(hparams["d_width"]), float(hparams["dropout"]))

    def augmentation(self) -> A.Compose:
        # An MLP has no translation invariance: anything but a mirror image blurs what it learns.
        return A.Compose([A.HorizontalFlip(p=0.5)])

    def search_space(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "lr_g": trial.suggest_float("lr_g", 5e-5, 1e-3, log=True),
            "lr_d": trial.suggest_float("lr_d", 5e-5, 1e-3, log=True),
            "g_width": trial.suggest_categorical("g_width", [64, 128, 256]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        }


spec = MLPCGANSpec()
