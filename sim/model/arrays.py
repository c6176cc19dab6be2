"""The county and its schools as the kernels see them: the world arrays (fixed for a run) and
the schools' base-year state (before any pupil is placed). Used by sim/model/build.py and by
the base-year calibration of school choice (sim/model/choice_constants.py)."""

from __future__ import annotations

import numpy as np

from sim.core import dtypes as dt
from sim.core.kernels.enrolment import N_CHOICE_SLOTS
from sim.core.kernels.state import N_TOTALS, SCHOOL_FIELDS, Field, Schools, WorldArrays
from sim.model.world import World


def _sorted_schools(world: World, which: np.ndarray) -> np.ndarray:
    """(nodes, k) indices of the schools in `which`, nearest first by private time; -1 pads."""
    idx = np.flatnonzero(which)
    out = np.full((world.n_nodes, max(len(idx), 1)), -1, dt.INDEX)
    if len(idx):
        order = np.argsort(world.t_private[:, idx], axis=1, kind="stable")
        out[:, : len(idx)] = idx[order]
    return out


def world_arrays(world: World, birth_factor: np.ndarray, school_const: np.ndarray | None = None,
                 board_const: np.ndarray | None = None) -> WorldArrays:
    """The county as the kernels see it; `birth_factor` (years + 1): sim/model/births.py;
    `school_const` (schools, 2): the schools' choice constants for primary and junior grades,
    `board_const` (schools,): their constants for boarding there (utility units;
    sim/model/choice_constants.py), zeros when not given."""
    if school_const is None:
        school_const = np.zeros((world.n_schools, 2))
    if board_const is None:
        board_const = np.zeros(world.n_schools)
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level])
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level])
    teaches_1 = (lo == 1) & ~world.planned()
    walk = np.where(teaches_1[None, :], world.t_walk, np.inf)
    catchment = np.where(teaches_1.any(), np.argmin(walk, axis=1), -1).astype(dt.INDEX)
    return WorldArrays(
        node_kind=world.node_kind.astype(np.int8), node_township=world.node_township.astype(dt.INDEX),
        school_node=world.school_node.astype(dt.INDEX),
        school_level0=world.school_level.astype(np.int8),
        school_quality=world.school_quality.astype(np.float64),
        school_const=np.ascontiguousarray(school_const, np.float64),
        school_board_const=np.ascontiguousarray(board_const, np.float64),
        t_walk=world.t_walk, t_bus=world.t_bus, t_private=world.t_private, km=world.km,
        sorted_primary=_sorted_schools(world, lo == 1),
        sorted_junior=_sorted_schools(world, hi >= dt.FIRST_JUNIOR_GRADE),
        node_catchment=catchment, township_centre=world.centre_of_township(),
        seat_node=np.array([world.seat_node()], dt.INDEX),
        seat_min=seat_minutes(world),
        birth_scale=np.asarray(birth_factor, np.float64),
        rolls_given=np.array([world.school_roll is not None]),
    )


def base_schools(world: World, years: int, W: WorldArrays) -> Schools:
    """The schools' base-year state with no pupil placed yet (schools the plan opens start
    closed) and an empty choice-set cache."""
    n_s = world.n_schools
    slots = world.n_nodes * N_CHOICE_SLOTS
    width = max(W.sorted_primary.shape[1], W.sorted_junior.shape[1])
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level], np.int8)
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level], np.int8)
    given = {
        "open": ~world.planned(), "level": world.school_level.astype(np.int8).copy(),
        "lo": lo, "hi": hi, "classes": world.school_classes_per_grade.astype(dt.INDEX).copy(),
        "canteen": world.school_canteen.astype(dt.INDEX).copy(),
        "beds": world.school_beds.astype(dt.INDEX).copy(),
    }
    length = {"school": n_s, "node": world.n_nodes, "slot": slots, "total": N_TOTALS, "one": 1}
    further = {"10": (10,), "years+1": (years + 1,), "k": (width,), "": ()}
    S0 = Schools(*[given[f.name] if f.name in given
                   else fresh(f, length[f.axis], further[f.shape]) for f in SCHOOL_FIELDS])
    return S0


def fresh(field: Field, n: int, further: tuple[int, ...] = ()) -> np.ndarray:
    """A state field's array of n entries (and `further` axes) at its fresh value (its
    default: sim/core/kernels/state.py)."""
    if field.fresh is None:
        raise ValueError(f"state field {field.name} has no default: its maker must set it")
    return np.full((n, *further), field.fresh, field.dtype)


def seat_minutes(world: World) -> np.ndarray:
    """float32 (nodes): one-way minutes by motorbike or car from each node to the county seat
    (its nearest school there; the seat node's own local trip where it has none)."""
    at_seat = np.flatnonzero(world.school_node == world.seat_node())
    if len(at_seat):
        return world.t_private[:, at_seat].min(axis=1).astype(np.float32)
    nearest = np.argmin(world.t_private, axis=1)
    return world.t_private[np.arange(world.n_nodes), nearest].astype(np.float32)


def school_pupils_by_level(enrol: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Pupils per school by level from enrol[..., school, grade] (grade column 0 unused):
    out[..., school, 0] grades 1-6, [..., 1] grades 7-9, [..., 2] all (a new array if none)."""
    if out is None:
        out = np.zeros((*enrol.shape[:-1], 3), np.float64)
    out[..., dt.LEVEL_PRIMARY] = enrol[..., 1:dt.FIRST_JUNIOR_GRADE].sum(-1)
    out[..., dt.LEVEL_JUNIOR] = enrol[..., dt.FIRST_JUNIOR_GRADE:dt.N_GRADES + 1].sum(-1)
    out[..., dt.LEVEL_ALL] = out[..., dt.LEVEL_PRIMARY] + out[..., dt.LEVEL_JUNIOR]
    return out
