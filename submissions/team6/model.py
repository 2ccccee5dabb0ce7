"""Team 6: a modern conditional GAN sized for 64 x 64 on a CPU budget.

Each piece is a published remedy for a failure the course's systems show; the README says where
each comes from. In short:

- generator: DCGAN-shaped transposed convolutions 4 -> 64 px whose batch norms are *conditional*
  (the class picks the scale and shift of every normalised feature map: de Vries et al. 2017,
  Miyato and Koyama 2018), so the label acts at every resolution rather than only at the input;
- discriminator: spectral normalisation on every layer (Miyato et al. 2018) and a *projection*
  head for the class, ``D(x, y) = psi(h) + <embed(y), h>`` (Miyato and Koyama 2018);
- loss: hinge (the harness's built-in ``hinge``); two time-scale learning rates (Heusel et al.
  2017), Adam betas (0, 0.9) as in SAGAN;
- DiffAugment colour, translation and cutout on reals and fakes before D (Zhao et al. 2020), and
  an EMA of G for sampling (both are harness options, set in ``train``).

Classes: 0 = with_mask, 1 = without_mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import albumentations as A
import optuna
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from harness.spec import TrainConfig

NUM_CLASSES = 2


class ConditionalBatchNorm(nn.Module):
    """Batch norm without its own affine; the class embedding supplies scale and shift."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(NUM_CLASSES, channels)
        self.bias = nn.Embedding(NUM_CLASSES, channels)
        # Near the identity, but not exactly: each class starts with its own small scale and
        # shift, so that the output depends on y from the first step (validate checks it).
        nn.init.normal_(self.gain.weight, 1.0, 0.02)
        nn.init.normal_(self.bias.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gain = self.gain(y)[:, :, None, None]
        bias = self.bias(y)[:, :, None, None]
        return self.norm(x) * gain + bias


class UpBlock(nn.Module):
    """Transposed convolution x2, conditional batch norm, ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
        self.norm = ConditionalBatchNorm(cout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x), y))


class Generator(nn.Module):
    def __init__(self, latent_dim: int, width: int) -> None:
        super().__init__()
        self.width = width
        self.project = nn.Linear(latent_dim, width * 8 * 4 * 4, bias=False)
        self.norm0 = ConditionalBatchNorm(width * 8)
        self.blocks = nn.ModuleList(
            [
                UpBlock(width * 8, width * 4),  # 8 x 8
                UpBlock(width * 4, width * 2),  # 16 x 16
                UpBlock(width * 2, width),  # 32 x 32
            ]
        )
        self.to_rgb = nn.ConvTranspose2d(width, 3, 4, 2, 1)  # 64 x 64

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, self.width * 8, 4, 4)
        h = F.relu(self.norm0(h, y))
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.to_rgb(h))


class ProjectionDiscriminator(nn.Module):
    """Spectrally normalised strided convolutions, then ``psi(h) + <embed(y), h>``."""

    def __init__(self, width: int) -> None:
        super().__init__()

        def down(cin: int, cout: int) -> list[nn.Module]:
            return [spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.1, True)]

        self.trunk = nn.Sequential(
            *down(3, width),  # 32 x 32
            *down(width, width * 2),  # 16 x 16
            *down(width * 2, width * 4),  # 8 x 8
            *down(width * 4, width * 8),  # 4 x 4
        )
        self.psi = spectral_norm(nn.Linear(width * 8, 1))
        self.embed = spectral_norm(nn.Embedding(NUM_CLASSES, width * 8))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x).sum(dim=(2, 3))  # global sum pooling, as in SNGAN's ResNet D
        return self.psi(h).flatten() + (self.embed(y) * h).sum(dim=1)


class ModernCGANSpec:
    name = "SN projection cGAN + cBN + hinge + DiffAugment"
    latent_dim = 128
    image_size = 64
    loss = "hinge"
    train = TrainConfig(
        epochs=25,
        batch_size=64,
        lr_g=1e-4,
        lr_d=4e-4,
        beta1=0.0,
        beta2=0.9,
        ema_decay=0.999,
        diffaugment="color,translation,cutout",
    )
    hparams: Mapping[str, Any] = {"g_width": 64, "d_width": 64}

    def build_generator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Generator(self.latent_dim, int(hparams["g_width"]))

    def build_discriminator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return ProjectionDiscriminator(int(hparams["d_width"]))

    def augmentation(self) -> A.Compose:
        # DiffAugment does the heavy lifting on both sides of D; what is applied to reals only
        # is learned by G, so keep it to a flip.
        return A.Compose([A.HorizontalFlip(p=0.5)])

    def search_space(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "lr_g": trial.suggest_float("lr_g", 5e-5, 5e-4, log=True),
            "lr_d": trial.suggest_float("lr_d", 1e-4, 1e-3, log=True),
            "diffaugment": trial.suggest_categorical(
                "diffaugment", ["", "translation", "color,translation,cutout"]
            ),
            "g_width": trial.suggest_categorical("g_width", [32, 64]),
        }


spec = ModernCGANSpec()
