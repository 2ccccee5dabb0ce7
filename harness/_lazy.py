"""Lazy re-exports for the stage packages, so that ``import harness.board`` stays cheap.

Each stage package (``harness.data``, ``harness.training``, ...) re-exports its public names
the way Optuna's packages do, but importing a stage must not pull in torch or every sibling
module: ``harness leaderboard`` should not pay for Inception, and the child that trains must not
import the scorer. So a package lists ``name -> module`` and the module is imported on first
attribute access (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that import ``exports[name]`` on demand.

    Args:
        package: the package's ``__name__``.
        exports: public name -> submodule (relative to the package) that defines it.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
