"""Base-year pupils from a county's school rolls (schools.csv `pupils_g1` ... `pupils_g9`).

Every pupil on a roll becomes a child of a household in a village the school plausibly
serves: villages in its reach (by day within the travel limit, or as a boarder where the
school has beds or boarders and the grade may board), drawn in proportion to the expected
demand of the model's own choice rule in the base year. That demand is the village's
households times the probability that a reference family there picks this school among the
schools in its reach teaching the grade: a logit in one-way time (the boarding equivalent for
boarders) and quality, with the scenario's weights, for families with and without a motorbike
or car. The pupil is enrolled there in year 0 in every replicate, by the fastest day mode the
family has, or boarding (the `boarders` column, else the model's boarding rule).

Villages where no school teaching a grade is in reach keep the synthetic children of that
grade (they are unplaced in year 0, or rent near a school); `Placement.unserved` names them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import dtypes as dt
from sim.core.rules import boarding_burden
from sim.model.scenario import Scenario
from sim.model.world import World


@dataclass
class Placement:
    """Roll pupils: their household, age, grade, school and mode; and what the data left out."""

    hh: np.ndarray       # int64: household (index before the keep filter)
    age: np.ndarray      # int64: years (grade + 5)
    school: np.ndarray   # int64
    mode: np.ndarray     # int8: dt.WALK / dt.PRIVATE / dt.BOARDING
    travel: np.ndarray   # float64: one-way day minutes from the village
    unserved: dict[str, list[int]]  #: village name -> grades with no school in reach
    fallback: list[str]  #: schools whose pupils had to be put in their own (or nearest) village


def day_time(world: World, access: bool) -> np.ndarray:
    """(nodes, schools) fastest one-way day minutes: walking, or motorbike/car with access."""
    return np.minimum(world.t_walk, world.t_private) if access else world.t_walk.astype(np.float64)


def choice_probabilities(world: World, scenario: Scenario, grade: int, access: bool,
                         boarding_school: np.ndarray) -> np.ndarray:
    """(nodes, schools) probability that a reference family at each node picks each school
    for `grade` among the base-year schools in its reach (rows of zeros: none in reach)."""
    pol, ch = scenario.policies, scenario.behaviour.choice
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level])
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level])
    teaches = (lo <= grade) & (grade <= hi) & ~world.planned()
    t = day_time(world, access)
    day = t <= pol.max_travel_min
    can_board = grade >= pol.boarding.min_grade
    board = (can_board & boarding_school[None, :]
             & (world.t_private <= pol.boarding.max_trip_min))
    burden = np.where(day & ~(board & (t > ch.board_if_day_travel_over_min)), t,
                      boarding_burden(ch.boarding_travel_equivalent_min,
                                      world.t_private.astype(np.float64)))
    reach = teaches[None, :] & (day | board)
    u = ch.distance_weight_per_min * burden + ch.quality_weight * world.school_quality[None, :]
    u = np.where(reach, u, -np.inf)
    top = u.max(axis=1, keepdims=True)
    e = np.where(reach, np.exp(u - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = e.sum(axis=1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def place(world: World, scenario: Scenario, hh_node: np.ndarray, hh_head_age: np.ndarray,
          hh_access: np.ndarray, rng: np.random.Generator) -> Placement:
    """Households and modes for every pupil on the rolls (see the module docstring)."""
    roll = world.school_roll
    boarders = world.school_boarders if world.school_boarders is not None else \
        np.full(world.n_schools, -1)
    boarding_school = (world.school_beds > 0) | (boarders > 0)
    pol, ch = scenario.policies, scenario.behaviour.choice
    n_nodes = world.n_nodes
    cells = np.zeros((n_nodes, 2), np.int64)  # households per (node, access)
    np.add.at(cells, (hh_node, hh_access.astype(np.int64)), 1)
    # households of each cell, for drawing one uniformly
    cell_of = hh_node.astype(np.int64) * 2 + hh_access
    order = np.argsort(cell_of, kind="stable")
    starts = np.searchsorted(cell_of[order], np.arange(2 * n_nodes + 1))
    out_hh, out_age, out_school, out_grade = [], [], [], []
    unserved: dict[str, list[int]] = {}
    fallback: list[str] = []
    for g in range(1, dt.N_GRADES + 1):
        prob = [choice_probabilities(world, scenario, g, a, boarding_school) for a in (False, True)]
        for v in np.flatnonzero(prob[1].sum(axis=1) == 0):
            if world.node_population[v] > 0:
                unserved.setdefault(world.node_name[v], []).append(g)
        age = g + dt.SCHOOL_ENTRY_AGE - 1
        for s in np.flatnonzero(roll[:, g] > 0):
            n = int(roll[s, g])
            weight = np.column_stack([cells[:, 0] * prob[0][:, s], cells[:, 1] * prob[1][:, s]])
            if weight.sum() <= 0:  # nobody in reach: the school's own village, or the nearest
                fallback.append(world.school_name[s])
                near = np.argsort(world.t_private[:, s], kind="stable")
                v = next(int(x) for x in near if cells[x].sum() > 0)
                weight = np.zeros_like(weight, dtype=np.float64)
                weight[v] = cells[v]
            flat = weight.ravel() / weight.sum()
            picks = rng.choice(len(flat), size=n, p=flat)
            for cell in picks:
                members = order[starts[cell]:starts[cell + 1]]
                adult = members[hh_head_age[members] >= age + 20]
                pool = adult if len(adult) else members
                out_hh.append(int(pool[rng.integers(len(pool))]))
            out_age += [age] * n
            out_school += [s] * n
            out_grade += [g] * n
    hh = np.array(out_hh, np.int64)
    school = np.array(out_school, np.int64)
    grade = np.array(out_grade, np.int64)
    node = hh_node[hh]
    access = hh_access[hh].astype(bool)
    t = np.where(access, np.minimum(world.t_walk[node, school], world.t_private[node, school]),
                 world.t_walk[node, school]).astype(np.float64)
    mode = np.where(access & (world.t_private[node, school] < world.t_walk[node, school]),
                    dt.PRIVATE, dt.WALK).astype(np.int8)
    # boarders: the `boarders` column (the farthest pupils, boarding grades first), else the
    # model's rule (beyond the day limit, or beyond the boarding threshold where beds are free)
    eligible = grade >= pol.boarding.min_grade
    for s in np.flatnonzero(roll.sum(axis=1) > 0):
        mine = np.flatnonzero(school == s)
        if boarders[s] >= 0:
            rank = mine[np.lexsort((-t[mine], ~eligible[mine]))]
            mode[rank[: boarders[s]]] = dt.BOARDING
            continue
        must = mine[t[mine] > pol.max_travel_min]
        mode[must] = dt.BOARDING
        free = int(world.school_beds[s]) - len(must)
        may = mine[eligible[mine] & (t[mine] > ch.board_if_day_travel_over_min)
                   & (t[mine] <= pol.max_travel_min)]
        may = may[np.argsort(-t[may], kind="stable")][: max(free, 0)]
        mode[may] = dt.BOARDING
    return Placement(hh, np.array(out_age, np.int64), school, mode, t, unserved, fallback)
