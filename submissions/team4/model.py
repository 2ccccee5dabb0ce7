"""Team 4: the course winner's shape, an InfoGAN-style fc + deconv generator.

After Chen et al., "InfoGAN" (2016), whose generator is a fully connected stack that maps the
latent input to a small feature map, followed by transposed convolutions. Here the latent
input is z together with the one-hot class; the last ``codes`` entries of z act as InfoGAN's
continuous codes. The discriminator shares a convolutional trunk between three heads: real/fake,
the class (an auxiliary classifier) and the continuous codes (InfoGAN's Q). Its outputs are read
only by this team's loss hook:

- discriminator: BCE(real/fake) + cls_weight * CE(class | real) + info_weight * MSE(codes | fake)
- generator: non-saturating BCE + cls_weight * CE(class | fake) + info_weight * MSE(codes | fake)

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

from harness.spec import TrainConfig

NUM_CLASSES = 2


class Generator(nn.Module):
    def __init__(self, latent_dim: int, width: int) -> None:
        super().__init__()
        self.width = width
        self.fc = nn.Sequential(
            nn.Linear(latent_dim + NUM_CLASSES, 1024),
            nn.BatchNorm1d(1024),
            nn.ReLU(True),
            nn.Linear(1024, width * 4 * 8 * 8),
            nn.BatchNorm1d(width * 4 * 8 * 8),
            nn.ReLU(True),
        )

        def up(cin: int, cout: int) -> list[nn.Module]:
            return [
                nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
            ]

        self.deconv = nn.Sequential(
            *up(width * 4, width * 2),  # 16 x 16
            *up(width * 2, width),  # 32 x 32
            nn.ConvTranspose2d(width, 3, 4, 2, 1),  # 64 x 64
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, F.one_hot(y, NUM_CLASSES).to(z.dtype)], dim=1))
        return self.deconv(h.view(-1, self.width * 4, 8, 8))


class Discriminator(nn.Module):
    def __init__(self, width: int, codes: int) -> None:
        super().__init__()

        def down(cin: int, cout: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.LeakyReLU(0.2, True),
            ]

        self.trunk = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            *down(width, width * 2),
            *down(width * 2, width * 4),
            *down(width * 4, width * 8),
            nn.Flatten(),
            nn.Linear(width * 8 * 4 * 4, 1024),
            nn.LeakyReLU(0.2, True),
        )
        self.adversarial = nn.Linear(1024, 1)
        self.classifier = nn.Linear(1024, NUM_CLASSES)
        self.codes = nn.Linear(1024, codes)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.adversarial(h).flatten(), self.classifier(h), self.codes(h)


class InfoGANLoss:
    """The team's LossHook: adversarial BCE plus the class and code heads."""

    def __init__(self, codes: int, cls_weight: float, info_weight: float) -> None:
        self.codes, self.cls_weight, self.info_weight = codes, cls_weight, info_weight

    def discriminator_loss(
        self, d: Any, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ):  # type: ignore[no-untyped-def]
        real_adv, real_cls, _ = d(real, y)
        fake_adv, _, fake_codes = d(fake, y)
        adversarial = F.binary_cross_entropy_with_logits(
            real_adv, torch.ones_like(real_adv)
        ) + F.binary_cross_entropy_with_logits(fake_adv, torch.zeros_like(fake_adv))
        classification = F.cross_entropy(real_cls, y)
        info = F.mse_loss(fake_codes, z[:, -self.codes :])
        accuracy = (real_cls.argmax(1) == y).float().mean()
        loss = adversarial + self.cls_weight * classification + self.info_weight * info
        return loss, {"cls_acc_real": float(accuracy), "info": float(info.detach())}

    def generator_loss(self, d: Any, fake: torch.Tensor, y: torch.Tensor, z: torch.Tensor):  # type: ignore[no-untyped-def]
        adv, cls, codes = d(fake, y)
        adversarial = F.binary_cross_entropy_with_logits(adv, torch.ones_like(adv))
        loss = (
            adversarial
            + self.cls_weight * F.cross_entropy(cls, y)
            + self.info_weight * F.mse_loss(codes, z[:, -self.codes :])
        )
        return loss, {"cls_acc_fake": float((cls.argmax(1) == y).float().mean())}


class InfoGANStyleSpec:
    name = "InfoGAN-style fc+deconv"
    latent_dim = 100
    image_size = 64
    train = TrainConfig(epochs=25, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)
    hparams: Mapping[str, Any] = {
        "g_width": 64,
        "d_width": 64,
        "codes": 2,
        "cls_weight": 1.0,
        "info_weight": 0.5,
    }

    def loss(self, hparams: Mapping[str, Any]) -> InfoGANLoss:
        """The loss hook, built from the hparams that hold its weights."""
        return InfoGANLoss(
            int(hparams["codes"]), float(hparams["cls_weight"]), float(hparams["info_weight"])
        )

    def build_generator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Generator(self.latent_dim, int(hparams["g_width"]))

    def build_discriminator(self, hparams: Mapping[str, Any]) -> nn.Module:
        return Discriminator(int(hparams["d_width"]), int(hparams["codes"]))

    def augmentation(self) -> A.Compose:
        return A.Compose(
            [
                A.HorizontalFlip(p=0.5),
                A.RandomBrightnessContrast(brightness_limit=0.08, contrast_limit=0.08, p=0.3),
            ]
        )

    def search_space(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "lr_g": trial.suggest_float("lr_g", 5e-5, 1e-3, log=True),
            "lr_d": trial.suggest_float("lr_d", 5e-5, 1e-3, log=True),
            "beta1": trial.suggest_categorical("beta1", [0.0, 0.5]),
            "cls_weight": trial.suggest_float("cls_weight", 0.1, 3.0, log=True),
            "info_weight": trial.suggest_float("info_weight", 0.05, 2.0, log=True),
        }


spec = InfoGANStyleSpec()
