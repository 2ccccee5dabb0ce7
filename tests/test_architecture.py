"""The package layout is the architecture: data flows one way, and no arrow runs back up.

Each stage may import the shared ground and the stages before it in the flow
data -> sandbox -> training -> scoring -> tuning | board -> scale; the entry points (cli, entry,
quickstart) may import anything. These tests read every module's imports (top-level and
inside functions) so that a wrong arrow fails here rather than in a reviewer's head.
"""

from __future__ import annotations

import ast
from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).parent
SHARED = "shared"
ENTRY = "entry"
ALLOWED: dict[str, set[str]] = {
    SHARED: {SHARED},
    "data": {SHARED, "data"},
    "sandbox": {SHARED, "data", "sandbox"},
    "training": {SHARED, "data", "sandbox", "training"},
    "scoring": {SHARED, "data", "sandbox", "training", "scoring"},
    "tuning": {SHARED, "data", "sandbox", "training", "scoring", "tuning"},
    "board": {SHARED, "data", "sandbox", "training", "scoring", "board"},
    # Scale runs whole stages many times over (train, score, tune every team) and merges the
    # board's rows, so it sits after all of them; only entry points import it.
    "scale": {SHARED, "data", "sandbox", "training", "scoring", "tuning", "board", "scale"},
    # The service puts a queue and an HTTP API around scoring and the board; nothing imports it
    # but the entry points.
    "service": {SHARED, "data", "sandbox", "training", "scoring", "board", "scale", "service"},
}
ENTRY_MODULES = {"cli", "entry", "quickstart", "__main__"}


def _stage(module: str) -> str:
    """The stage of a dotted module name under ``harness``."""
    parts = module.split(".")
    if len(parts) == 1:
        return SHARED
    head = parts[1]
    if head in ENTRY_MODULES:
        return ENTRY
    return head if head in ALLOWED else SHARED


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    """Dotted names of the harness modules (or packages) that ``path`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("harness")]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "harness"
        ):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append(sub if sub in MODULE_NAMES else str(node.module))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))
MODULE_NAMES = {_module_name(p) for p in MODULES}


def test_no_stage_imports_a_later_one() -> None:
    wrong = []
    for path in MODULES:
        here = _stage(_module_name(path))
        if here == ENTRY:
            continue
        wrong += [
            f"{_module_name(path)} ({here}) imports {m}"
            for m in _imports(path)
            if _stage(m) not in ALLOWED[here]
        ]
    assert not wrong, "a stage imports a later one:\n" + "\n".join(wrong)


def test_the_stage_rule_catches_a_backward_import(tmp_path: Path) -> None:
    """The checker itself: an import from training into data is reported."""
    module = tmp_path / "bad.py"
    module.write_text("from harness.training import runs\n")
    assert [_stage(m) for m in _imports(module)] == ["training"]
    assert "training" not in ALLOWED["data"]


def test_no_import_cycle_between_modules() -> None:
    """No two modules import each other, even inside functions: a cycle means two modules
    that are really one concern, or a piece that belongs on one side of the pair."""
    graph = {_module_name(path): set(_imports(path)) for path in MODULES}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, dep]))
            if dep in graph and not state.get(dep):
                visit(dep, [*trail, node])
        state[node] = 2

    for name in graph:
        if not state.get(name):
            visit(name, [])
