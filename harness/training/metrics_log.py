"""A run's ``metrics.jsonl``: one JSON record a line, appended as training goes.

A process killed (or a disk filled) in the middle of an append leaves a torn last line. A
reader skips lines that are not whole records rather than failing, and a resumed run first
rewrites the log without them and without records past the checkpoint it resumes from, so the
log it goes on appending to holds each step once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def parse_lines(text: str) -> tuple[list[dict[str, Any]], int]:
    """The whole records in ``text`` and the number of lines that were not (torn, garbage)."""
    records, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    return records, bad


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every whole record of a metrics log (none when the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    return parse_lines(path.read_text(errors="replace"))[0]


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one record as one line."""
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def truncate_after(path: Path, step: int) -> None:
    """Keep the records up to ``step`` (the checkpoint a run resumes from); drop the rest and
    any torn line, saying so on stderr when there was one."""
    path = Path(path)
    if not path.is_file():
        return
    records, bad = parse_lines(path.read_text(errors="replace"))
    if bad:
        print(f"{path}: dropped {bad} torn or unreadable line(s)", file=sys.stderr)
    kept = [r for r in records if r.get("step", 0) <= step]
    path.write_text("".join(json.dumps(r) + "\n" for r in kept))
