"""Parameter recovery: does `schoolflow calibrate` find the hidden true parameters of the worked
example (calibration/example/)?

    python benchmarks/calibration_recovery.py [--budget 10000] [--workers 1] [--out DIR]

Runs the calibration of calibration/example/targets.yaml (observations simulated from
truth.yaml, which the calibration never reads), then, for each of the five parameters, prints
the true value, the posterior mean and 90% interval (5% to 95% weighted quantiles), whether the
interval covers the truth, and how much narrower the interval is than the prior range. Reports
the wall time and the parameter sets simulated.

Last line: `parameters_covered: K/5`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from sim.experiments.calibrate import load_targets
from sim.experiments.calibrate_run import calibrate
from sim.model.scenario import read_yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "calibration" / "example"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "results" / "calibration_recovery"))
    args = ap.parse_args()
    out = Path(args.out)
    if (out / "metadata.json").exists():
        raise SystemExit(f"{out} already holds a calibration; remove it or give --out")
    meta = calibrate(load_targets(EXAMPLE / "targets.yaml"), out, args.budget, args.workers,
                     progress=lambda g: print(f"  generation {g['generation']}: {g['accepted']} "
                                              f"of {g['proposals']} accepted", flush=True))
    truth = read_yaml(EXAMPLE / "truth.yaml")
    summary = pd.read_csv(out / "posterior_summary.csv")
    summary["truth"] = summary.parameter.map(truth)
    summary["covered"] = (summary.q05 <= summary.truth) & (summary.truth <= summary.q95)
    summary["interval_over_prior"] = (summary.q95 - summary.q05) / (summary.prior_high
                                                                     - summary.prior_low)
    cols = ["parameter", "truth", "mean", "q05", "q95", "covered", "interval_over_prior"]
    with pd.option_context("display.width", 160):
        print(summary[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    with (out / "recovery.csv").open("w") as f:
        summary[cols].to_csv(f, index=False)
    print(json.dumps({k: meta[k] for k in ("generations", "temperatures", "simulations",
                                           "wall_seconds", "workers", "cpu_count", "converged")}))
    print(f"parameters_covered: {int(summary.covered.sum())}/{len(summary)}")


if __name__ == "__main__":
    main()
