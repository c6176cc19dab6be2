"""Does a county's status quo hold? For a scenario run with no plan (its closures and actions
removed): where the base year's pupils live, boarders against beds, and how far the schools'
shares of pupils move by themselves.

    python benchmarks/status_quo.py [SCENARIO.yaml ...] [--replicates 50] [--years 10]

`--no-moves` switches off households' moves to a town or the county seat, leaving the drift
of school choice alone. Default scenarios: the worked example county, the hand-made test county of
tests/data/hill_county/ and the default synthetic county. For each it prints

- the share of village-school pupils (schools in a village, not a township centre or the county
  seat) whose family lives in a town or the county seat, base year, replicate 0;
- schools whose base-year boarders exceed the beds of the county's files;
- the dissimilarity index of the schools' shares of pupils (0.5 x the sum of |share change|,
  within primary grades, within junior grades, and over all pupils; means over replicates)
  from year 0 to year 3 and to the last year, and the five schools whose share moved most.

Last line: `status_quo_dissimilarity_3y: X` (the largest 0 -> 3 index, all pupils, over the
scenarios).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim.core import dtypes as dt
from sim.experiments import backtest
from sim.model import build, engine, world
from sim.model.scenario import load

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "scenarios/counties/example_no_closure.yaml",
           ROOT / "tests/data/hill_county_no_closure.yaml",
           ROOT / "scenarios/no_closure.yaml"]


def dissimilarity(a: np.ndarray, b: np.ndarray) -> float:
    """0.5 x sum |a/sum(a) - b/sum(b)|: the share of pupils that would have to change school
    for the shares of `b` to equal those of `a` (0 to 1)."""
    if a.sum() <= 0 or b.sum() <= 0:
        return float("nan")
    return 0.5 * float(np.abs(a / a.sum() - b / b.sum()).sum())


def status_quo(path: Path, replicates: int, years: int, no_moves: bool = False) -> float:
    overrides = {}
    if no_moves:  # the drift of choice alone: households stay in their village
        overrides = {f"behaviour.demography.{k}": 0.0 for k in (
            "move_to_town_prob", "move_to_seat_prob", "move_if_far_extra_prob")}
    sc = backtest.status_quo(load(path, overrides), replicates, years)
    model = build.build_model(sc)
    w = model.world
    base = next(engine.trace_replicate(model, 0))
    C, H, S = base.C, base.H, base.S
    n = int(C.n_used[0])
    enrolled = (C.status[:n] == dt.ENROLLED) & (C.school[:n] >= 0)
    kids = np.flatnonzero(enrolled)
    at_village = w.node_kind[w.school_node[C.school[kids]]] == world.VILLAGE
    home_town = w.node_kind[H.node[C.hh[kids]]] != world.VILLAGE
    print(f"\n== {path.relative_to(ROOT)} ({w.n_schools} schools, {w.n_nodes} places, "
          f"{replicates} replicates, {years} years{', no household moves' if no_moves else ''})")
    share = home_town[at_village].mean() if at_village.any() else float("nan")
    print(f"village-school pupils living in a town or the county seat: "
          f"{int(home_town[at_village].sum())} of {int(at_village.sum())} ({100 * share:.1f}%)")
    file_beds = build.build_world(sc).school_beds
    over = np.flatnonzero(S.beds_used > file_beds)
    print("boarders over the county's beds: "
          + (", ".join(f"{w.school_name[s]} {int(S.beds_used[s])} / {int(file_beds[s])}"
                       for s in over) or "none"))
    res = engine.run_model(model, 0, replicates)
    mean = res.school_pupils.mean(axis=0)  # (years + 1, schools, 3)
    worst = 0.0
    for label, lv in (("primary", dt.LEVEL_PRIMARY), ("junior", dt.LEVEL_JUNIOR),
                      ("all", dt.LEVEL_ALL)):
        d3 = dissimilarity(mean[0, :, lv], mean[min(3, years), :, lv])
        dn = dissimilarity(mean[0, :, lv], mean[years, :, lv])
        print(f"dissimilarity of school shares ({label}): year 0 -> 3 {d3:.3f}, "
              f"0 -> {years} {dn:.3f}")
        if lv == dt.LEVEL_ALL:
            worst = d3
    a0, a3 = mean[0, :, dt.LEVEL_ALL], mean[min(3, years), :, dt.LEVEL_ALL]
    an = mean[years, :, dt.LEVEL_ALL]
    move = a3 / a3.sum() - a0 / a0.sum()
    print(f"schools that moved most (pupils, mean of replicates, year 0 -> 3 -> {years}; "
          "share change 0 -> 3):")
    for s in np.argsort(-np.abs(move))[:5]:
        print(f"  {w.school_name[s]:<22} {a0[s]:7.0f} -> {a3[s]:7.0f} -> {an[s]:7.0f}   "
              f"{100 * move[s]:+.2f} pp")
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", type=Path)
    ap.add_argument("--replicates", type=int, default=50)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--no-moves", action="store_true",
                    help="households never move to a town or the county seat (choice alone)")
    a = ap.parse_args()
    paths = [p.resolve() for p in a.scenarios] or [p for p in DEFAULT if p.exists()]
    worst = max(status_quo(p, a.replicates, a.years, a.no_moves) for p in paths)
    print(f"status_quo_dissimilarity_3y: {worst:.3f}")


if __name__ == "__main__":
    main()
