"""Does `schoolflow backtest` recover a second school year made by a known model?

    python benchmarks/backtest_recovery.py [--replicates 40]

Three counties, each with its rolls of year 0 and a "next year" produced by a model whose
parameters are known:

1. the worked example county, next year = replicate 900 of its own calibrated model (a
   replicate the backtest does not run);
2. the hand-made hill county (tests/data/hill_county/), the same way;
3. a synthetic county without rolls (3 townships, 27 villages): the rolls of year 0 and year 1
   of one replicate of the generator's model, written as a county's files: the backtest
   recalibrates on year 0 as a bureau would.

Each prints the backtest's summary (mean absolute error per school, model and naive, and the
share of schools in the model's 90% interval). Last line: `backtest_model_over_naive_mae: X`
(model MAE / naive MAE over all schools, the worst of the three counties).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.experiments import backtest
from sim.model import build, engine
from sim.model import scenario as sc
from sim.model.county_files import save_county_csv

ROOT = Path(__file__).resolve().parents[1]


def next_year_of(model: build.Model, replicate: int, folder: Path) -> Path:
    """Write the year-1 rolls of one replicate of `model` as a schools table."""
    states = engine.trace_replicate(model, replicate)
    next(states)
    path = folder / "schools_next.csv"
    backtest.rolls_table(model.world.school_name, next(states).S.enrol).to_csv(path, index=False)
    return path


def synthetic_pair(folder: Path) -> Path:
    """A synthetic county's year-0 rolls as county files and its year-1 rolls; the scenario."""
    d = {"name": "synthetic_source", "seed": 11, "replicates": 1, "years": 1,
         "county": {"synthetic": {"townships": 3, "villages": 27, "terrain": "mountainous",
                                  "seed": 12, "county_seat_population": 8000}}}
    model = build.build_model(sc.validate(d))
    w = model.world
    states = engine.trace_replicate(model, 0)
    y0 = next(states)
    roll, boarders = y0.S.enrol.astype(np.int64).copy(), y0.S.beds_used.astype(np.int64).copy()
    roll[:, 0] = 0
    w.school_roll, w.school_boarders = roll, boarders
    save_county_csv(w, folder / "county")
    schools = pd.read_csv(folder / "county" / "schools.csv")
    schools["boarders"] = boarders
    schools.to_csv(folder / "county" / "schools.csv", index=False)
    backtest.rolls_table(w.school_name, next(states).S.enrol).to_csv(
        folder / "schools_next.csv", index=False)
    path = folder / "synthetic.yaml"
    path.write_text(yaml.safe_dump({"name": "synthetic_rolls", "extends": str(
        ROOT / "scenarios" / "base.yaml"), "seed": 3, "replicates": 40, "years": 1,
        "county": {"data": "county"}}), encoding="utf-8")
    return path


def report(label: str, scenario_path: Path, next_path: Path, replicates: int) -> float:
    bt = backtest.backtest(sc.load(scenario_path), next_path, replicates)
    print(f"\n== {label}")
    print("\n".join(backtest.lines(bt, next_path.name, replicates)))
    row = bt.summary.set_index("level").loc["all"]
    return float(row.mae_model / row.mae_naive)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=40)
    a = ap.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, path in (("worked example county, next year = replicate 900",
                             ROOT / "scenarios/counties/example_no_closure.yaml"),
                            ("hill county, next year = replicate 900",
                             ROOT / "tests/data/hill_county_no_closure.yaml")):
            folder = tmp / path.stem
            folder.mkdir()
            model = build.build_model(backtest.status_quo(sc.load(path), 1))
            ratios.append(report(label, path, next_year_of(model, 900, folder), a.replicates))
        folder = tmp / "synthetic"
        folder.mkdir()
        scenario_path = synthetic_pair(folder)
        ratios.append(report("synthetic county without rolls: its year 0 and year 1 as rolls",
                             scenario_path, folder / "schools_next.csv", a.replicates))
    print(f"backtest_model_over_naive_mae: {max(ratios):.2f}")


if __name__ == "__main__":
    main()
