"""Metrics: pytorch-fid's InceptionV3 features and the numbers computed from them.

Takes in uint8 images (fakes in memory, reals from the data cache). :mod:`.weights` finds or
derives the Inception weights offline, :mod:`.network` builds pytorch-fid's model with them,
:mod:`.inception` extracts pool3 features fast, :mod:`.reference` caches the reals' features
by key, :mod:`.fid` computes FID, KID and the bootstrap, :mod:`.memorisation` Kaggle's MiFID,
:mod:`.prdc` precision/recall/density/coverage, :mod:`.sources` reads folders and ``.npz``
files for ``harness fid``. Hands on numbers that equal pytorch-fid's.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "Statistics": "fid",
    "frechet_distance": "fid",
    "kid": "fid",
    "statistics": "fid",
    "InceptionFeatures": "inception",
    "build_inception": "network",
    "class_reference": "reference",
    "statistics_of": "sources",
    "WeightsInfo": "weights",
    "ensure_weights": "weights",
    "mifid": "memorisation",
    "nearest_train": "memorisation",
    "prdc": "prdc",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
