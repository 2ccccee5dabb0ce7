"""Content hashes of files, read in chunks (datasets and weights are too big to slurp)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes with ``algorithm`` (any name ``hashlib.new`` knows)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def arrays_digest(*arrays: Any) -> str:
    """Hex SHA-256 over the dtype, shape and bytes of each array, in order.

    Caches the parent reads (decoded splits, real statistics) record this when written and are
    checked against it when loaded, so a cache file changed behind the harness's back, by a
    failing disk or by code that should not have written it, is rebuilt rather than trusted.
    """
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()
