"""competition.toml: optional, typed, defaults that are the harness without a competition."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness.scoring.score import ScoreSettings
from harness.settings.competition import Competition, CompetitionError, load_competition


def test_without_a_file_the_defaults_are_todays_behaviour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_competition()
    assert settings == Competition()
    assert settings.n_per_class == ScoreSettings().n_per_class == 1000
    assert settings.daily_submissions == 0 and settings.deadline is None
    assert not settings.closed()


def test_every_setting_is_read_with_its_type(tmp_path: Path) -> None:
    path = tmp_path / "competition.toml"
    path.write_text(
        'name = "spring"\nn_per_class = 500\nimage_size = 32\npublic_fraction = 0.3\n'
        "final_selections = 3\ndaily_submissions = 5\nmemorisation_threshold = 0.05\n"
        "deadline = 2026-12-15T23:59:00+01:00\n"
    )
    settings = load_competition(path)
    assert (settings.name, settings.n_per_class, settings.image_size) == ("spring", 500, 32)
    assert (settings.public_fraction, settings.final_selections) == (0.3, 3)
    assert (settings.daily_submissions, settings.memorisation_threshold) == (5, 0.05)
    assert settings.deadline == datetime(2026, 12, 15, 22, 59, tzinfo=timezone.utc)
    assert settings.closed(datetime(2026, 12, 16, tzinfo=timezone.utc))
    assert not settings.closed(datetime(2026, 12, 15, 22, 0, tzinfo=timezone.utc))


def test_a_naive_or_string_deadline_is_utc(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('deadline = "2026-12-15T23:59:00Z"\n')
    assert load_competition(path).deadline == datetime(2026, 12, 15, 23, 59, tzinfo=timezone.utc)
    path.write_text("deadline = 2026-12-15\n")
    assert load_competition(path).deadline == datetime(
        2026, 12, 15, 23, 59, 59, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("n_per_clas = 10\n", "unknown setting.*n_per_clas.*known: name, n_per_class"),
        ('n_per_class = "10"\n', "n_per_class must be a int"),
        ("public_fraction = 1.5\n", "public_fraction must lie between 0 and 1"),
        ("final_selections = 0\n", "final_selections must be at least 1"),
        ('deadline = "soon"\n', "deadline 'soon' is not a date-time"),
        ("n_per_class = \n", "not valid TOML"),
    ],
)
def test_a_wrong_setting_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "competition.toml"
    path.write_text(text)
    with pytest.raises(CompetitionError, match=message):
        load_competition(path)


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CompetitionError, match="does not exist"):
        load_competition(tmp_path / "nope.toml")
