"""``harness config``: the user's settings file (today: the data folder, said once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._common import JsonOpt, emit, err

config_app = typer.Typer(
    help="Settings said once instead of on every command (the data folder).",
    no_args_is_help=True,
)


def config_set(
    key: Annotated[str, typer.Argument(help="The setting: data.")],
    value: Annotated[str, typer.Argument(help="Its value, e.g. a dataset folder.")],
) -> None:
    """Write a setting to the user's settings file."""
    from harness.data.layout import list_split
    from harness.settings import write_setting

    if key == "data":
        folder = Path(value).expanduser().resolve()
        list_split(folder, "train")  # a folder that is no dataset fails here, precisely
        value = str(folder)
    written = write_setting(key, value)
    err(f"{key} = {value} (in {written.path}); `harness config show` lists every setting")


def config_unset(key: Annotated[str, typer.Argument(help="The setting: data.")]) -> None:
    """Remove a setting from the user's settings file."""
    from harness.settings import settings_path, unset_setting

    removed = unset_setting(key)
    err(f"{key} {'removed from' if removed else 'was not set in'} {settings_path()}")


def config_show(as_json: JsonOpt = False) -> None:
    """The settings file's path, each setting, and the data folder in use and why."""
    from harness.paths import data_root_source
    from harness.settings import KNOWN, read_settings

    settings = read_settings()
    root, source = data_root_source()
    exists = settings.path.is_file()
    lines = [f"settings file: {settings.path}{'' if exists else ' (none yet)'}"]
    for key, meaning in KNOWN.items():
        lines.append(f"  {key} = {settings.get(key) or '(not set)'}  # {meaning}")
    lines.append(f"data folder in use: {root} (from {source})")
    result = {
        "path": str(settings.path),
        "exists": exists,
        "settings": dict(settings.values),
        "data": str(root),
        "data_source": source,
    }
    emit(result, as_json, "\n".join(lines))


for _name, _command in (("show", config_show), ("set", config_set), ("unset", config_unset)):
    config_app.command(_name)(_command)
