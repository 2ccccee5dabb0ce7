"""Team 2: a class-conditional DCGAN at 64 x 64.

Generator and discriminator are those of the PyTorch DCGAN tutorial (Radford et al. 2016):
transposed convolutions 4x4 -> 64x64 with batch norm and ReLU, and a mirror-image strided
convolutional discriminator with LeakyReLU. The class is injected the common cGAN way: a learned
label embedding concatenated to z in the generator, and an embedding broadcast as one extra
input channel in the discriminator. Classes: 0 = with_mask, 1 = without_mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import albumentations as A
import optuna
import torch
from torch import nn

from harness.spec import TrainConfig

NUM_CLASSES = 2
IMAGE_SIZE = 64


def init_dcgan_weights(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    def __init__(self, latent_dim: int, width: int, embed_dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, embed_dim)

        def up(cin: int, cout: int) -> list[nn.Module]:
            return [
                nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
            ]

        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim + embed_dim, width * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width * 8),
            nn.ReLU(True),
            *up(width * 8, width * 4),
            *up(width * 4, width * 2),
            *up(width * 2, width),
            nn.ConvTranspose2d(width, 3, 4, 2, 1, bias=False),
            nn.Tanh(),
        )
        self.apply(init_dcgan_weights)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z, self.embed(y)], dim=1)
        return self.net(h[:, :, None, None])


class Discriminator(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, IMAGE_SIZE * IMAGE_SIZE)

        def down(cin: int, cout: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.LeakyReLU(0.2, True),
            ]

        self.net = nn.Sequential(
            nn.Conv2d(3 + 1, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
            *down(width, width * 2),
            *down(width * 2, width * 4),
            *down(width * 4, width * 8),
            nn.Conv2d(width * 8, 1, 4, 1, 0, bias=False),
        )
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        label_plane = self.embed(y).view(-1, 1, IMAGE_SIZE, IMAGE_SIZE).to(x.dtype)
        return self.net(torch.cat([x, label_plane], dim=1)).flatten()


class DCGANSpec:
    name = "Conditional DCGAN"
    latent_dim = 100
    image_size = IMAGE_SIZE
    loss = "bce"
    train = TrainConfig(epochs=25, batch_size=128, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)
    hparams: Mapping[str, Any] = {"g_width": 64, "d_width": 64, "embed_dim": 50}

    def build_generator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Generator(self.latent_dim, int(hparams["g_width"]), int(hparams["embed_dim"]))

    def build_discriminator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Discriminator(int(hparams["d_width"]))

    def augmentation(self) -> A.Compose:
        # Faces are left-right symmetric; a flip doubles the data without teaching anything odd.
        return A.Compose([A.HorizontalFlip(p=0.5)])

    def search_space(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "lr_g": trial.suggest_float("lr_g", 5e-5, 1e-3, log=True),
            "lr_d": trial.suggest_float("lr_d", 5e-5, 1e-3, log=True),
            "beta1": trial.suggest_categorical("beta1", [0.0, 0.5]),
            "batch_size": trial.suggest_categorical("batch_size", [64, 128]),
            "g_width": trial.suggest_categorical("g_width", [32, 64]),
        }


spec = DCGANSpec()
