"""The GPU board: ``pack`` here, ``remote`` and ``collect`` on the GPU machine, ``score`` here.

See docs/guide/gpu-board.md. A thin command line over the ``gpuboard`` modules beside it; a
user's mistake ends in one ``error:`` line and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the harness of this tree

from gpuboard import CALL_LIMIT_S, PACK_DIR, WORK_DIR


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="stage", required=True)

    pack = sub.add_parser("pack", help="here: wheels and the train split into .gpu-pack/")
    pack.add_argument("--data", type=Path, default=None, help="dataset (default: HARNESS_DATA)")
    pack.add_argument("--size", type=int, default=64, help="the teams' image size")
    pack.add_argument("--out", type=Path, default=PACK_DIR)
    pack.add_argument(
        "--no-wheels", action="store_true", help="skip the wheel download (dry runs, CI)"
    )

    for name, text in (
        ("remote", "there: install, train the teams at equal epochs, export, return batch 1"),
        ("collect", "there, a later call: the GPU bench and the next batch of returned files"),
    ):
        stage = sub.add_parser(name, help=text)
        stage.add_argument("--pack", type=Path, default=PACK_DIR)
        stage.add_argument("--work", type=Path, default=WORK_DIR)
        stage.add_argument("--out", type=Path, default=None, help="default: $OUT")
        stage.add_argument("--device", default="cuda", help="cuda, or cpu for a dry run")
        stage.add_argument(
            "--simulate-offline",
            action="store_true",
            help="dry runs: block the harness dependencies the GPU machine lacks and that do "
            "not travel, so that an import of one fails as it would there",
        )
        stage.add_argument("--batch", type=int, default=None, help="collect: which batch")
        stage.add_argument("--teams", nargs="+", default=None, help="default: team1..team6")
        stage.add_argument(
            "--call-limit-s", type=float, default=CALL_LIMIT_S, help="the command's time limit"
        )
        stage.add_argument(
            "--train-budget-s", type=float, default=540, help="wall time for all teams' training"
        )
        stage.add_argument("--probe-steps", type=int, default=40)
        stage.add_argument("--steps", type=int, default=0, help="dry runs: max_steps per team")
        stage.add_argument("--bench-steps", type=int, default=200)
        stage.add_argument("--bench-batch-size", type=int, default=512)
        stage.add_argument("--fid-n", type=int, default=1000)
        stage.add_argument("--fid-batch-sizes", type=int, nargs="+", default=[50, 200])
        stage.add_argument("--fid-repeats", type=int, default=3)
        stage.add_argument("--part-bytes", type=int, default=None, help="tests: smaller parts")

    score = sub.add_parser("score", help="here: score the returned checkpoints on their board")
    score.add_argument("--returned", type=Path, nargs="+", required=True, help="$OUT copies")
    score.add_argument("--data", type=Path, default=None)
    score.add_argument("--n", type=int, default=1000)
    score.add_argument("--board", type=Path, default=Path("leaderboard/gpu.csv"))
    score.add_argument("--work", type=Path, default=WORK_DIR / "score")
    score.add_argument("--device", default="auto")
    score.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="to harness score")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from harness.errors import HarnessError

    try:
        if args.stage == "pack":
            from gpuboard.pack import pack

            return pack(args)
        if args.stage in ("remote", "collect"):
            from gpuboard.remote import collect, remote

            if args.out is None:
                if "OUT" not in os.environ:
                    raise HarnessError("no --out and no $OUT; say where the returned files go")
                args.out = Path(os.environ["OUT"])
            return remote(args) if args.stage == "remote" else collect(args)
        from gpuboard.score import score

        return score(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
