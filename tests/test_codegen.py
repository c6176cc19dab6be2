"""The agent state is declared once (the field tables of sim/core/kernels/state.py) and the code
numba needs field by field is generated from them (sim/model/codegen.py): the generated file
must be what the tables make today, and every consumer must follow the tables."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.kernels import generated
from sim.core.kernels.state import CHILD_FIELDS, STATE_TABLES
from sim.model import codegen
from sim.model.params import KERNEL_PARAMETERS
from sim.reference import agreement
from tests.conftest import SMALL


@pytest.fixture(scope="module")
def small_model():
    from sim.model import build
    from sim.model import scenario as sc
    return build.build_model(sc.validate(dict(SMALL, years=2)))


def test_generated_kernels_are_current():
    assert generated.__file__ and open(generated.__file__, encoding="utf-8").read() == \
        codegen.source(), "sim/core/kernels/generated.py is stale: run python -m sim.model.codegen"
    assert codegen.main(["--check"]) == 0


def test_check_fails_on_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "generated.py"
    stale.write_text(codegen.source().replace("row[0]", "row[1]"), encoding="utf-8")
    monkeypatch.setattr(codegen, "TARGET", stale)
    assert codegen.main(["--check"]) == 1
    assert codegen.main([]) == 0
    assert stale.read_text(encoding="utf-8") == codegen.source()


def test_params_follow_the_parameter_table():
    assert generated.PARAM_NAMES == tuple(KERNEL_PARAMETERS)
    row = np.arange(len(KERNEL_PARAMETERS), dtype=np.float64)
    P = generated.params_of(row)
    assert [getattr(P, name) for name in KERNEL_PARAMETERS] == list(row)


def test_a_newborn_record_is_every_fresh_value(small_model):
    from sim.model import engine
    _, _, C = engine.replicate(engine.batch_state(small_model, 1), 0)
    c = int(C.n_used[0])
    for f in CHILD_FIELDS:
        if f.axis == "child":
            getattr(C, f.name)[c] = 99  # garbage where the newborn goes
    generated.fresh_child(C, c)
    for f in CHILD_FIELDS:
        if f.axis == "child" and f.fresh is not None:
            assert getattr(C, f.name)[c] == f.fresh, f.name


def test_consumers_follow_the_tables(small_model):
    from sim.model import engine
    S, H, C = engine.replicate(engine.batch_state(small_model, 1), 0)
    for var, part in (("S", S), ("H", H), ("C", C)):
        cls, fields = STATE_TABLES[var]
        assert type(part) is cls and cls._fields == tuple(f.name for f in fields)
        for f in fields:
            assert getattr(part, f.name).dtype == np.dtype(f.dtype), f"{var}.{f.name}"
    compared = {name for name in agreement.STATE_FIELDS if name != "indicators"}
    assert compared == {f"{p}.{f.name}" for p, var in (("school", "S"), ("household", "H"),
                                                       ("child", "C"))
                        for f in STATE_TABLES[var][1] if f.compare}
    state = agreement.numba_states(small_model, 0)[0]
    assert set(state) == set(agreement.STATE_FIELDS)
