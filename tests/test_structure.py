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
