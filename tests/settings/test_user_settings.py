"""The data folder said once: `harness config`, the settings file, and its precedence.

Issue 22: after `quickstart --data DIR`, `harness doctor` said data missing and every command
needed `--data` again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.paths import DEFAULT_DATA, data_root, data_root_source
from harness.quickstart import remember_data
from harness.settings import read_settings, settings_path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_the_settings_file_follows_xdg_and_the_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert settings_path() == tmp_path / "xdg" / "harness" / "settings.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert settings_path() == tmp_path / "home" / ".config" / "harness" / "settings.toml"
    monkeypatch.setenv("HARNESS_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert settings_path() == tmp_path / "elsewhere.toml"


def test_data_precedence_flag_env_settings_default(
    tiny_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert data_root_source() == (DEFAULT_DATA, "the default")
    code, _, err = run_cli(["config", "set", "data", str(tiny_data)], capsys)
    assert code == 0 and str(settings_path()) in err
    assert read_settings().get("data") == str(tiny_data.resolve())
    root, source = data_root_source()
    assert root == tiny_data.resolve() and source == f"settings file {settings_path()}"
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "env"))
    assert data_root_source() == (tmp_path / "env", "$HARNESS_DATA")
    assert data_root(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("HARNESS_DATA")
    # doctor says where the data path came from, and finds it without --data.
    code, out, _ = run_cli(["doctor", "--json"], capsys)
    (data,) = [c for c in json.loads(out) if c["name"] == "data"]
    assert data["status"] == "ok" and f"(from settings file {settings_path()})" in data["detail"]
    code, out, _ = run_cli(["config", "show"], capsys)
    assert f"data = {tiny_data.resolve()}" in out and "from settings file" in out
    code, _, err = run_cli(["config", "unset", "data"], capsys)
    assert code == 0 and data_root_source()[1] == "the default"


def test_config_set_refuses_what_it_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["config", "set", "data", str(tmp_path / "nothing")], capsys)
    assert code == 1 and err.startswith("error: data folder") and "Traceback" not in err
    code, _, err = run_cli(["config", "set", "colour", "blue"], capsys)
    assert code == 1 and err.startswith("error: unknown setting 'colour'; known: data")
    assert not settings_path().exists()
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text('dta = "/x"\n')
    code, _, err = run_cli(["config", "show"], capsys)
    assert code == 1 and f"settings file {settings_path()} has unknown key(s) dta" in err


def test_quickstart_records_its_data_once_and_never_overwrites(
    tiny_data: Path, tmp_path: Path
) -> None:
    from harness.data.demo import MARKER, make_demo_dataset

    def not_a_demo(folder: Path) -> Path:
        """A layout-valid folder standing in for the real data (the demo marker removed)."""
        make_demo_dataset(folder, train_per_class=2, test_per_class=2, size=16)
        (folder / MARKER).unlink()
        return folder

    # tiny_data is a demo set: never recorded (its scores mean nothing).
    assert remember_data(tiny_data) is None and read_settings().get("data") is None
    real = not_a_demo(tmp_path / "real")
    note = remember_data(real)
    assert note is not None and note.startswith(f"recorded {real.resolve()} as your data folder")
    assert data_root() == real.resolve()
    other = not_a_demo(tmp_path / "other")
    note = remember_data(other)
    assert note is not None and f"`harness config set data {other.resolve()}`" in note
    assert data_root() == real.resolve(), "a recorded folder is never replaced silently"
    assert remember_data(real) is None
