"""Appending rows to a CSV file without touching the rows already in it.

``leaderboard/results.csv`` is committed and append-only: a reviewer reads its diff, so an
append must add lines and change none. Reading the whole table into pandas and writing it back
does not keep that promise: one failed row (no sample counts) turns the integer columns into
floats, and every earlier row's ``1000`` becomes ``1000.0``. Here the file's bytes are kept as
they are and only the new rows are formatted, each on its own (so one row's missing value
cannot change another row's integers), in the columns and order of the file's own header.

A new file gets a header with every column of the schema, so later rows, failed or not, fit it.
Only a row with a column the header lacks forces a rewrite: the header grows, and each earlier
line gets empty cells for the new columns, its existing cells kept as they were.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from harness import atomic


def _header(text: str) -> list[str]:
    first = text.splitlines()[0] if text else ""
    return next(csv.reader([first]), []) if first.strip() else []


def _line_ending(text: str) -> str:
    first_end = text.find("\n")
    return "\r\n" if first_end > 0 and text[first_end - 1] == "\r" else "\n"


def _format_rows(rows: Sequence[dict[str, Any]], columns: list[str], ending: str) -> str:
    """The rows as CSV lines in ``columns`` order, formatted by pandas one row at a time,
    every text cell made safe for a spreadsheet (:func:`harness.board.cells.safe_row`)."""
    from harness.board.cells import safe_row

    return "".join(
        pd.DataFrame([safe_row(row)], columns=columns).to_csv(
            header=False, index=False, lineterminator=ending
        )
        for row in rows
    )


def _widen(text: str, header: list[str], extra: list[str], ending: str) -> str:
    """``text`` with ``extra`` columns added to its header and empty cells to every line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=ending)
    reader = csv.reader(io.StringIO(text, newline=""))
    writer.writerow(header + extra)
    next(reader)
    for record in reader:
        writer.writerow(record + [""] * len(extra))
    return out.getvalue()


def append_to_csv(path: Path, rows: Sequence[dict[str, Any]], schema: Sequence[str]) -> None:
    """Append ``rows`` to the CSV at ``path``, atomically, leaving its earlier lines as they are.

    The caller holds whatever lock keeps writers apart.

    Args:
        path: the CSV file; created (with a header of ``schema`` plus any extra keys) if absent.
        rows: the new rows; keys the header lacks are added as new columns (see the module
            docstring for what that costs).
        schema: the known columns in their order, for a new file's header.
    """
    path = Path(path)
    if not rows:
        return
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    header = _header(text)
    ending = _line_ending(text)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    if not header:
        header = [*schema, *(k for k in keys if k not in schema)]
        text = ",".join(_quoted(c) for c in header) + ending
    extra = [k for k in keys if k not in header]
    if extra:
        text = _widen(text, header, extra, ending)
        header = header + extra
    if not text.endswith("\n"):
        text += ending
    atomic.write_text(path, text + _format_rows(rows, header, ending))


def _quoted(column: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([column])
    return out.getvalue()
