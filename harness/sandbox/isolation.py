"""Which isolation team code runs under: ``strict`` (a bubblewrap sandbox) or ``soft``.

``strict`` runs every job in its own mount, PID, network, IPC and UTS namespaces with only what
it needs bound in (see :mod:`harness.sandbox.bwrap`): the held-out split is not hidden from team
code, it is absent. ``soft`` is a child process with an audit hook, which stops honest mistakes
but not a team that means harm: it can read the held-out images (``cat``, libc through ctypes,
``/proc``), write wherever the user can, signal or kill the harness, and leave ``setsid``
processes running after its job.

The choice: ``--isolation`` on the command line, else ``$HARNESS_ISOLATION``, else automatic.
Automatic depends on whose code runs (:func:`use_isolation`):

- code that is not the user's own (``score``; ``train``, ``sample``, ``validate``, ``tune`` under
  a ``competition.toml`` or with ``--all``): ``strict``, and without a working bwrap one
  :class:`IsolationError` line with the fix. It fails closed: soft only when asked for by name.
- a team's own code on its own machine (plain ``harness train submissions/x``): ``strict`` when
  bwrap works, else ``soft`` with one warning line.

``strict`` never falls back: without a working bwrap it refuses to run team code, saying how to
install it. ``soft``, whenever it is used, says in one line at start what it does not stop.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from enum import Enum

from harness.errors import HarnessError

ISOLATION_ENV = "HARNESS_ISOLATION"
BWRAP_ENV = "HARNESS_BWRAP"
PROBE_TIMEOUT_S = 20.0
PROBE_ARGS = (
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--ro-bind",
    "/",
    "/",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--size",
    "1048576",
    "--tmpfs",
    "/tmp",
    "true",
)
TOO_OLD = "Unknown option"
INSTALL_HINT = (
    "install bubblewrap (`apt-get install bubblewrap` on Debian/Ubuntu, "
    "`dnf install bubblewrap` on Fedora/RHEL)"
)
USERNS_HINT = (
    "enable unprivileged user namespaces (`sysctl -w kernel.unprivileged_userns_clone=1`; on "
    "Ubuntu 24.04 also `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`) or run the "
    "harness as root"
)
SOFT_GAPS = (
    "team code runs as a plain child process: it can read the held-out test set and whatever "
    "you can read, write wherever you can write, signal or kill the harness, and leave setsid "
    "processes running after its job (which is why scoring other teams' code needs strict "
    "isolation)"
)
SOFT_WARNING = "warning: soft isolation ({why}): " + SOFT_GAPS
SOFT_BY_NAME = "ask for soft isolation by name: --isolation soft or HARNESS_ISOLATION=soft"


class IsolationError(HarnessError):
    """Strict isolation was asked for and this machine cannot provide it."""


class Isolation(str, Enum):
    """How team code is kept apart from the held-out data and the rest of the machine."""

    STRICT = "strict"
    SOFT = "soft"


@dataclass(frozen=True)
class BwrapProbe:
    """What bubblewrap can do here: where it is, its version, and whether a sandbox starts."""

    path: str | None
    version: str | None
    works: bool
    problem: str

    def advice(self) -> str:
        """What to do so that strict isolation works, in one clause."""
        if self.path is None:
            return INSTALL_HINT
        if TOO_OLD in self.problem:
            return "install bubblewrap 0.8 or newer"
        if not self.works:
            return USERNS_HINT
        return "nothing: strict isolation works"


def bwrap_executable() -> str | None:
    """``$HARNESS_BWRAP`` (a path, or empty to pretend bwrap is missing), else ``bwrap`` on PATH."""
    if BWRAP_ENV in os.environ:
        return os.environ[BWRAP_ENV] or None
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=4)
def _probe(path: str | None) -> BwrapProbe:
    if path is None:
        return BwrapProbe(None, None, False, "bubblewrap (bwrap) is not installed")
    try:
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        ).stdout.strip()
        # The same namespaces and options a job gets: a missing userns, a forbidden /proc
        # mount (some container runtimes), a seccomp filter against clone() or a bwrap too
        # old for --size all fail here rather than in the first job.
        started = subprocess.run(
            [path, *PROBE_ARGS],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return BwrapProbe(path, None, False, f"{path} cannot be run ({exc})")
    if started.returncode != 0:
        reason = (started.stderr.strip().splitlines() or ["no message"])[-1]
        return BwrapProbe(path, version, False, f"bwrap cannot create a sandbox here ({reason})")
    return BwrapProbe(path, version, True, "")


def probe_bwrap() -> BwrapProbe:
    """Whether bubblewrap is installed and can create the namespaces a job needs (cached)."""
    return _probe(bwrap_executable())


def requested_isolation(flag: str | None = None) -> Isolation | None:
    """The isolation asked for: ``flag``, else ``$HARNESS_ISOLATION``, else None (automatic)."""
    value = flag if flag is not None else os.environ.get(ISOLATION_ENV) or None
    if value is None or value == "auto":
        return None
    try:
        return Isolation(value)
    except ValueError:
        raise HarnessError(f"unknown isolation {value!r}; use strict or soft") from None


def use_isolation(flag: str | None, *, others_code: str | None = None) -> Isolation:
    """Fix the isolation of this process (and the workers it starts) from the command line.

    Checked now, before any work: strict on a machine without a working bwrap is one error
    line at start, not a failure after the data has been decoded, and soft says at start what
    it leaves open.

    Args:
        flag: ``--isolation`` (None: ``$HARNESS_ISOLATION``, else automatic).
        others_code: why this command runs code that is not the user's own (``"scoring
            runs teams' code"``), or None for a team's own code. Set, the automatic choice is
            strict with no fallback, fixed in ``$HARNESS_ISOLATION`` so that the workers and
            cluster jobs this process starts fail closed too.

    Raises:
        IsolationError: strict is required (asked for, or ``others_code``) and bwrap cannot
            provide it; the message says how to install it or how to ask for soft by name.
    """
    if others_code is not None and requested_isolation(flag) is None:
        probe = probe_bwrap()
        if not probe.works:
            raise IsolationError(
                f"{others_code}, which needs strict isolation: {probe.problem}; "
                f"{probe.advice()}, or {SOFT_BY_NAME} (unprotected: team code can read the "
                "held-out test set)"
            )
        os.environ[ISOLATION_ENV] = Isolation.STRICT.value
        return Isolation.STRICT
    mode = resolve_isolation(flag)
    if flag is not None:
        os.environ[ISOLATION_ENV] = mode.value
    return mode


def isolation_for_workers(flag: str | None, *, others_code: str | None = None) -> None:
    """Fix the isolation that jobs on other machines (cluster nodes) run under, without
    probing this machine: the flag when given, else strict for code that is not the user's
    own, so that a node without a working bwrap fails closed rather than falling back."""
    asked = requested_isolation(flag)
    if asked is not None:
        os.environ[ISOLATION_ENV] = asked.value
    elif others_code is not None:
        os.environ[ISOLATION_ENV] = Isolation.STRICT.value


_warned: set[str] = set()


def resolve_isolation(flag: str | None = None) -> Isolation:
    """The isolation the next job runs under; see the module docstring for the order.

    Raises:
        IsolationError: strict was asked for and bwrap is missing or cannot start a sandbox.
    """
    asked = requested_isolation(flag)
    if asked is Isolation.SOFT:
        _warn_once("asked for by name")
        return asked
    probe = probe_bwrap()
    if probe.works:
        return Isolation.STRICT
    if asked is Isolation.STRICT:
        raise IsolationError(
            f"strict isolation needs bubblewrap: {probe.problem}; {probe.advice()}, "
            f"or {SOFT_BY_NAME} (unprotected: team code can read the held-out test set)"
        )
    _warn_once(f"{probe.problem}; for strict isolation {probe.advice()}")
    return Isolation.SOFT


def isolation_in_use() -> str:
    """The isolation this process's jobs run under, for records (``strict``, ``soft``, or
    ``unavailable`` when strict was asked for and cannot run); never raises, never warns."""
    try:
        asked = requested_isolation()
    except HarnessError:
        return "unknown"
    if asked is Isolation.SOFT:
        return Isolation.SOFT.value
    if probe_bwrap().works:
        return Isolation.STRICT.value
    return "unavailable" if asked is Isolation.STRICT else Isolation.SOFT.value


def weakest(*modes: str | None) -> str:
    """The weakest of several recorded isolations (a run resumed without the sandbox is soft)."""
    order = ["soft", "unknown", "unavailable", "strict"]
    known = [m for m in modes if m in order]
    return min(known, key=order.index) if known else "unknown"


def _warn_once(why: str) -> None:
    """One line on stderr, once per process, at start or at the first job that runs
    unprotected: what soft isolation does not stop."""
    if _warned:
        return
    _warned.add(why)
    print(SOFT_WARNING.format(why=why), file=sys.stderr)
