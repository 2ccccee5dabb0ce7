"""MkDocs hooks: the pages made at build time, and links that leave ``docs/``.

Two jobs, both so that the site cannot drift from the repository:

* **Generated pages.** The command reference is written by typer's own generator
  (``typer harness.cli utils docs``) from the CLI as it is now, and a few Markdown files that
  live beside what they describe (``bench/README.md``, each team's ``README.md``,
  ``data/README.md``) are published as site pages from the file itself. None of these exist
  under ``docs/``, so there is nothing to regenerate or copy by hand.
* **Links out of ``docs/``.** The Markdown in ``docs/`` links to repository files relatively
  (``../../harness/sandbox/limits.py``), which works on GitHub. MkDocs knows only ``docs/``, so
  here a link whose target is published above becomes a link to that page; a link to any
  other file that exists becomes a link to it on ``repo_url`` (when ``mkdocs.yml`` sets one) or
  plain code text; and a link to a file that does not exist, or to a heading that a Markdown
  file outside ``docs/`` (say ``README.md``) no longer has, is a warning, which
  ``mkdocs build --strict`` turns into a failed build.
"""

from __future__ import annotations

import logging
import posixpath
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.harness")

CLI_REFERENCE = "reference/cli.md"
# Repository file -> the site page it is published as (its text unchanged).
PUBLISHED: dict[str, str] = {
    "bench/README.md": "measurements/benchmarks.md",
    "data/README.md": "reference/data.md",
    **{f"submissions/team{i}/README.md": f"teams/team{i}.md" for i in range(1, 7)},
}
# [text](target) and ![alt](target); the target has no spaces (titles are not used here).
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
_FENCE = re.compile(r"^(```|~~~)")

# Site page -> the repository path its Markdown was written at (links resolve from there).
_origin: dict[str, str] = {}


def _repo_root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def cli_reference() -> str:
    """The command reference as typer's docs generator writes it for ``harness.cli``."""
    argv = [sys.executable, "-m", "typer", "harness.cli", "utils", "docs", "--name", "harness"]
    argv += ["--title", "Command reference"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PluginError(
            f"the command reference could not be generated ({' '.join(argv[2:])} exited "
            f"{done.returncode}): {done.stderr.strip()[-500:]}; install the harness with its dev "
            "extra (pip install -e '.[dev]') in the Python that runs mkdocs"
        )
    note = (
        "This page is generated from the command line itself (typer's `utils docs`) every time "
        "the site is built; `harness COMMAND --help` prints the same.\n\n"
    )
    title, _, rest = done.stdout.partition("\n")
    return f"{title}\n\n{note}{rest.lstrip()}"


def on_files(files: Files, config: Any) -> Files:
    """Add the generated command reference and the published repository files."""
    root = _repo_root(config)
    _origin.clear()
    for page in files.documentation_pages():
        _origin[page.src_uri] = posixpath.join(
            Path(config["docs_dir"]).resolve().relative_to(root).as_posix(), page.src_uri
        )
    files.append(File.generated(config, CLI_REFERENCE, content=cli_reference()))
    for source, page in PUBLISHED.items():
        path = root / source
        if not path.is_file():
            raise PluginError(f"{source} is published as {page} but does not exist")
        files.append(File.generated(config, page, content=path.read_text(encoding="utf-8")))
        _origin[page] = source
    return files


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings (lower case, punctuation dropped)."""
    headings = re.findall(r"^#{1,6} +(.+?) *$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _rewrite(target: str, page_uri: str, root: Path, docs_rel: str, config: Any) -> str:
    """Where one link of page ``page_uri`` should point in the site (see the module doc).

    Returns the new target, or ``"`" + repo path`` when the link should become code text.
    """
    if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):
        return target  # a URL, an anchor on the page itself, or an absolute path
    path, _, anchor = target.partition("#")
    origin = _origin.get(page_uri)
    if origin is None or not path:
        return target
    repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(origin), path))
    suffix = f"#{anchor}" if anchor else ""
    page_dir = posixpath.dirname(page_uri) or "."
    if repo_path in PUBLISHED:
        return posixpath.relpath(PUBLISHED[repo_path], page_dir) + suffix
    if repo_path.startswith(docs_rel + "/"):
        return posixpath.relpath(repo_path[len(docs_rel) + 1 :], page_dir) + suffix
    if repo_path.startswith("../") or not (root / repo_path).exists():
        log.warning("%s links to %s, which is not in the repository", page_uri, target)
        return target
    if anchor and repo_path.endswith(".md"):
        text = (root / repo_path).read_text(encoding="utf-8")
        if anchor not in github_anchors(text):
            log.warning(
                "%s links to %s, but %s has no heading #%s", page_uri, target, repo_path, anchor
            )
    repo_url = config.get("repo_url")
    if repo_url:
        return f"{repo_url.rstrip('/')}/blob/main/{repo_path}{suffix}"
    return "`" + repo_path  # no repo_url: the caller writes the path as code text


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Point links that leave ``docs/`` (or leave a published file) at what the site has."""
    root = _repo_root(config)
    docs_rel = Path(config["docs_dir"]).resolve().relative_to(root).as_posix()
    page_uri = page.file.src_uri
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
        if not fenced:

            def swap(m: re.Match[str]) -> str:
                new = _rewrite(m.group(2), page_uri, root, docs_rel, config)
                if not new.startswith("`"):
                    return f"{m.group(1)}{new}{m.group(3)}"
                text = m.group(1).lstrip("!")[1:-2]
                return f"`{new[1:]}`" if text.strip("`") == new[1:] else f"{text} (`{new[1:]}`)"

            line = _LINK.sub(swap, line)
        out.append(line)
    return "\n".join(out)
