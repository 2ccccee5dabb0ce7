"""Data: the face-mask images on disk, checked, fingerprinted and decoded once.

Takes in a folder in the layout ``train|test/with_mask|without_mask/*.png`` (imported,
downloaded, or drawn as a demo set). Hands on content fingerprints of each split, and uint8
``[N, S, S, 3]`` arrays per split and image size, resized by the one recorded resizer, cached
on disk, and the secret public/private assignment of ``test`` (:mod:`.split`). Nothing here
imports a later stage.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "CheckReport": "layout",
    "SplitFiles": "layout",
    "check_images": "layout",
    "dataset_fingerprint": "layout",
    "dataset_info": "layout",
    "import_dataset": "layout",
    "list_split": "layout",
    "read_rgb": "layout",
    "split_fingerprint": "layout",
    "SplitArrays": "cache",
    "cached_split": "cache",
    "heldout_cache_root": "cache",
    "load_arrays": "cache",
    "download_dataset": "download",
    "is_demo": "demo",
    "make_demo_dataset": "demo",
    "RESIZER": "resize",
    "resize_square": "resize",
    "HeldoutSplit": "split",
    "load_split": "split",
    "make_split": "split",
    "split_path": "split",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
