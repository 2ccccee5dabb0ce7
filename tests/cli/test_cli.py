"""The command line itself: help texts, usage mistakes.

Help texts must survive rich's markup. Typer renders help with rich markup, where ``[default: ...]`` is a tag and silently vanishes:
``--data``'s help once read "Dataset folder ." for that reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from rich.text import Text

from harness.cli import app, main


def _options(command: Any, path: str = "harness") -> Iterator[tuple[str, str]]:
    # Duck-typed: typer may carry its own copy of click, whose classes are not click's.
    for param in command.params:
        if param.param_type_name == "option" and param.help:
            yield f"{path} {param.opts[0]}", param.help
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options(sub, f"{path} {name}")


def test_every_option_help_renders_whole() -> None:
    options = list(_options(typer.main.get_command(app)))
    assert len(options) > 30  # the walk reached the subcommands
    eaten = {name: help for name, help in options if Text.from_markup(help).plain != help}
    assert eaten == {}


def test_data_option_names_its_default(capsys) -> None:
    with contextlib.suppress(SystemExit):
        typer.main.get_command(app).main(["train", "--help"], standalone_mode=False)
    assert "$HARNESS_DATA" in capsys.readouterr().out


def test_a_mistyped_option_is_a_usage_line_not_a_traceback(capsys) -> None:
    # Typer 0.29 brings its own click; its exceptions once escaped as a traceback (exit 1).
    with pytest.raises(SystemExit) as info:
        main(["train", "submissions/team2", "--epochz", "1"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "No such option: --epochz" in err and "Traceback" not in err
