"""Text cells as the exports write them: safe for a spreadsheet, and marked when unprotected.

``leaderboard/results.csv`` and the Markdown board are opened in spreadsheets, and some of
their text comes from teams (an error message quotes team code; a folder name was once a
formula). OWASP's CSV-injection rule: a cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets, so such a text
cell is written with a single quote in front, which every spreadsheet shows as text. It is
applied to text only (a negative FID stays a number) and only where rows are written: rows
already in a board are never rewritten, and a board reads back what it wrote.

Rows made under soft isolation (team code in a plain child process, able to read the held-out
images) carry ``isolation=soft``, or ``train_isolation=soft`` when the run they sample was
trained so; every board marks them with :data:`SOFT_MARK` after the team's name.

Numbers are formatted here too (:func:`figure`), and the reference row's wording
(:data:`REFERENCE_LABEL`), so that the three boards agree.
Rows whose samples sit on held-out test images (``test_leak``, see
:mod:`harness.scoring.metrics.test_leak`) are marked the same way with :data:`LEAK_MARK`, the
red flag of every board; the site shows a red badge from :func:`leaked`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HUGE = 1e6
REFERENCE_LABEL = "real-data floor: what a generator that drew real photos would score"
REFERENCE_MEMORISED = "expected: real photos"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SOFT = "soft"
SOFT_MARK = " (soft)"
SOFT_NOTE = (
    "(soft): scored or trained under soft isolation: that team's code was not sandboxed and "
    "could have read the held-out images."
)
ISOLATION_COLUMNS = ("isolation", "train_isolation")
LEAK_COLUMN = "test_leak"
LEAK_MARK = " [TEST LEAK]"
LEAK_NOTE = (
    "[TEST LEAK]: the samples of that row sit on held-out test images (copies, or flipped, "
    "cropped or re-encoded copies, of the images it is scored against): its score means "
    "nothing. The organiser has the evidence under the held-out cache."
)


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a single quote in front when it is text a spreadsheet would evaluate
    (OWASP's CSV-injection rule); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(value: Any) -> Any:
    """A cell as a CSV export writes it: :func:`spreadsheet_safe`, and a carriage return
    inside text turned into a newline. Python's CSV writer quotes a field that holds its line
    terminator (``\n``) but not a lone ``\r``, which a reader then takes for the end of the
    line: a team's error message could otherwise split its row in two."""
    value = spreadsheet_safe(value)
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with every text cell made :func:`csv_text`, for a CSV export."""
    return {key: csv_text(value) for key, value in row.items()}


def unprotected(row: Mapping[str, Any]) -> bool:
    """Whether a row was made, or its run trained, under soft isolation."""
    return any(str(row.get(column, "")).strip() == SOFT for column in ISOLATION_COLUMNS)


def leaked(row: Mapping[str, Any]) -> bool:
    """Whether a row was flagged ``test_leak`` (its samples sit on held-out images); a blank
    cell (a row from before the check) is not."""
    return str(row.get(LEAK_COLUMN, "")).strip().lower() in ("true", "1", "1.0")


def team_label(row: Mapping[str, Any]) -> str:
    """The team's name as a board shows it: with :data:`SOFT_MARK` for an unprotected row and
    :data:`LEAK_MARK` for a test leak."""
    team = row.get("team")
    text = "" if team is None or (isinstance(team, float) and team != team) else str(team)
    text = text + SOFT_MARK if unprotected(row) else text
    return text + LEAK_MARK if leaked(row) else text


def figure(value: float, digits: int, *, thousands: bool = False) -> str:
    """A number as every board prints it: ``digits`` decimals (with thousands separators on the
    web pages), or in powers of ten from a million up (``4.22e+15``): a memoriser's MiFID is
    about 1e16, which would otherwise print as seventeen digits. The terminal, the Markdown
    board and the site all call this, so the same value reads the same everywhere."""
    if abs(value) >= HUGE:
        return f"{value:.3g}"
    return f"{value:,.{digits}f}" if thousands else f"{value:.{digits}f}"
