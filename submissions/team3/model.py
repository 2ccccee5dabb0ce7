"""Team 3: a conditional WGAN-GP.

Gulrajani et al., "Improved Training of Wasserstein GANs" (2017): a critic with no batch norm
(layer norm instead, which the gradient penalty tolerates because it normalises each sample on
its own), gradient penalty 10, five critic steps per generator step, Adam 1e-4 with betas
(0.0, 0.9). The critic is conditioned by projection (Miyato & Koyama, "cGANs with Projection
Discriminator", 2018): score = linear(phi(x)) + <embed(y), phi(x)>. The generator is a DCGAN
generator with the class embedding concatenated to z. Classes: 0 = with_mask, 1 = without_mask.
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
            nn.ConvTranspose2d(width, 3, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(y)], dim=1)[:, :, None, None])


class Critic(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()

        def down(cin: int, cout: int) -> list[nn.Module]:
            # GroupNorm with one group is layer norm over (C, H, W), per sample.
            return [nn.Conv2d(cin, cout, 4, 2, 1), nn.GroupNorm(1, cout), nn.LeakyReLU(0.2, True)]

        self.features = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            *down(width, width * 2),
            *down(width * 2, width * 4),
            *down(width * 4, width * 8),
        )
        channels = width * 8 * 4 * 4
        self.linear = nn.Linear(channels, 1)
        self.embed = nn.Embedding(NUM_CLASSES, channels)
        nn.init.normal_(self.embed.weight, 0.0, 0.01)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        phi = self.features(x).flatten(1)
        return self.linear(phi).flatten() + (self.embed(y) * phi).sum(dim=1)


class WGANGPSpec:
    name = "Conditional WGAN-GP"
    latent_dim = 128
    image_size = 64
    loss = "wgan-gp"
    train = TrainConfig(
        epochs=25,
        batch_size=64,
        lr_g=1e-4,
        lr_d=1e-4,
        beta1=0.0,
        beta2=0.9,
        n_critic=5,
        gp_weight=10.0,
    )
    hparams: Mapping[str, Any] = {"g_width": 64, "d_width": 64, "embed_dim": 32}

    def build_generator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Generator(self.latent_dim, int(hparams["g_width"]), int(hparams["embed_dim"]))

    def build_discriminator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Critic(int(hparams["d_width"]))

    def augmentation(self) -> A.Compose:
        # WGAN-GP is stable enough for a little geometric jitter on top of the flip.
        return A.Compose(
            [
                A.HorizontalFlip(p=0.5),
                A.Affine(scale=(0.97, 1.03), translate_percent=(-0.02, 0.02), p=0.3),
            ]
        )

    def search_space(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "lr_g": trial.suggest_float("lr_g", 3e-5, 5e-4, log=True),
            "lr_d": trial.suggest_float("lr_d", 3e-5, 5e-4, log=True),
            "n_critic": trial.suggest_int("n_critic", 2, 5),
            "gp_weight": trial.suggest_float("gp_weight", 1.0, 20.0, log=True),
        }


spec = WGANGPSpec()
