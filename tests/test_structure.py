"""The default synthetic county against its structural targets (calibration/structure/): every
target in its band on 2 replicates (seeded), or a known miss named here; the full report is
benchmarks/structure.py."""

from __future__ import annotations

from sim.experiments.structure import report
from sim.model.scenario import load
from tests.conftest import ROOT

#: targets the default county misses today, and why (kept visible, not widened away); none
KNOWN_MISSES: set[str] = set()


def test_default_county_meets_its_structural_targets():
    table = report(load(ROOT / "scenarios" / "no_closure.yaml"),
                   ROOT / "calibration" / "structure" / "targets.yaml", replicates=2)
    assert len(table) == 12
    missed = set(table.loc[~table["in_band"], "target"])
    assert missed == KNOWN_MISSES, table[~table["in_band"]][["target", "county", "band"]]
    row = table.set_index("target").loc["pupils without a school place in the base year "
                                        "(status quo)"]
    assert row["county"] == 0


def test_births_continue_the_base_year_cohort():
    """With births_follow_base_cohort (the default) births in year y are the base year's
    children aged 0 x (1 - decline)^y, within 8% (families away have no births in the county)."""
    import numpy as np

    from sim.model import build, engine
    s = load(ROOT / "scenarios" / "no_closure.yaml", {"years": 3, "replicates": 2})
    model = build.build_model(s)
    age0 = (model.population.child_age == 0).sum()
    decline = s.behaviour.demography.fertility_decline_per_year
    births = np.zeros(4)
    for r in range(2):
        for st in engine.trace_replicate(model, r):
            if st.year:
                births[st.year] += (st.C.age[: st.C.n_used[0]] == 0).sum() / 2
    for y in (1, 2, 3):
        assert abs(births[y] / (age0 * (1 - decline) ** y) - 1) < 0.08, y
