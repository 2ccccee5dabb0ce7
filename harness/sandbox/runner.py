"""Running team code in a child job, isolated, limited, and reporting through a checked result.

The parent never imports a team's ``model.py``. Each job (validate, train, sample) runs as
``python -m harness.entry.worker JOB REQUEST.json``, so that a crash, a hang, a memory blow-up, a fork
bomb or a stray ``sys.exit`` in team code ends that job only, with one line naming the team and
the fault, and no process of the job outlives it.

Isolation (see :mod:`.isolation`): under ``strict`` the job runs in a bubblewrap sandbox that
holds only what the caller granted in a :class:`~harness.sandbox.bwrap.JobAccess` (the team
folder, the train cache, the run folder): the held-out split and its caches, the leaderboard,
other teams, the user's home and the network are not there. Under ``soft`` it is a plain child
whose environment loses the harness's paths. In both, an audit hook in the child refuses
Python-level opens of the hidden paths (a second layer; under soft the only one), and the
hidden paths reach the child only as hashes.

Whatever the child reports is checked, not trusted (:mod:`.payloads`): team code runs in the
worker's process and could write any result file.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, SpecError, TeamCodeError
from harness.sandbox import environment
from harness.sandbox.bwrap import JobAccess, bwrap_argv, gpu_device_nodes, host_layout
from harness.sandbox.isolation import Isolation, probe_bwrap, resolve_isolation
from harness.sandbox.jobdir import job_folder
from harness.sandbox.limits import Limits, job_limits
from harness.sandbox.output import OutputRelay
from harness.sandbox.payloads import check_payload
from harness.sandbox.safe_files import (
    FileTooLargeError,
    UnsafeFileError,
    read_json,
    refuse_links_in,
)
from harness.sandbox.supervisor import start_job, supervise

GRACE_SECONDS = 60.0
MAX_RESULT_BYTES = 16 * 2**20
MAX_REASON_CHARS = 500

__all__ = ["JobAccess", "Limits", "forbidden_paths", "held_out_digests", "run_child"]


def forbidden_paths(data_root: Path) -> list[str]:
    """Paths team code must never see: the data folder (the held-out ``test`` split and the
    public/private split assignment beside it) and the caches derived from it or read by the
    parent."""
    from harness.data.cache import heldout_cache_root
    from harness.paths import cache_root

    return [
        os.path.abspath(data_root),
        os.path.abspath(heldout_cache_root()),
        os.path.abspath(cache_root() / "stats"),
    ]


def held_out_digests(paths: list[str]) -> list[str]:
    """SHA-256 of each path and of its resolved form: what the child's audit hook compares
    against, so that the request file never names the data folder."""
    out = set()
    for path in paths:
        for form in (os.path.abspath(path), os.path.realpath(path)):
            out.add(hashlib.sha256(form.encode()).hexdigest())
    return sorted(out)


def _harness_parent() -> Path:
    import harness

    return Path(harness.__file__).resolve().parent.parent


def _command(
    job: str, request_path: Path, isolation: Isolation, access: JobAccess, chdir: str
) -> tuple[list[str], dict[str, str], bool]:
    """argv, environment and whether RLIMIT_DATA is safe, for ``isolation``."""
    worker = [sys.executable, "-m", "harness.entry.worker", job, str(request_path)]
    if isolation is Isolation.SOFT:
        return worker, environment.soft_env(), not gpu_device_nodes()
    harness_package = str(_harness_parent() / "harness")
    host = host_layout(extra=[harness_package])
    probe = probe_bwrap()
    assert probe.path is not None
    argv = bwrap_argv(worker, access=access, host=host, bwrap=probe.path, chdir=chdir)
    return argv, environment.strict_env(_harness_parent()), not host.devices


def run_child(
    job: str,
    request: dict[str, Any],
    *,
    label: str,
    limits: Limits | None = None,
    log_path: Path | None = None,
    access: JobAccess | None = None,
) -> dict[str, Any]:
    """Run ``job`` in a child and return the payload it reported, checked.

    The child's stdout and stderr reach our stderr (capped), so that ``--json`` output on
    stdout stays clean. Ctrl-C asks the child to stop (it saves a checkpoint when training),
    waits for it, then re-raises ``KeyboardInterrupt``; an interrupt that the child's own code
    raised is a :class:`TeamCodeError`, so that one team cannot stop a round.

    Args:
        job: ``validate``, ``train`` or ``sample``.
        request: JSON-able arguments for the job; ``result_path`` is added here. A
            ``forbidden_paths`` entry is moved into ``access.hidden`` and sent as hashes.
        label: who runs (``team2``), for messages.
        limits: time, memory, process and output limits (default: :func:`job_limits`).
        log_path: where the child appends full tracebacks; shown in error messages.
        access: what the job may read and write under strict isolation (default: the
            request's ``team_dir``, read-only). Its ``hidden`` paths are refused in both modes.

    Raises:
        IsolationError: strict isolation was asked for and bwrap cannot provide it.
        SpecError: the team's model.py failed to import or breaks the spec.
        TeamCodeError: the child raised, crashed, hung past the time limit, exceeded memory
            or the process limit, or reported a malformed result.
        HarnessError: any other problem the child reported.
    """
    limits = limits or job_limits(job)
    isolation = resolve_isolation()
    request = dict(request)
    if "team_dir" in request:  # the sandbox starts elsewhere: relative paths would not resolve
        request["team_dir"] = os.path.abspath(request["team_dir"])
    if "team_dir" in request and os.path.isdir(request["team_dir"]):
        # Bound into the sandbox as it is: a link in it would lead the job (and the parent,
        # where it reads the folder) to whatever it points at.
        refuse_links_in(Path(request["team_dir"]), label=label)
    access = access or JobAccess(read_only=(str(request["team_dir"]),))
    hidden = (*access.hidden, *map(str, request.pop("forbidden_paths", [])))
    with job_folder() as io:
        request.update(
            result_path=str(io / "result.json"),
            forbidden_digests=held_out_digests(list(hidden)),
            isolation=isolation.value,
        )
        if log_path is not None:  # the sandbox starts in the team folder: never relative
            request["log_path"] = os.path.abspath(log_path)
        request_path = io / "request.json"
        request_path.write_text(json.dumps(request))
        granted = replace(
            access,
            read_only=tuple(os.path.abspath(p) for p in access.read_only),
            writable=tuple(os.path.abspath(p) for p in (*access.writable, io)),
            hidden=tuple(os.path.abspath(p) for p in hidden),
        )
        _refuse_hidden_grants(granted, label)
        team_dir = str(request.get("team_dir", ""))
        chdir = team_dir if os.path.isdir(team_dir) else "/tmp"
        argv, env, data_rlimit = _command(job, request_path, isolation, granted, chdir)
        cap = None if limits.output_mib is None else int(limits.output_mib * 2**20)
        relay = OutputRelay(cap, label)
        try:
            child = start_job(
                argv,
                isolation=isolation,
                env=env,
                output_fd=relay.child_fd,
                limits=limits,
                data_rlimit=data_rlimit,
            )
        except BaseException:
            relay.abandon()
            raise
        relay.started()
        try:
            fault = supervise(child, label, limits, GRACE_SECONDS)
        finally:
            relay.finish()
        result = _read_result(Path(request["result_path"]))
    code = child.popen.returncode
    if isolation is Isolation.STRICT and code is not None and code > 128:
        code = -(code - 128)  # bwrap exits with 128 + N when its command died of signal N
    return _interpret(job, label, result, code, fault, log_path, limits)


def _read_result(path: Path) -> Any:
    """The job's result file, read only if it is a plain file of sane size: team code can
    put a link, a FIFO or gigabytes at that path."""
    try:
        return read_json(path, root=path.parent, max_bytes=MAX_RESULT_BYTES)
    except FileNotFoundError:
        return None
    except FileTooLargeError:
        return {"status": "error", "error": "the job's result file is far too large"}
    except UnsafeFileError:
        return None  # a link or a FIFO in place of the result: no result was reported
    except (OSError, ValueError):
        return {"status": "error", "error": "the job's result file is unreadable"}


def one_line(text: object, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` as one line of bounded length: a reason that came from inside a job (team
    code chooses its exception's message) may hold newlines, control characters or pages."""
    flat = " ".join(str(text).split())
    flat = "".join(c if c.isprintable() else "?" for c in flat)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _refuse_hidden_grants(access: JobAccess, label: str) -> None:
    """Raise if a path granted to the job lies inside a hidden one (a checkpoint path that
    leads into the data folder, a cache kept inside it): binding it would show it."""
    hidden = [os.path.realpath(h) for h in access.hidden]
    for path in (*access.read_only, *access.writable):
        real = os.path.realpath(path)
        for folder in hidden:
            if real == folder or real.startswith(folder.rstrip("/") + "/"):
                raise HarnessError(
                    f"{label}: {path} lies inside {folder}, which team code may not see; "
                    "keep runs, caches and team folders outside the data folder"
                )


def _interpret(
    job: str,
    label: str,
    result: Any,
    code: int | None,
    fault: str | None,
    log_path: Path | None,
    limits: Limits,
) -> dict[str, Any]:
    """The payload of a result file, or the error it (or its absence) stands for."""
    where = f" (traceback in {log_path})" if log_path is not None else ""
    if fault is not None:
        raise TeamCodeError(fault)
    if not isinstance(result, dict):
        code = code if code is not None else 0
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        hint = " (out of memory?)" if code == -signal.SIGKILL else ""
        after = "; team code ended the process itself (os._exit?)" if code >= 0 else ""
        raise TeamCodeError(
            f"{label}: {job} child process {how}{hint} before reporting a result{after}"
        )
    status = result.get("status")
    if status == "ok":
        return check_payload(job, result.get("payload", {}), label)
    if status == "interrupted":
        # The parent's own Ctrl-C raised in _supervise before the result was read: a child
        # that stopped "as asked" here was asked by no one but its own code.
        raise TeamCodeError(
            f"{label}: the {job} child stopped on an interrupt the harness did not send "
            f"(team code raised KeyboardInterrupt or signalled itself){where}"
        )
    message = f"{label}: {one_line(result.get('error') or 'unknown error')}"
    if "MemoryError" in message and limits.memory_gib is not None:
        message += f" (the job may use {limits.memory_gib:g} GiB; --memory-gib changes that)"
    kind = result.get("kind")
    if kind == "SpecError":
        raise SpecError(message)
    if kind == "TeamCodeError" or result.get("team_code"):
        raise TeamCodeError(message + where)
    raise HarnessError(message)
