"""A plan's named actions (scenario `policies.actions`, kinds in sim/model/actions.py): checked
against the county's schools and turned into the kernels' `Actions` arrays; schools the plan
opens are added to the county (closed until their year).

Errors name the scenario file, the action (`policies.actions[i]`) and the id, and exit 2.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.core.i18n import _
from sim.core.kernels.state import Actions
from sim.model.actions import OpenAction, PlanContext, action_rows
from sim.model.scenario import Scenario
from sim.model.world import World


def with_planned_schools(world: World, scenario: Scenario) -> World:
    """The county with the schools the plan opens appended (`school_planned` True), or the
    county itself when the plan opens none. Travel times are computed afterwards."""
    opens = [a for a in scenario.policies.actions if isinstance(a, OpenAction)]
    if not opens:
        return world
    nodes = {name: i for i, name in enumerate(world.node_name)}
    names = list(world.school_name)
    where = f"{scenario.file}"
    extra = []
    for i, a in enumerate(scenario.policies.actions):
        if not isinstance(a, OpenAction):
            continue
        spec = a.open
        field = f"policies.actions[{i}].open"
        if spec.school_id in names:
            raise InputError(where, f"{field}.school_id", _(
                "school {school!r} already exists in the county; give the new school an id of "
                "its own").format(school=spec.school_id))
        if spec.village_id not in nodes:
            raise InputError(where, f"{field}.village_id", _(
                "village {village!r} is not in the county's villages; use one of its village "
                "ids").format(village=spec.village_id))
        names.append(spec.school_id)
        extra.append(spec)
    n = len(extra)

    def grow(a: np.ndarray | None, values, dtype) -> np.ndarray | None:
        return None if a is None else np.concatenate([a, np.asarray(values, dtype)])

    roll = world.school_roll
    return dataclasses.replace(
        world, school_name=names,
        school_node=grow(world.school_node, [nodes[s.village_id] for s in extra], dt.INDEX),
        school_level=grow(world.school_level, [dt.LEVEL_NAMES[s.level] for s in extra], np.int8),
        school_classes_per_grade=grow(world.school_classes_per_grade,
                                      [s.classes_per_grade for s in extra], dt.INDEX),
        school_beds=grow(world.school_beds, [s.boarding_beds for s in extra], dt.INDEX),
        school_canteen=grow(world.school_canteen,
                            [-1 if s.canteen_places is None else s.canteen_places for s in extra],
                            dt.INDEX),
        school_quality=grow(world.school_quality, [s.quality for s in extra], np.float64),
        school_planned=np.concatenate([world.planned(), np.ones(n, bool)]),
        school_roll=None if roll is None else np.vstack([roll, np.zeros((n, roll.shape[1]),
                                                                        roll.dtype)]),
        school_boarders=grow(world.school_boarders, [-1] * n, np.int64),
        school_teachers=grow(world.school_teachers, [np.nan] * n, np.float64),
        t_walk=None, t_bus=None, t_private=None, km=None)


def build_actions(scenario: Scenario, world: World) -> Actions:
    """The plan's actions as kernel arrays, one entry per (action, school), after checking
    every id and the plan's consistency (sim/model/actions.py: each kind's `rows`)."""
    ctx = PlanContext(scenario.file, str(world.source), scenario.years, list(world.school_name),
                      np.asarray(world.school_level))
    arr = action_rows(list(scenario.policies.actions), ctx)
    return Actions(*[arr[:, k].astype(np.int32) for k in range(8)])


def action_years(scenario: Scenario) -> set[int]:
    """Simulated years in which the plan has named actions."""
    return {a.year for a in scenario.policies.actions}
