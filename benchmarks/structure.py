"""Is the default synthetic county like a real one? Each structural target of
calibration/structure/targets.yaml (published value, source, accepted band) against the
default county without closures (scenarios/no_closure.yaml), over replicates.

    python benchmarks/structure.py [--replicates 10] [--scenario scenarios/no_closure.yaml]

Last line: `structural_targets_in_band: K/N`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from sim.experiments.structure import report
from sim.model.scenario import load

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "no_closure.yaml"))
    args = ap.parse_args()
    table = report(load(args.scenario), ROOT / "calibration" / "structure" / "targets.yaml",
                   args.replicates)
    shown = table.drop(columns=["source"]).copy()
    shown["county"] = [f"{m:.3g} [{lo:.3g}, {hi:.3g}]" for m, lo, hi in
                       zip(table["county"], table["p05"], table["p95"], strict=True)]
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print(shown.drop(columns=["p05", "p95"]).to_string(index=False))
    print(f"structural_targets_in_band: {int(table['in_band'].sum())}/{len(table)}")


if __name__ == "__main__":
    main()
