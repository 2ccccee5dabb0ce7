"""The service's settings, one object handed to every route (the API's and the pages')."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from harness.service import store
from harness.service.ratelimit import AuthGuard
from harness.service.uploads import Caps
from harness.settings.competition import Competition


@dataclass
class ServiceSettings:
    """One settings object for every route."""

    engine: sa.Engine
    state: store.State
    board: Path
    competition: Competition
    caps: Caps = field(default_factory=Caps)
    runs_root: Path | None = None
    guard: AuthGuard = field(default_factory=AuthGuard)
    site_lock: threading.Lock = field(default_factory=threading.Lock)
