"""The competition's rules: an optional ``competition.toml``, with defaults that are today's.

Every rule a Kaggle-style round needs lives in one typed, frozen record, read by the CLI and
handed to the stages as plain values. The file is optional: without it the defaults reproduce
the harness as it was before competitions (1,000 samples per class, no daily limit, no
deadline), so a course that only wants the FID board changes nothing.

Example ``competition.toml`` (at the repository root, or ``--competition PATH``)::

    name = "Face-mask GAN, spring term"
    n_per_class = 1000            # samples per class that `score` draws or expects
    image_size = 64               # the size a `samples` submission must have
    public_fraction = 0.5         # share of each class of `test` on the public board
    final_selections = 2          # K submissions a team may select for the final board
    daily_submissions = 5         # scored submissions per team per UTC day (0: no limit)
    memorisation_threshold = 0.1  # MiFID's eps on the cosine distance to `train`
    deadline = 2026-12-15T23:59:00Z

This module is shared ground on purpose: besides the board, earlier stages (the sandbox's
limits) can read their defaults from here through :func:`competition_settings`.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_PATH = Path("competition.toml")


class CompetitionError(HarnessError):
    """``competition.toml`` is unreadable or holds an unknown key or a wrong value."""


@dataclass(frozen=True)
class Competition:
    """The rules of one competition; the defaults are the harness without a competition file.

    Attributes:
        name: shown in rows and boards (default "face-mask GAN").
        n_per_class: samples per class that ``score`` draws, and that a ``samples``
            submission must hold (default 1,000, as the course).
        image_size: the side in pixels a ``samples`` submission must have (default 64); code
            and checkpoint submissions are sampled at their spec's size, recorded in the row.
        public_fraction: share of each class of ``test`` that ``harness data split`` puts on
            the public board (default 0.5).
        final_selections: K, the submissions a team may select for the final board; a team
            that selects none is judged on its K best public ones (default 2).
        daily_submissions: scored submissions per team per UTC day, 0 for no limit (default 0).
        memorisation_threshold: MiFID's eps: a class whose mean cosine distance to the nearest
            ``train`` image is below it counts as memorised (default 0.1, Kaggle's).
        deadline: after it, ``score`` and ``select`` refuse (default: none).
    """

    name: str = "face-mask GAN"
    n_per_class: int = 1000
    image_size: int = 64
    public_fraction: float = 0.5
    final_selections: int = 2
    daily_submissions: int = 0
    memorisation_threshold: float = 0.1
    deadline: datetime | None = None

    def closed(self, now: datetime | None = None) -> bool:
        """Whether the deadline has passed."""
        if self.deadline is None:
            return False
        return (now or datetime.now(timezone.utc)) > self.deadline


def _check(settings: Competition, source: Path) -> None:
    problems = []
    if settings.n_per_class < 2:
        problems.append(f"n_per_class must be at least 2, got {settings.n_per_class}")
    if settings.image_size < 8:
        problems.append(f"image_size must be at least 8, got {settings.image_size}")
    if not 0 < settings.public_fraction < 1:
        problems.append(f"public_fraction must lie between 0 and 1, got {settings.public_fraction}")
    if settings.final_selections < 1:
        problems.append(f"final_selections must be at least 1, got {settings.final_selections}")
    if settings.daily_submissions < 0:
        problems.append(
            f"daily_submissions must be 0 (no limit) or more, got {settings.daily_submissions}"
        )
    if not 0 < settings.memorisation_threshold < 1:
        problems.append(
            f"memorisation_threshold must lie between 0 and 1, got {settings.memorisation_threshold}"
        )
    if problems:
        raise CompetitionError(f"{source}: " + "; ".join(problems))


def _deadline(value: Any, source: Path) -> datetime:
    """A TOML datetime, date or ISO string as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise CompetitionError(
                f"{source}: deadline {value!r} is not a date-time; write e.g. 2026-12-15T23:59:00Z"
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(23, 59, 59))
    if not isinstance(value, datetime):
        raise CompetitionError(f"{source}: deadline must be a date-time, got {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def load_competition(path: Path | None = None) -> Competition:
    """The settings in ``path`` (default ``competition.toml`` here), or the defaults without it.

    Raises:
        CompetitionError: the file is not TOML, names an unknown setting (the message lists
            the known ones), or gives a value of the wrong type or range.
    """
    source = Path(path) if path is not None else DEFAULT_PATH
    if not source.is_file():
        if path is not None:
            raise CompetitionError(f"competition file {source} does not exist")
        return Competition()
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CompetitionError(f"{source} is not valid TOML ({exc})") from None
    fields = {f.name: f for f in dataclasses.fields(Competition)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise CompetitionError(
            f"{source}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(fields)}"
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "deadline":
            values[key] = _deadline(value, source)
            continue
        kind = type(getattr(Competition(), key))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            raise CompetitionError(
                f"{source}: {key} must be a {kind.__name__}, got {value!r} ({type(value).__name__})"
            )
        values[key] = value
    settings = Competition(**values)
    _check(settings, source)
    return settings


def competition_settings() -> Competition:
    """The settings of the competition run from this folder, with defaults; one place to ask."""
    return load_competition()
