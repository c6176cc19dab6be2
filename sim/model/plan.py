"""A plan's named actions (scenario `policies.actions`): checked against the county's schools
and turned into the kernels' `Actions` arrays; schools the plan opens are added to the county
(closed until their year).

Errors name the scenario file, the action (`policies.actions[i]`) and the id, and exit 2.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.core.kernels.state import ACT_CLOSE, ACT_DOWNGRADE, ACT_EXPAND, ACT_OPEN, Actions
from sim.model.scenario import (
    CloseAction,
    DowngradeAction,
    ExpandAction,
    OpenAction,
    Scenario,
)
from sim.model.world import World

LEVEL_OF_CODE = {code: name for name, code in dt.LEVEL_NAMES.items()}


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
    for i, a in _numbered(scenario, OpenAction):
        spec = a.open
        field = f"policies.actions[{i}].open"
        if spec.school_id in names:
            raise InputError(where, f"{field}.school_id", f"school {spec.school_id!r} already "
                             "exists in the county; give the new school an id of its own")
        if spec.village_id not in nodes:
            raise InputError(where, f"{field}.village_id", f"village {spec.village_id!r} is not in "
                             "the county's villages; use one of its village ids")
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


def _numbered(scenario: Scenario, kind: type) -> list[tuple[int, object]]:
    return [(i, a) for i, a in enumerate(scenario.policies.actions) if isinstance(a, kind)]


def build_actions(scenario: Scenario, world: World) -> Actions:
    """The plan's actions as kernel arrays, one entry per (action, school), after checking
    every id and the plan's consistency (see module docstring)."""
    index = {name: s for s, name in enumerate(world.school_name)}
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level])
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level])
    file = scenario.file
    rows: list[tuple[int, int, int, int, int, int, int, int]] = []
    closed_by: dict[int, tuple[int, int]] = {}  # school -> (action index, year)
    opened_in: dict[int, int] = {}
    for _, a in _numbered(scenario, OpenAction):
        opened_in[index[a.open.school_id]] = a.year

    def school(i: int, key: str, sid: str) -> int:
        if sid not in index:
            raise InputError(file, f"policies.actions[{i}].{key}", f"school {sid!r} is not in the "
                             f"county ({world.source}); use an id from its schools")
        return index[sid]

    def check_year(i: int, a) -> None:
        if a.year > scenario.years:
            raise InputError(file, f"policies.actions[{i}].year", f"year {a.year} is after the "
                             f"last simulated year ({scenario.years}); it would never act. Use a "
                             "year from 1 to years, or raise years")

    def exists_by(i: int, key: str, s: int, year: int) -> None:
        if s in opened_in and opened_in[s] > year:
            raise InputError(file, f"policies.actions[{i}].{key}", f"school "
                             f"{world.school_name[s]!r} opens only in year {opened_in[s]}; act on "
                             "it from that year")

    acts: dict[tuple[int, int], tuple[int, str]] = {}  # (school, year) -> (action, kind)

    def one_kind_a_year(i: int, key: str, s: int, year: int) -> None:
        """A school closed or downgraded in a year takes no other action that year (two
        expansions of one school in a year add up)."""
        if (s, year) in acts and not (key == "expand" and acts[(s, year)][1] == "expanded"):
            j, kind = acts[(s, year)]
            raise InputError(file, f"policies.actions[{i}].{key}", f"school "
                             f"{world.school_name[s]!r} is already to be {kind} in year {year} by "
                             f"policies.actions[{j}]; a school takes one action a year (expand "
                             "the receiver, not the school that closes; close or downgrade, not "
                             "both)")
        acts[(s, year)] = (i, {"close": "closed", "downgrade": "downgraded",
                               "expand": "expanded"}[key])

    for i, a in enumerate(scenario.policies.actions):
        check_year(i, a)
        if isinstance(a, CloseAction):
            for sid in a.close:
                s = school(i, "close", sid)
                exists_by(i, "close", s, a.year)
                if s in closed_by:
                    raise InputError(file, f"policies.actions[{i}].close", f"school {sid!r} is "
                                     f"already closed by policies.actions[{closed_by[s][0]}]; "
                                     "close each school once")
                one_kind_a_year(i, "close", s, a.year)
                closed_by[s] = (i, a.year)
        elif isinstance(a, DowngradeAction):
            for sid in a.downgrade:
                s = school(i, "downgrade", sid)
                exists_by(i, "downgrade", s, a.year)
                if lo[s] != 1 or hi[s] <= max(a.grades):
                    raise InputError(file, f"policies.actions[{i}].downgrade", f"school {sid!r} "
                                     f"is a {LEVEL_OF_CODE[int(world.school_level[s])]} (grades "
                                     f"{lo[s]}-{hi[s]}); a downgrade keeps grades 1-"
                                     f"{max(a.grades)} of a school that teaches more, from grade 1")
                one_kind_a_year(i, "downgrade", s, a.year)
                rows.append((a.year, ACT_DOWNGRADE, s, -1, max(a.grades), 0, 0, 0))
        elif isinstance(a, ExpandAction):
            s = school(i, "expand", a.expand)
            exists_by(i, "expand", s, a.year)
            one_kind_a_year(i, "expand", s, a.year)
            rows.append((a.year, ACT_EXPAND, s, -1, 0, a.classes_per_grade, a.boarding_beds,
                         a.canteen_places))
        elif isinstance(a, OpenAction):
            rows.append((a.year, ACT_OPEN, index[a.open.school_id], -1, 0, 0, 0, 0))
    # closes last: their receivers must be open and teach the grades, and not be closed by then
    for i, a in _numbered(scenario, CloseAction):
        recv = -1
        if a.receiver is not None:
            recv = school(i, "receiver", a.receiver)
            exists_by(i, "receiver", recv, a.year)
            if recv in closed_by and closed_by[recv][1] <= a.year:
                raise InputError(file, f"policies.actions[{i}].receiver", f"school {a.receiver!r} "
                                 f"is closed by policies.actions[{closed_by[recv][0]}] in year "
                                 f"{closed_by[recv][1]}; name an open receiving school")
        for sid in a.close:
            s = index[sid]
            if recv >= 0 and (lo[recv] > lo[s] or hi[recv] < hi[s]):
                raise InputError(file, f"policies.actions[{i}].receiver", f"school {a.receiver!r} "
                                 f"teaches grades {lo[recv]}-{hi[recv]} but {sid!r} teaches "
                                 f"{lo[s]}-{hi[s]}; name a receiver that teaches all of them")
            if recv == s:
                raise InputError(file, f"policies.actions[{i}].receiver", f"school {sid!r} cannot "
                                 "receive its own pupils")
            rows.append((a.year, ACT_CLOSE, s, recv, 0, 0, 0, 0))
    arr = np.array(rows, np.int64).reshape(-1, 8)
    return Actions(*[arr[:, k].astype(np.int32) for k in range(8)])


def action_years(scenario: Scenario) -> set[int]:
    """Simulated years in which the plan has named actions."""
    return {a.year for a in scenario.policies.actions}
