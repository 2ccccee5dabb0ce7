"""Entry points of processes the harness starts, which may import every stage.

``python -m harness.entry.worker JOB REQUEST`` is the child that runs team code (in the
sandbox or soft): it dispatches to training, sampling and scoring, so it sits above them all,
as the command line does (see ``tests/test_architecture.py``).
"""
