"""pytorch-fid's InceptionV3 pool3 features from in-memory uint8 images, made fast.

The network is pytorch-fid's own (``pytorch_fid.inception.InceptionV3``: bilinear resize to
299, ``2x - 1`` scaling, the TF-ported blocks), loaded with the weights from
:mod:`harness.scoring.metrics.weights`. For speed, a copy is prepared for inference only:

- every batch norm is folded into its convolution (``torch.nn.utils.fusion.fuse_conv_bn_eval``);
- the input scaling ``2x - 1`` is folded into the first convolution, which is exact because
  that convolution has stride 2 and no padding, so every output sees only real pixels;
- weights and inputs are channels_last; inference runs under ``torch.inference_mode``;
- it stays fp32 on every device: TF32 and autocast are off while it runs
  (:func:`harness.device.exact_fp32`).

Measured on 2 CPU cores this runs about twice as fast as pytorch-fid's model (bench/README.md)
with features within 1e-5 and FID within 1e-3 of it. Inputs are uint8 ``[N, H, W, 3]``, turned
into floats exactly as torchvision's ``ToTensor`` does (``/ 255``), so images read from files
give the same features as ``python -m pytorch_fid`` computes.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.device import exact_fp32
from harness.scoring.metrics.network import build_inception
from harness.scoring.metrics.weights import WeightsInfo, ensure_weights, load_state

EXTRACTOR = "pytorch-fid-0.3.0 InceptionV3 pool3, bn+input folded, fp32"
DIMS: tuple[int, ...] = (64, 192, 768, 2048)


def fold_for_inference(model: nn.Module) -> nn.Module:
    """A copy of a pytorch-fid ``InceptionV3`` with batch norms and input scaling folded in."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    from torchvision.models.inception import BasicConv2d

    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if isinstance(module, BasicConv2d):
            module.conv = fuse_conv_bn_eval(module.conv, module.bn)
            module.bn = nn.Identity()
    if folded.normalize_input:
        first = folded.blocks[0][0].conv
        if first.padding != (0, 0):
            raise RuntimeError("cannot fold input scaling into a padded first convolution")
        with torch.no_grad():
            bias = first.bias - first.weight.sum(dim=(1, 2, 3))
            first.weight.mul_(2.0)
            first.bias.copy_(bias)
        folded.normalize_input = False
    return folded.to(memory_format=torch.channels_last)


class InceptionFeatures:
    """Pool3 (or smaller-block) features of uint8 images, batched, on one device.

    Args:
        dims: 2048 (pool3, the FID standard) or 64, 192, 768 (pytorch-fid's smaller blocks).
        device: a torch device; ``None`` picks CUDA when present.
        batch_size: images per forward pass (default 50, as pytorch-fid).
        fold: use the folded fast copy (default); ``False`` runs pytorch-fid's model as it is.
        weights: weights to use; by default :func:`ensure_weights` finds or derives them.
    """

    def __init__(
        self,
        dims: int = 2048,
        device: torch.device | str | None = None,
        batch_size: int = 50,
        fold: bool = True,
        weights: WeightsInfo | None = None,
    ) -> None:
        self.weights = weights or ensure_weights()
        self.dims = dims
        self.device = (
            torch.device(device)
            if device is not None
            else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        )
        self.batch_size = batch_size
        model = build_inception(load_state(self.weights), dims)
        self.model = (fold_for_inference(model) if fold else model).to(self.device)
        self.name = EXTRACTOR if fold else EXTRACTOR.replace("bn+input folded", "as released")

    def __call__(self, images: np.ndarray, progress: str | None = None) -> np.ndarray:
        """Features float64 ``[N, dims]`` of uint8 images ``[N, H, W, 3]``; with ``progress``,
        a bar of that name shows images/s and the time left (:mod:`harness.scoring.progress`)."""
        from harness.scoring.progress import image_bar

        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(
                f"expected uint8 [N, H, W, 3] images, got {images.dtype} {images.shape}"
            )
        out = np.empty((len(images), self.dims), dtype=np.float64)
        bar = image_bar(progress or "inception", len(images), enabled=progress is not None)
        # exact_fp32: TF32 and autocast off, whatever the caller set for training, so that FID
        # on a GPU matches pytorch-fid's fp32 numbers.
        with bar, torch.inference_mode(), exact_fp32():
            for start in range(0, len(images), self.batch_size):
                batch = np.array(images[start : start + self.batch_size], copy=True)  # writable
                x = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).float().div(255)
                x = x.contiguous(memory_format=torch.channels_last)
                features = self.model(x)[0]
                if features.shape[2] != 1 or features.shape[3] != 1:
                    features = F.adaptive_avg_pool2d(features, output_size=(1, 1))
                out[start : start + len(batch)] = features.flatten(1).double().cpu().numpy()
                bar.update(len(batch))
        return out
