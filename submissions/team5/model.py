"""Team 5: ACGAN, the auxiliary-classifier GAN.

Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier GANs" (2017). The
generator multiplies z by a learned embedding of the class, maps it to a 16 x 16 feature map and
upsamples twice (nearest neighbour + 3x3 convolution). The discriminator sees only the image and
predicts both real/fake and the class; both networks take the class-prediction loss:

- discriminator: BCE(real/fake) + aux_weight * (CE(class | real) + CE(class | fake))
- generator: non-saturating BCE + aux_weight * CE(class | fake)

Classes: 0 = with_mask, 1 = without_mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import albumentations as A
import cv2
import optuna
import torch
import torch.nn.functional as F
from torch import nn

from harness.spec import TrainConfig

NUM_CLASSES = 2


class Generator(nn.Module):
    def __init__(self, latent_dim: int, width: int) -> None:
        super().__init__()
        self.width = width
        self.embed = nn.Embedding(NUM_CLASSES, latent_dim)
        self.fc = nn.Linear(latent_dim, width * 2 * 16 * 16)
        self.net = nn.Sequential(
            nn.BatchNorm2d(width * 2),
            nn.Upsample(scale_factor=2),  # 32 x 32
            nn.Conv2d(width * 2, width, 3, 1, 1),
            nn.BatchNorm2d(width, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),  # 64 x 64
            nn.Conv2d(width, width // 2, 3, 1, 1),
            nn.BatchNorm2d(width // 2, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width // 2, 3, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.fc(self.embed(y) * z).view(-1, self.width * 2, 16, 16)
        return self.net(h)


class Discriminator(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()

        def block(cin: int, cout: int, norm: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [
                nn.Conv2d(cin, cout, 3, 2, 1),
                nn.LeakyReLU(0.2, True),
                nn.Dropout2d(dropout),
            ]
            if norm:
                layers.append(nn.BatchNorm2d(cout, 0.8))
            return layers

        self.trunk = nn.Sequential(
            *block(3, width, norm=False),  # 32
            *block(width, width * 2),  # 16
            *block(width * 2, width * 4),  # 8
            *block(width * 4, width * 8),  # 4
            nn.Flatten(),
        )
        self.adversarial = nn.Linear(width * 8 * 4 * 4, 1)
        self.classifier = nn.Linear(width * 8 * 4 * 4, NUM_CLASSES)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.adversarial(h).flatten(), self.classifier(h)


class ACGANLoss:
    """ACGAN's objective as a harness LossHook."""

    def __init__(self, aux_weight: float) -> None:
        self.aux_weight = aux_weight

    def discriminator_loss(
        self, d: Any, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ):  # type: ignore[no-untyped-def]
        real_adv, real_cls = d(real, y)
        fake_adv, fake_cls = d(fake, y)
        adversarial = F.binary_cross_entropy_with_logits(
            real_adv, torch.ones_like(real_adv)
        ) + F.binary_cross_entropy_with_logits(fake_adv, torch.zeros_like(fake_adv))
        auxiliary = F.cross_entropy(real_cls, y) + F.cross_entropy(fake_cls, y)
        accuracy = (real_cls.argmax(1) == y).float().mean()
        return adversarial + self.aux_weight * auxiliary, {"cls_acc_real": float(accuracy)}

    def generator_loss(self, d: Any, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor):  # type: ignore[no-untyped-def]
        adv, cls = d(fake, y)
        loss = F.binary_cross_entropy_with_logits(
            adv, torch.ones_like(adv)
        ) + self.aux_weight * F.cross_entropy(cls, y)
        return loss, {"cls_acc_fake": float((cls.argmax(1) == y).float().mean())}


class ACGANSpec:
    name = "ACGAN"
    latent_dim = 100
    image_size = 64
    train = TrainConfig(epochs=25, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)
    hparams: Mapping[str, Any] = {"g_width": 64, "d_width": 32, "dropout": 0.25, "aux_weight": 1.0}

    def loss(self, hparams: Mapping[str, Any]) -> ACGANLoss:
        return ACGANLoss(float(hparams["aux_weight"]))

    def build_generator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Generator(self.latent_dim, int(hparams["g_width"]))

    def build_discriminator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Discriminator(int(hparams["d_width"]), float(hparams["dropout"]))

    def augmentation(self) -> A.Compose:
        return A.Compose(
            [
                A.HorizontalFlip(p=0.5),
                A.Affine(
                    scale=(0.95, 1.05),
                    translate_percent=(-0.03, 0.03),
                    rotate=(-5, 5),
                    border_mode=cv2.BORDER_REFLECT_101,
                    p=0.3,
                ),
            ]
        )

    def search_space(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "lr_g": trial.suggest_float("lr_g", 5e-5, 1e-3, log=True),
            "lr_d": trial.suggest_float("lr_d", 5e-5, 1e-3, log=True),
            "aux_weight": trial.suggest_float("aux_weight", 0.2, 3.0, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        }


spec = ACGANSpec()
