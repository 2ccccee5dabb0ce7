"""Reading and writing the settings file: a flat TOML table of known keys, written atomically.

Only keys in :data:`KNOWN` are read or written, so a misspelt key in the file is an error that
names the file, never a setting silently ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness import atomic
from harness.errors import HarnessError

CONFIG_ENV = "HARNESS_CONFIG"
FILE_NAME = "settings.toml"
KNOWN: Mapping[str, str] = {
    "data": "dataset folder used when --data and $HARNESS_DATA are not given",
}


@dataclass(frozen=True)
class UserSettings:
    """The settings file's values (only known keys) and where the file is."""

    path: Path
    values: Mapping[str, str]

    def get(self, key: str) -> str | None:
        """The value of ``key``, or None when the file does not set it."""
        return self.values.get(key)


def settings_path() -> Path:
    """``$HARNESS_CONFIG``, else ``$XDG_CONFIG_HOME/harness/settings.toml``, else
    ``~/.config/harness/settings.toml``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "harness" / FILE_NAME


def _parse(text: str, path: Path) -> dict[str, str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HarnessError(
            f"settings file {path} is not valid TOML ({exc}); fix or delete it"
        ) from None
    unknown = sorted(set(raw) - set(KNOWN))
    if unknown:
        raise HarnessError(
            f"settings file {path} has unknown key(s) {', '.join(unknown)}; known: "
            f"{', '.join(KNOWN)}"
        )
    bad = [k for k, v in raw.items() if not isinstance(v, str)]
    if bad:
        raise HarnessError(f"settings file {path}: {', '.join(bad)} must be a string")
    return dict(raw)


def read_settings() -> UserSettings:
    """The user's settings; an absent file is no settings.

    Raises:
        HarnessError: the file exists but is not TOML, or holds unknown or non-string keys.
    """
    path = settings_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return UserSettings(path, {})
    except OSError as exc:
        raise HarnessError(f"settings file {path} cannot be read: {exc.strerror}") from None
    return UserSettings(path, _parse(text, path))


def _write(path: Path, values: Mapping[str, str]) -> None:
    # JSON string quoting is valid TOML basic-string quoting for every character.
    lines = ["# harness settings: `harness config show` lists them, `harness config set` writes."]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, "\n".join(lines) + "\n")


def _check_key(key: str) -> None:
    if key not in KNOWN:
        raise HarnessError(f"unknown setting {key!r}; known: {', '.join(KNOWN)}")


def write_setting(key: str, value: str) -> UserSettings:
    """Set ``key`` to ``value`` in the settings file (created when absent); returns the result."""
    _check_key(key)
    current = read_settings()
    values = {**current.values, key: value}
    _write(current.path, values)
    return UserSettings(current.path, values)


def unset_setting(key: str) -> bool:
    """Remove ``key`` from the settings file; False when it was not set."""
    _check_key(key)
    current = read_settings()
    if key not in current.values:
        return False
    _write(current.path, {k: v for k, v in current.values.items() if k != key})
    return True
