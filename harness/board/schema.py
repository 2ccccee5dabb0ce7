"""The leaderboard file's schema, checked on every read: one error naming the line and column.

``results.csv`` is a plain file that people open, edit, merge and restore from git, so its
reader trusts nothing. Every text column is read as text, so that teams called ``NA``,
``null``, ``nan`` or ``None`` stay themselves instead of becoming missing values that pandas
then merges; numbers must be numbers; ``team`` and ``status`` must exist and hold a team
name and ``ok`` or ``failed``; every line must have as many fields as the header. The first
problem is reported as ``line N, column C`` (lines counted as an editor counts them, header
included), which is what a person needs to fix or delete it.

Why not pandera: it validates a DataFrame that pandas has already parsed, by then the line
numbers, the field counts and the difference between the text ``NA`` and a missing value are
gone; what is left (numbers, a closed set of statuses) is a dozen lines of pandas.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from harness.board.parts import part_columns
from harness.errors import BoardError
from harness.scoring.score import STATUS_FAILED, STATUS_OK

REQUIRED_COLUMNS: tuple[str, ...] = ("team", "status")
STATUSES: tuple[str, ...] = (STATUS_OK, STATUS_FAILED)

TEXT_COLUMNS = frozenset(
    {
        "timestamp_utc",
        "team",
        "run_id",
        "status",
        "error",
        "classifier_key",
        "real_resizer",
        "extractor",
        "weights_sha256",
        "weights_source",
        "real_stats_with_mask",
        "real_stats_without_mask",
        "checkpoint",
        "dataset",
        "data_fingerprint_test",
        "device",
        "train_device",
        "torch_version",
        "pytorch_fid_version",
        "harness_version",
        "submission_commit",
        "params_source",
        "sample_strip",  # harness.scoring.strips: content-addressed names, never numbers
        "nearest_strip",
    }
)
NUMBER_COLUMNS = frozenset(
    {
        "score",
        "score_ci_low",
        "score_ci_high",
        "bootstrap_replicates",
        "bootstrap_mean",
        "fid_with_mask",
        "fid_without_mask",
        "fid_overall",
        "kid_with_mask",
        "kid_without_mask",
        "label_fidelity_with_mask",
        "label_fidelity_without_mask",
        "classifier_test_accuracy",
        "n_fake_with_mask",
        "n_fake_without_mask",
        "n_real_with_mask",
        "n_real_without_mask",
        "image_size",
        "dims",
        "sample_seed",
        "train_seed",
        "epochs_trained",
        "steps_trained",
        "test_leak_fraction",
    }
)
# Competition mode: every figure measured against the test reals also exists for the public
# and the private part of ``test`` (:mod:`harness.board.parts`), each board showing its own:
# ``score_<part>`` (the FID sum) and its 95% interval ``score_<part>_ci_low/high``,
# ``mifid_<part>``, and per class ``fid_``, ``kid_``, ``precision_``, ``recall_``,
# ``density_``, ``coverage_``, ``mifid_`` and ``n_real_<part>_<class>``. Rows scored before a
# column existed leave it blank, and the boards say so rather than show another part's.
NUMBER_COLUMNS = NUMBER_COLUMNS | frozenset(part_columns("public") + part_columns("private"))
FLAG_COLUMNS = frozenset(
    {"used_ema", "demo_data", "reference", "memorisation_measured", "test_leak"}
)

# What a missing number or flag may look like in the file (pandas writes missing as empty).
MISSING = frozenset({"", "nan", "NaN", "NA", "<NA>", "N/A", "n/a", "null", "NULL", "None"})
_FLAGS = {"true": True, "false": False}
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _records(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """The CSV records with the line each starts on; blank lines skipped."""
    out = []
    reader = csv.reader(io.StringIO(text))
    start = 1
    try:
        for record in reader:
            if record:
                out.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BoardError(
            f"leaderboard {path} line {reader.line_num} is not valid CSV ({exc}); "
            "fix or delete that line"
        ) from None
    return out


def _number(raw: str) -> float | None:
    """``raw`` as a number, NaN when it reads as missing, None when it is not a number."""
    text = raw.strip()
    if text in MISSING:
        return math.nan
    if "_" in text:  # float() takes "1_000"; a CSV reader would not
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _numbers(name: str, raw: list[str]) -> pd.Series:
    """A numeric column as pandas would type it: int64 when every cell is a whole-number
    literal, else float64 with NaN for missing cells (so a rewrite keeps ``10.0`` as it was)."""
    if raw and all(_INTEGER.fullmatch(v.strip()) for v in raw):
        return pd.Series([int(v) for v in raw], dtype="int64", name=name)
    return pd.Series([_number(v) for v in raw], dtype="float64", name=name)


def _text(name: str, raw: list[str]) -> pd.Series:
    return pd.Series([v if v != "" else np.nan for v in raw], dtype="str", name=name)


def _column(name: str, raw: list[str]) -> pd.Series:
    """One column from its (checked) raw strings, typed as the schema says; a column the
    schema does not know is inferred as pandas would: numbers, then flags, then text."""
    if name in TEXT_COLUMNS:
        return _text(name, raw)
    if name in NUMBER_COLUMNS:
        return _numbers(name, raw)
    missing = [v.strip() in MISSING for v in raw]
    if name not in FLAG_COLUMNS and all(_number(v) is not None for v in raw):
        return _numbers(name, raw)
    flags = [
        None if m else _FLAGS.get(v.strip().lower()) for v, m in zip(raw, missing, strict=True)
    ]
    if name in FLAG_COLUMNS or all(m or f is not None for f, m in zip(flags, missing, strict=True)):
        values = [np.nan if m else f for f, m in zip(flags, missing, strict=True)]
        return pd.Series(values, dtype=bool if not any(missing) else object, name=name)
    return _text(name, raw)


def _problems(header: list[str], body: list[tuple[int, list[str]]]) -> list[tuple[int, str]]:
    """Every (line, what is wrong there) that breaks the schema, in file order."""
    found = []
    index = {name: i for i, name in enumerate(header)}
    for line, record in body:
        if len(record) != len(header):
            found.append((line, f": it has {len(record)} fields, the header {len(header)}"))
            continue
        for name in header:
            raw = record[index[name]]
            if name in NUMBER_COLUMNS and _number(raw) is None:
                found.append((line, f", column {name}: {raw!r} is not a number"))
            elif (
                name in FLAG_COLUMNS
                and raw.strip() not in MISSING
                and raw.strip().lower() not in _FLAGS
            ):
                found.append((line, f", column {name}: {raw!r} is not True or False"))
        if not record[index["team"]].strip():
            found.append((line, ", column team: empty"))
        status = record[index["status"]]
        if status not in STATUSES:
            found.append((line, f", column status: {status!r} is not {' or '.join(STATUSES)}"))
        elif status == STATUS_OK:
            score = _number(record[index["score"]]) if "score" in index else math.nan
            if score is not None and math.isnan(score):
                found.append((line, ", column score: empty on an ok row"))
    return found


def read_board(path: Path) -> pd.DataFrame:
    """Read and check a results CSV; an empty file is an empty table with no columns.

    Raises:
        BoardError: the file is not UTF-8 text, lacks a required column, or has a line that
            breaks the schema; the message names the first such line and column and how
            many more there are.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise BoardError(
            f"leaderboard {path} line {line} is not UTF-8 text; fix or delete it"
        ) from None
    except OSError as exc:
        raise BoardError(f"leaderboard {path} cannot be read ({exc.strerror or exc})") from None
    records = _records(path, text)
    if not records:
        return pd.DataFrame()
    (header_line, header), body = records[0], records[1:]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise BoardError(
            f"leaderboard {path} line {header_line} (the header) names column "
            f"{duplicated[0]} twice; restore the header from git"
        )
    for name in REQUIRED_COLUMNS:
        if name not in header:
            raise BoardError(
                f"leaderboard {path} has no {name} column (line {header_line}, the header, has "
                f"{', '.join(header[:6])}{', ...' if len(header) > 6 else ''}); "
                "it is not a harness results file, or its header was damaged: restore it from git"
            )
    problems = _problems(header, body)
    if problems:
        line, what = problems[0]
        more = f" ({len(problems) - 1} more problem(s) after it)" if len(problems) > 1 else ""
        raise BoardError(
            f"leaderboard {path} line {line}{what}{more}; fix or delete that line "
            "(each line below the header is one scored run)"
        )
    columns = {
        name: _column(name, [record[i] for _, record in body]) for i, name in enumerate(header)
    }
    return pd.DataFrame(columns)
