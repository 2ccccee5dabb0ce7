"""The documentation site builds with ``mkdocs build --strict``, so a broken link fails here.

The site is built from ``docs/`` by ``mkdocs.yml``; its command reference is generated from the
CLI at build time (``scripts/mkdocs_hooks.py``). These tests build the real site into a
temporary folder and check that the reference holds every command, that the validation
settings turn a broken link or anchor into a failed build while a page left out of the nav
still builds, that a link out of ``docs/`` to a missing repository file fails too, and that
every relative link of the README (which MkDocs does not read) points at a file that exists.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import mkdocs  # noqa: F401  (the dev extra installs it; a missing one fails, not skips)
import pytest
import typer.main
import yaml

from harness.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site``, as CI runs it."""
    argv = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config)]
    return subprocess.run(
        [*argv, "--site-dir", str(site)], capture_output=True, text=True, check=False
    )


def _command_paths(command: Any, prefix: str = "harness") -> list[str]:
    """Every command line the CLI accepts, ``harness data split`` included.

    Groups are told by their ``commands`` table: typer may bring its own copy of click, whose
    classes are not ``click.Group``.
    """
    if not getattr(command, "commands", None):
        return [prefix]
    paths = []
    for name, sub in command.commands.items():
        paths += _command_paths(sub, f"{prefix} {name}")
    return paths


def test_site_builds_strict_with_every_command_in_the_reference(tmp_path: Path) -> None:
    done = _mkdocs(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr[-3000:]
    reference = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    commands = _command_paths(typer.main.get_command(app))
    assert "harness data split" in commands and "harness train" in commands
    for command in commands:
        assert f"<code>{command}</code>" in reference, f"{command} missing from the reference"
    # The repository files published as pages, and the pictures the README shares.
    for page in ("teams/team4", "measurements/benchmarks", "reference/data"):
        assert (tmp_path / "site" / page / "index.html").is_file()
    assert (tmp_path / "site" / "grids" / "team4.png").is_file()
    assert (tmp_path / "site" / "site" / "index-390.png").is_file()


def test_validation_settings_fail_broken_links_but_not_pages_outside_the_nav(
    tmp_path: Path,
) -> None:
    validation = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["validation"]
    docs = tmp_path / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\n## Part\n\n[guide](guide/new.md)\n")
    (docs / "guide" / "new.md").write_text("# A page not in the nav\n\n[home](../index.md#part)\n")
    config = tmp_path / "mkdocs.yml"
    settings = {"site_name": "t", "nav": [{"Home": "index.md"}], "validation": validation}
    config.write_text(yaml.safe_dump(settings))
    assert _mkdocs(config, tmp_path / "site").returncode == 0

    (docs / "guide" / "new.md").write_text("# New\n\n[gone](missing.md)\n")
    broken_page = _mkdocs(config, tmp_path / "site")
    assert broken_page.returncode != 0
    assert "missing.md" in broken_page.stderr

    (docs / "guide" / "new.md").write_text("# New\n\n[home](../index.md#no-such-part)\n")
    broken_anchor = _mkdocs(config, tmp_path / "site")
    assert broken_anchor.returncode != 0
    assert "no-such-part" in broken_anchor.stderr


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "scripts/mkdocs_hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_links_out_of_docs_are_checked_and_rewritten(caplog: pytest.LogCaptureFixture) -> None:
    hooks = _hooks()
    hooks._origin["guide/x.md"] = "docs/guide/x.md"
    config = {"config_file_path": str(ROOT / "mkdocs.yml"), "docs_dir": str(ROOT / "docs")}
    page = SimpleNamespace(file=SimpleNamespace(src_uri="guide/x.md"))
    markdown = (
        "[team4](../../submissions/team4/README.md) "
        "[limits](../../harness/sandbox/limits.py) "
        "[bench](../../bench/README.md#score_costpy-every-metric-against-fid-alone) "
        "![grid](../grids/team4.png)\n"
        "```\n[kept](../../nowhere.py)\n```\n"
    )
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.harness"):
        out = hooks.on_page_markdown(markdown, page=page, config=config, files=None)
    assert "[team4](../teams/team4.md)" in out
    assert "[limits](../../harness" not in out and "`harness/sandbox/limits.py`" in out
    assert "(../measurements/benchmarks.md#score_costpy-every-metric-against-fid-alone)" in out
    assert "![grid](../grids/team4.png)" in out
    assert "[kept](../../nowhere.py)" in out  # inside a code block: left alone
    assert not caplog.records

    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.harness"):
        hooks.on_page_markdown("[old](../../harness/gone.py)", page=page, config=config, files=None)
    assert any("harness/gone.py" in r.getMessage() for r in caplog.records)

    # A heading the README no longer has (its sections moved into docs/) is caught too.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.harness"):
        hooks.on_page_markdown(
            "[set up](../../README.md#set-up) [gone](../../README.md#scaling-out)",
            page=page,
            config=config,
            files=None,
        )
    assert [r.getMessage() for r in caplog.records if "#set-up" in r.getMessage()] == []
    assert any("#scaling-out" in r.getMessage() for r in caplog.records)


def test_every_relative_link_in_the_readme_exists() -> None:
    github_anchors = _hooks().github_anchors
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme) + re.findall(r'src="([^"]+)"', readme)
    relative = [t for t in targets if not re.match(r"^[a-z]+:", t)]
    assert len(relative) > 10  # the docs pages and the pictures
    for target in relative:
        path, _, anchor = target.partition("#")
        assert not path or (ROOT / path).exists(), f"README.md links to {target}: no such file"
        if anchor:
            text = (ROOT / path).read_text() if path else readme
            assert anchor in github_anchors(text), f"README.md links to {target}: no such anchor"
