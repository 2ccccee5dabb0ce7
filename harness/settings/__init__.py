"""The user's own settings: what a user says once instead of on every command.

Today one setting, ``data`` (the dataset folder). It is read where ``--data`` and
``$HARNESS_DATA`` are not given, so the precedence is ``--data`` > ``$HARNESS_DATA`` >
settings file > ``data/facemask`` (:func:`harness.paths.data_root`). The file lives in the
user's config folder (``$XDG_CONFIG_HOME/harness/settings.toml``, else
``~/.config/harness/settings.toml``), or wherever ``$HARNESS_CONFIG`` points (tests, CI).
"""

from harness.settings._file import (
    CONFIG_ENV,
    KNOWN,
    UserSettings,
    read_settings,
    settings_path,
    unset_setting,
    write_setting,
)

__all__ = [
    "CONFIG_ENV",
    "KNOWN",
    "UserSettings",
    "read_settings",
    "settings_path",
    "unset_setting",
    "write_setting",
]
