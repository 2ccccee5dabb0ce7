"""The competition service: teams submit over HTTP, a queue of jobs scores them, the board updates.

Modules, one concern each: :mod:`.store` (the tables and the state folder), :mod:`.tokens`
(teams and their bearer tokens), :mod:`.uploads` (safe unpacking and the checks made before
queueing), :mod:`.queue` (jobs with a lease and a heartbeat), :mod:`.workers` (a job scored by
the same path as ``harness score``), :mod:`.slurm` (that job in a Slurm job of its own),
:mod:`.app` (the HTTP API and board pages), :mod:`.ratelimit` (failed token attempts per
client address), and
:mod:`.client` (``harness submit``). It sits on :mod:`harness.scoring` and :mod:`harness.board`
and changes neither's promise.
"""
