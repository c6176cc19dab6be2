"""The Mesa reference model against the numba core, on the small county (the fast version of
benchmarks/engines.py): both engines draw the same counter-based random numbers, so a replicate
must give the same indicators in both; and every indicator's mean over 200 numba replicates and
the Mesa replicates agrees within the table-wide critical |z| (Bonferroni, 1% family-wise)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.core.indicators import INDICATOR_NAMES
from sim.model import build, engine
from sim.model import scenario as sc
from sim.reference import agreement, mesa_model
from tests.conftest import SMALL

NUMBA_REPLICATES = 120
MESA_REPLICATES = 6  #: replicates 0-5 (benchmarks/engines.py uses a disjoint block, and more)


@pytest.fixture(scope="module")
def plans():
    plan = sc.validate(SMALL)
    ref = sc.validate({**SMALL, "name": "small_no_closure", "policies": {"closures": []}})
    out = {}
    for s in (plan, ref):
        built = build.build_model(s)
        numba_run = engine.run_model(built, 0, NUMBA_REPLICATES)
        mesa_run = mesa_model.run_model(built, 0, MESA_REPLICATES)
        out[s.name] = (built, numba_run.values, mesa_run.values,
                       (numba_run.school_pupils, mesa_run.school_pupils), (numba_run, mesa_run))
    return out


def test_engines_agree_replicate_by_replicate(plans):
    """Both engines draw the same counter-based numbers: a replicate is the same in both, down
    to every school's pupils each year."""
    for _built, numba_values, mesa_values, (numba_pupils, mesa_pupils), runs in plans.values():
        np.testing.assert_allclose(mesa_values, numba_values[:MESA_REPLICATES], rtol=1e-9,
                                   atol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(mesa_pupils, numba_pupils[:MESA_REPLICATES])
        # the same pupils moved by the plan, and the same schools' classes, beds and canteen
        a, b = runs[0].affected.columns(), runs[1].affected.columns()
        keep = a["replicate"] < MESA_REPLICATES
        for col in a:
            np.testing.assert_array_equal(a[col][keep], b[col], err_msg=col)
        for f in ("enrol", "classes", "beds", "beds_used", "canteen", "open"):
            np.testing.assert_array_equal(getattr(runs[0].schools, f)[:MESA_REPLICATES],
                                          getattr(runs[1].schools, f), err_msg=f)
        # the schools' pupils add up to the pupils_enrolled indicator
        total = numba_values[:, :, INDICATOR_NAMES.index("pupils_enrolled"), :]
        np.testing.assert_array_equal(numba_pupils.sum(axis=2), total)


def test_engine_means_agree_within_the_critical_z(plans):
    for name, (_built, numba_values, mesa_values, _pupils, _runs) in plans.items():
        table = agreement.agreement_table(numba_values, mesa_values)
        assert len(table) > 200, name
        bad = table[~table.agrees]
        assert bad.empty, f"{name}: engines disagree:\n{bad.to_string()}"
    # the plan's closures show up in both engines
    from sim.core.indicators import INDICATOR_NAMES
    closed = INDICATOR_NAMES.index("schools_closed")
    assert (plans["small"][2][:, -1, closed, 2] > 0).all()


def test_agreement_check_catches_a_different_model(plans):
    """A Mesa run of a changed scenario (dropout twice as likely) must be flagged against the
    numba run of the unchanged one."""
    changed = sc.validate({**SMALL, "behaviour": {"dropout": {"base_junior": 0.05}}})
    numba_values = plans["small"][1]
    mesa_values = mesa_model.run_model(build.build_model(changed), 0, MESA_REPLICATES).values
    table = agreement.agreement_table(numba_values, mesa_values)
    flagged = table[~table.agrees]
    assert {"dropout_rate", "dropouts"} <= set(flagged.indicator)


def test_run_with_the_mesa_engine_writes_the_same_outputs(write_yaml, small_dict, tmp_path):
    small_dict["replicates"] = 2
    path = write_yaml(small_dict)
    for eng in ("numba", "mesa"):
        assert main(["run", str(path), "--engine", eng, "--out", str(tmp_path / eng), "--quiet"]) == 0
    a = pd.read_parquet(tmp_path / "numba" / "indicators.parquet")
    b = pd.read_parquet(tmp_path / "mesa" / "indicators.parquet")
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)
    for table in ("safety_ledger.csv", "bus_stops.csv", "summary.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "numba" / table),
                                      pd.read_csv(tmp_path / "mesa" / table), rtol=1e-9)
