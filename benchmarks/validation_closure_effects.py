"""The Hannum design: years of schooling by age 17 lost by children whose village school closed.

Hannum, Liu & Wang 2021 (Economic Development and Cultural Change 70(1): 485-528; working paper
arXiv 2203.17101): girls exposed to village-school closure at primary ages completed 0.60 fewer
years of schooling by mean age 17; boys' loss is not significant.

Here: scenarios/validation/hannum_2000s_closures.yaml (the study's conditions, each setting
explained there) against the same county without the closures, with common random numbers, so
the same children are compared (sim/experiments/exposure.py). The exposed cohort: children aged
6-11 in the closure year whose base-year home village's catchment school closed. For each
replicate, the mean years of schooling at 17 of the exposed girls (boys) under the closures
minus the same children without them, the same in compulsory years (grades 1-9, Liang 2017: no
effect there) and the exposed grade-9 finishers' relative change in senior-high entry (Liang
2017: about -18%); then the mean and 90% interval over replicates. `covered` says whether the
model's mean lies within 1.645 sd of the published value (the sd of
calibration/closure_effects/targets.yaml, to which these mechanisms are calibrated). The same
contrast for today's plan
(scenarios/default.yaml: Xunwu 2024 with buses, boarding subsidies and exemptions, against
scenarios/no_closure.yaml, extended to 12 years) says how much of the historical harm today's
measures remove.

    python benchmarks/validation_closure_effects.py [--replicates 40]

Last line: `girls_years_lost: X [lo, hi]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from sim.experiments import exposure
from sim.model.scenario import load

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "calibration" / "closure_effects" / "targets.yaml"
#: benchmark row -> (exposure statistic, calibration target name)
OUTCOMES = {"girls": "girls_years_at_17", "boys": "boys_years_at_17",
            "compulsory": "compulsory_years_at_17", "senior_entry": "senior_entry_relative"}


def published() -> dict[str, tuple[float, float, str]]:
    """The published contrasts of calibration/closure_effects/targets.yaml: statistic ->
    (value, sd, short source)."""
    spec = yaml.safe_load(TARGETS.read_text(encoding="utf-8"))["cohort"]
    return {t["statistic"]: (float(t["value"]), float(t["sd"]), t["source"].split(";")[0][:48])
            for t in spec if t.get("reference")}


def contrast(plan_path: Path, ref_path: Path, replicates: int, years: int | None = None) -> dict:
    """Mean, 90% interval and replicates with a value of each outcome of `OUTCOMES`, plan
    against reference, for the exposed cohort (sim/experiments/exposure.py)."""
    over = {"replicates": replicates} | ({"years": years} if years else {})
    values = exposure.statistics(load(plan_path, over), load(ref_path, over), replicates)
    return {row: exposure.summary(values[stat]) for row, stat in OUTCOMES.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicates", type=int, default=40)
    args = ap.parse_args()
    v = ROOT / "scenarios" / "validation"
    history = contrast(v / "hannum_2000s_closures.yaml", v / "hannum_2000s_reference.yaml",
                       args.replicates)
    today = contrast(ROOT / "scenarios" / "default.yaml", ROOT / "scenarios" / "no_closure.yaml",
                     args.replicates, years=12)
    rows = []
    targets = published()
    for row, stat in OUTCOMES.items():
        pub, sd, source = targets[stat]
        for name, res in (("2000s conditions", history), ("Xunwu 2024 plan", today)):
            m, lo, hi, n = res[row]
            rows.append({"outcome": row, "setting": name, "published": pub, "sd": sd,
                         "source": source, "model": m, "p05": lo, "p95": hi,
                         "covered": name != "2000s conditions" or abs(m - pub) <= 1.645 * sd,
                         "replicates": n})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 220, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    g_then, g_now = history["girls"][0], today["girls"][0]
    if g_then < 0:
        print(f"today's measures remove {1 - g_now / g_then:.0%} of the historical loss for girls")
    m, lo, hi, _ = history["girls"]
    print(f"girls_years_lost: {m:.3f} [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()
