"""``harness validate``: each broken promise gives one line and a non-zero exit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import SpecError, TeamCodeError
from harness.spec import TrainConfig, apply_overrides, load_spec
from harness.training.train import validate_team
from harness.training.validate import validate_spec
from tests.conftest import write_team


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_good_team_validates(tiny_team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["validate", str(tiny_team)], capsys)
    assert code == 0
    assert "ok: tiny, latent 8, 16px, loss bce" in out and "search space: lr_g, width" in out


def test_a_loss_factory_is_named_by_the_hook_it_builds() -> None:
    from harness.training.losses import BCELoss, describe_loss

    def loss(hparams: dict[str, float]) -> BCELoss:
        return BCELoss()

    assert describe_loss(loss, loss({})) == "BCELoss (built by spec.loss(hparams))"
    assert describe_loss("wgan-gp") == "wgan-gp" and describe_loss(BCELoss()) == "BCELoss"


def test_example_team2_validates() -> None:
    summary = validate_team(Path("submissions/team2"))
    assert summary["image_size"] == 64 and summary["latent_dim"] == 100


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({"spec = TinySpec()": "specification = TinySpec()"}, "defines no `spec`"),
        ({"    latent_dim = 8\n": ""}, "spec is missing latent_dim"),
        (
            {"import torch\n": "import torch\nraise RuntimeError('boom')\n"},
            r"RuntimeError: boom \(model.py line \d+\)",
        ),
        (
            {"def forward(self, z, y):": "def forward(self, z, y) oops:"},
            r"SyntaxError.*\(model.py line \d+\)",
        ),
        (
            {".view(-1, 3, SIZE, SIZE)": ".view(-1, 3, SIZE // 2, SIZE * 2)"},
            r"shape \(4, 3, 8, 32\), expected \(4, 3, 16, 16\)",
        ),
        (
            {"return torch.tanh(self.net(": "return 3 * torch.tanh(self.net("},
            r"outside \[-1, 1\]; end with tanh",
        ),
        ({'loss = "bce"': 'loss = "wasserstein"'}, "spec.loss 'wasserstein' is unknown"),
        ({"A.HorizontalFlip(p=0.5)": "A.RandomCrop(8, 8)"}, "augmentation must keep uint8"),
        ({'trial.suggest_categorical("width", [16, 32])': "3"}, ""),
        ({'"width": trial': '"widht": trial'}, "parameter 'widht' is neither a TrainConfig field"),
        ({"batch_size=8,": "batch_size=0,"}, "batch_size must be at least 1"),
        (
            {"torch.cat([z, self.embed(y)], 1)": "torch.cat([z, 0 * self.embed(y)], 1)"},
            "does not depend on the class label",
        ),
        (
            {
                "return self.net(torch.cat([x.flatten(1), self.embed(y)], 1)).flatten()": "return self.net(torch.cat([x.flatten(1), self.embed(y)], 1))[:, :, None]"
            },
            r"discriminator returned shape \(4, 1, 1\)",
        ),
    ],
)
def test_broken_team_gets_a_clear_message(
    tmp_path: Path, replace: dict[str, str], message: str
) -> None:
    team = write_team(tmp_path / "team", replace)
    if not message:  # a valid variation, as a control for the parametrisation
        validate_spec(team)
        return
    with pytest.raises(SpecError) as info:
        validate_spec(team)
    text = str(info.value)
    assert "\n" not in text and re.search(message, text), text


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({"    latent_dim = 8\n": ""}, "spec is missing latent_dim"),
        (
            {"import torch\n": "import torch\nraise RuntimeError('boom')\n"},
            r"RuntimeError: boom \(model.py line 6\)",
        ),
        (
            {".view(-1, 3, SIZE, SIZE)": ".view(-1, 3, SIZE // 2, SIZE * 2)"},
            r"expected \(4, 3, 16, 16\)",
        ),
    ],
)
def test_cli_prints_one_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], replace: dict[str, str], message: str
) -> None:
    team = write_team(tmp_path / "team", replace)
    code, _, err = run_cli(["validate", str(team)], capsys)
    assert code == 1
    assert err.startswith("error: team: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and re.search(message, err), err


def test_missing_team_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["validate", str(tmp_path / "nobody")], capsys)
    assert code == 1 and "does not exist" in err


def test_hanging_team_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team = write_team(
        tmp_path / "slow", {"import torch\n": "import torch, time\ntime.sleep(600)\n"}
    )
    from harness.sandbox import limits

    monkeypatch.setitem(
        limits.DEFAULTS, "validate", limits.Limits(timeout_s=3.0, memory_gib=8.0, max_processes=64)
    )
    with pytest.raises(TeamCodeError, match="timed out after 3 s"):
        validate_team(team)


def test_team_that_exits_is_reported(tmp_path: Path) -> None:
    team = write_team(tmp_path / "quitter", {"import torch\n": "import torch, sys\nsys.exit(3)\n"})
    with pytest.raises(SpecError, match="SystemExit"):
        validate_team(team)


def test_crashing_interpreter_is_reported(tmp_path: Path) -> None:
    team = write_team(tmp_path / "crasher", {"import torch\n": "import torch, os\nos._exit(7)\n"})
    with pytest.raises(TeamCodeError, match="exited with code 7"):
        validate_team(team)


def test_overrides_reach_config_and_hparams(tiny_team: Path) -> None:
    spec = load_spec(tiny_team)
    resolved = apply_overrides(spec, {"lr_g": "0.01", "width": 16, "epochs": 3})
    assert resolved.train.lr_g == 0.01 and resolved.train.epochs == 3
    assert resolved.hparams == {"width": 16}
    assert spec.hparams == {"width": 32}, "the spec's own defaults are untouched"


def test_train_config_rejects_unknown_fields() -> None:
    with pytest.raises(SpecError, match="unknown training setting 'lr'"):
        TrainConfig().replace(lr=1e-3)


def test_a_syntax_error_names_its_place_once(tmp_path: Path) -> None:
    # It read "SyntaxError: invalid syntax (model.py, line 3) (model.py line 3)".
    from harness.spec import describe_exception

    path = tmp_path / "model.py"
    path.write_text("import torch\n\nx = = 1\n")
    with pytest.raises(SyntaxError) as info:
        compile(path.read_text(), str(path), "exec")
    assert (
        describe_exception(info.value, tmp_path) == "SyntaxError: invalid syntax (model.py line 3)"
    )
