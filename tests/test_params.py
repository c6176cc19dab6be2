"""Parameters named once (sim/model/params.py) and indicators defined once (sim/core/indicators.py):
every scenario field reaches the model, field by field; every indicator is defined exactly at its
registered levels, in both engines."""

from __future__ import annotations

import typing

import numpy as np
import pytest
from pydantic import BaseModel

from sim.core import indicators as reg
from sim.model import build
from sim.model import scenario as sc
from sim.model.params import KERNEL_PARAMETERS, READ_ELSEWHERE, Params, build_params
from sim.reference import mesa_model
from tests.conftest import SMALL


def leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of a pydantic model's leaf fields (lists of models count as one leaf)."""
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        sub = [a for a in (ann, *typing.get_args(ann))
               if isinstance(a, type) and issubclass(a, BaseModel)]
        if sub and typing.get_origin(ann) is not list:
            out += leaf_paths(sub[0], f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def _covered(path: str) -> bool:
    return path in READ_ELSEWHERE or any(
        k.endswith(".*") and path.startswith(k[:-1]) for k in READ_ELSEWHERE)


def test_every_behaviour_and_policy_field_is_a_kernel_parameter_or_read_elsewhere():
    used = {src.path for src in KERNEL_PARAMETERS.values()}
    missing = [p for p in leaf_paths(sc.Scenario)
               if p.split(".")[0] in ("behaviour", "policies") and p not in used and not _covered(p)]
    assert not missing, ("scenario fields no model code reads; add them to KERNEL_PARAMETERS or "
                         f"READ_ELSEWHERE in sim/model/params.py: {missing}")


def test_every_listed_source_is_a_scenario_field():
    paths = set(leaf_paths(sc.Scenario))
    for name, src in KERNEL_PARAMETERS.items():
        assert src.path in paths, f"{name}: {src.path} is not a scenario field"
    for path in READ_ELSEWHERE:
        assert path in paths or (path.endswith(".*") and any(p.startswith(path[:-1]) for p in paths))


def test_params_tuple_is_generated_from_the_table():
    assert list(Params._fields) == list(KERNEL_PARAMETERS)


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, list):
        return value[:-1] if len(value) > 1 else value + [value[-1] + 1]
    if value is None:
        return 33.0
    if isinstance(value, str):
        return {"logit": "catchment", "catchment": "logit"}[value]
    if isinstance(value, int):
        return value // 2 if value > 1 else value + 1
    return value * 0.5 if value else 1.0


@pytest.mark.parametrize("name", list(KERNEL_PARAMETERS))
def test_each_kernel_parameter_follows_its_scenario_field(name):
    """Changing the field changes this parameter, and only this parameter."""
    src = KERNEL_PARAMETERS[name]
    base = sc.validate(SMALL)
    data = sc.resolved_dict(base)
    node = data
    *parents, leaf = src.path.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = _changed(node[leaf])
    changed = build_params(sc.validate(data))
    before = build_params(base)
    moved = [f for f in Params._fields if getattr(changed, f) != getattr(before, f)]
    assert moved == [name]


def test_indicators_are_defined_exactly_at_their_levels():
    """In both engines, every year: NaN outside an indicator's registered levels, and every
    registered level defined in some replicate-year (a definition nobody computes would be
    dead)."""
    built = build.build_model(sc.validate({**SMALL, "replicates": 2}))
    from sim.model import engine
    mask = np.array(reg.level_mask())  # (indicators, levels)
    for values in (engine.run_model(built, 0, 2).values, mesa_model.run_model(built, 0, 1).values):
        defined = np.isfinite(values)  # (replicates, years, indicators, levels)
        stray = defined & ~mask
        assert not stray.any(), [reg.INDICATOR_NAMES[i] for i in np.argwhere(stray)[:, 2]]
    ever = np.isfinite(engine.run_model(built, 0, 2).values).any(axis=(0, 1))
    never = [(reg.INDICATOR_NAMES[i], reg.ALL_LEVELS[lv]) for i, lv in np.argwhere(mask & ~ever)]
    allowed = {("bus_ride_time_p95_min", "junior")}  # junior pupils keep their school: no line
    assert set(never) <= allowed, never


def test_row_constants_match_the_registry():
    for const, value in vars(reg).items():
        if const.isupper() and isinstance(value, int) and const not in ("N_INDICATORS",):
            name = reg.INDICATOR_NAMES[value]
            assert reg.ROW[name] == value, const
    assert len(set(reg.INDICATOR_NAMES)) == reg.N_INDICATORS
