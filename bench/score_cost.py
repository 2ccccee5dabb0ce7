"""What scoring one team costs with every metric, against FID alone (issue 14, item 7).

A submission's fakes go through Inception once; FID, KID, the bootstrap, label fidelity, the
public/private FIDs, MiFID and PRDC all work from those features (and from cached real and
train features). This measures that: ``harness score`` of one team with warm caches, once with
every metric and once with FID alone (per-class and overall FID; no KID, bootstrap, labels,
public/private, memorisation or PRDC), alternating, and reports the ratio of the medians. The
target is a ratio under 1.15.

It also times each metric alone on random features of the real sizes (1,000 fakes per class,
850 / 909 test reals, 4,930 train images per class, 2,048 dims), which says where the extra
time goes without Inception's noise.

    python bench/score_cost.py --data ../shared/facemask --team submissions/team2 --n 1000

The data needs a trained run of the team (``harness train``) and, for the public/private
columns, a split (``harness data split``). The first scoring (not timed) fills the caches: on
the real data that includes the train features, about 13 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics as stats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.scoring.score import Scorer, ScoreSettings

FID_ALONE = {
    "bootstrap": 0,
    "kid_subsets": 0,
    "public_private": False,
    "memorisation": False,
    "prdc": False,
}


def timed_score(scorer: Scorer, team: Path) -> tuple[float, dict[str, object]]:
    """Wall-clock seconds of one ``score_team`` and its row."""
    started = time.perf_counter()
    row = scorer.score_team(team)
    return time.perf_counter() - started, row


def metric_costs(repeats: int = 1) -> dict[str, float]:
    """Seconds of each metric on random features of the real sizes, both classes together."""
    from harness.scoring.competition_metrics import part_fids
    from harness.scoring.metrics import fid
    from harness.scoring.metrics.memorisation import nearest_train
    from harness.scoring.metrics.prdc import prdc

    rng = np.random.default_rng(0)
    d = 2048
    sizes = ((1000, 850, 4930), (1000, 909, 4930))
    data = [
        (
            np.abs(rng.normal(size=(n_fake, d))),
            np.abs(rng.normal(size=(n_real, d))),
            np.abs(rng.normal(size=(n_train, d))),
            rng.random(n_real) < 0.5,
        )
        for n_fake, n_real, n_train in sizes
    ]
    jobs = {
        "fid (scipy sqrtm, per class)": lambda f, r, t, m: fid.frechet_distance(
            fid.statistics(f), fid.statistics(r)
        ),
        "kid (100 subsets)": lambda f, r, t, m: fid.kid(f, r, subsets=100, subset_size=1000),
        "bootstrap (100 replicates)": lambda f, r, t, m: fid.bootstrap_score(
            [f], [fid.statistics(r)], replicates=100
        ),
        "public/private fid": lambda f, r, t, m: part_fids(f, r, [m, ~m]),
        "memorisation (nearest train)": lambda f, r, t, m: nearest_train(f, t),
        "prdc (whole test + public)": lambda f, r, t, m: (prdc(r, f), prdc(r[m], f)),
    }
    out = {}
    for name, job in jobs.items():
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            for f, r, t, m in data:
                job(f, r, t, m)
            runs.append(time.perf_counter() - started)
        out[name] = round(min(runs), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--team", type=Path, default=Path("submissions/team2"))
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--n", type=int, default=1000, help="samples per class")
    parser.add_argument("--repeats", type=int, default=2, help="timed scorings of each kind")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-scoring", action="store_true", help="only the metric timings")
    args = parser.parse_args()

    report: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "n_per_class": args.n,
        "metric_seconds_at_real_sizes": metric_costs(),
    }
    if not args.skip_scoring:
        from harness.scoring.label_fidelity import LabelJudge

        quiet = lambda message: print(message, file=sys.stderr)  # noqa: E731
        common = {"n_per_class": args.n, "device": args.device}
        full = Scorer(
            data_root=args.data,
            runs_root=args.runs,
            settings=ScoreSettings(**common),
            say=quiet,
            label_judge=LabelJudge(args.data, device=args.device, say=quiet),
        )
        alone = Scorer(
            data_root=args.data,
            runs_root=args.runs,
            settings=ScoreSettings(**common, **FID_ALONE),  # type: ignore[arg-type]
            say=quiet,
        )
        warm, row = timed_score(full, args.team)  # fills every cache; not part of the ratio
        _ = alone.extractor  # built outside the timings, as the full scorer's was in warm-up
        report["warm_up_seconds"] = round(warm, 1)
        report["columns_all_metrics"] = len(row)
        times: dict[str, list[float]] = {"fid_alone": [], "all_metrics": []}
        for _ in range(args.repeats):
            for name, scorer in (("fid_alone", alone), ("all_metrics", full)):
                seconds, row = timed_score(scorer, args.team)
                times[name].append(round(seconds, 1))
        report["seconds"] = times
        medians = {k: stats.median(v) for k, v in times.items()}
        report["ratio"] = round(medians["all_metrics"] / medians["fid_alone"], 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
