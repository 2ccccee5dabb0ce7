"""The ``harness`` command line: thin commands over the library.

Results go to stdout (``--json`` where it makes sense); progress and messages go to stderr.
A user's mistake ends in one line, ``error: ...``, and exit code 1; set ``HARNESS_DEBUG=1``
for the traceback. Heavy modules (torch) are imported inside commands, so ``--help`` is quick.
Each command group lives in its own module; importing them registers the commands, in the
order ``--help`` lists them.
"""

from __future__ import annotations

import os
import sys

from harness.cli import (
    competition_cmds,
    config_cmds,
    data_cmds,  # noqa: F401  (importing it registers the data group)
    doctor_cmd,
    prepare_cmd,
    quickstart_cmd,
    reference_cmds,
    score_cmds,
    service_cmds,
    team_cmds,
    tune_cmds,
)
from harness.cli._common import app, data_app, err, jsonable, parse_sets
from harness.errors import HarnessError

__all__ = ["app", "jsonable", "main", "parse_sets"]

# Registered here, in the order a newcomer meets them (`harness --help` lists them so);
# the `data` group registers its subcommands in data_cmds, and `data split` last, here.
for _name, _command in (
    ("quickstart", quickstart_cmd.quickstart),
    ("doctor", doctor_cmd.doctor),
    ("prepare", prepare_cmd.prepare),
    ("validate", team_cmds.validate),
    ("train", team_cmds.train),
    ("sample", team_cmds.sample),
    ("export", competition_cmds.export),
    ("score", score_cmds.score),
    ("fid", score_cmds.fid),
    ("weights", score_cmds.weights),
    ("real-floor", reference_cmds.real_floor),
    ("leaderboard", score_cmds.leaderboard_cmd),
    ("select", competition_cmds.select),
    ("tune", tune_cmds.tune),
    ("serve", service_cmds.serve),
    ("worker", service_cmds.worker),
    ("submit", service_cmds.submit),
    ("submissions", service_cmds.submissions),
):
    app.command(_name)(_command)
data_app.command("split")(competition_cmds.data_split)
app.add_typer(config_cmds.config_app, name="config")
app.add_typer(service_cmds.teams_app, name="teams")
for _name, _command in (
    ("add", service_cmds.teams_add),
    ("list", service_cmds.teams_list),
    ("revoke", service_cmds.teams_revoke),
    ("rotate", service_cmds.teams_rotate),
):
    service_cmds.teams_app.command(_name)(_command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning the harness's known errors into one line.

    Click's standalone mode reports a mistyped command or option as a usage line (exit 2) and
    an interrupt as "Aborted!" (exit 1). It is used rather than catching click's exceptions
    here because typer may bring its own copy of click, whose exceptions those would not be.
    """
    debug = os.environ.get("HARNESS_DEBUG") == "1"
    try:
        app(args=argv, standalone_mode=True)
    except HarnessError as exc:
        if debug:
            raise
        err(f"error: {exc}")
        sys.exit(1)
