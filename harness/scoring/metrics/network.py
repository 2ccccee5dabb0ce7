"""pytorch-fid's InceptionV3, built with weights we hand it instead of its download.

This is the one place that constructs the network. Both the weights module (which verifies
derived weights by running the network) and the fast feature extractor build it here, so
neither has to import the other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def _serving(state: dict[str, torch.Tensor]) -> Iterator[None]:
    """Make pytorch-fid's builder load ``state`` instead of downloading its weights."""
    from pytorch_fid import inception as pf_inception

    saved = pf_inception.load_state_dict_from_url
    pf_inception.load_state_dict_from_url = lambda *args, **kwargs: state
    try:
        yield
    finally:
        pf_inception.load_state_dict_from_url = saved


def build_inception(state: dict[str, torch.Tensor], dims: int = 2048) -> nn.Module:
    """pytorch-fid's ``InceptionV3`` for ``dims`` with the given weights, in eval mode."""
    from pytorch_fid.inception import InceptionV3

    if dims not in InceptionV3.BLOCK_INDEX_BY_DIM:
        raise ValueError(
            f"dims must be one of {sorted(InceptionV3.BLOCK_INDEX_BY_DIM)}, got {dims}"
        )
    with _serving(state):
        model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[dims]])
    return model.eval()
