"""Base-year pupils from a county's school rolls (schools.csv `pupils_g1` ... `pupils_g9`).

Every pupil on a roll becomes a child of a household in a village, placed from the calibrated
flows of sim/model/choice_constants.py: the model's expected choices of each village's
children of the grade, with the school constants that reproduce the rolls. So a village
school's pupils come from the villages it serves and a town's children attend the town's
schools. Within a village, the household is drawn in proportion to its own probability of
choosing the school (a family with a motorbike is likelier at a far school), among those whose
head is old enough to be the pupil's parent. The pupil is enrolled there in year 0 in every
replicate, by the fastest day mode the family has, or boarding (the `boarders` column: the
pupils living farthest, boarding grades first; else the model's boarding rule). A school whose
base-year boarders exceed its beds gets its beds raised to them, and a note says so.

Where a school's roll is larger than the children its villages in reach supply at any
constant (`short`), `county.roll_shortfall` chooses: `scale_villages` (default) raises the
children of the villages in reach, in proportion to the flows; `from_further` keeps the
villages' children as the population gives them where it can and takes the extra pupils from
the nearest villages beyond reach, each at most as many as its own children of the grade
(counted). Villages whose placed
children differ much from their population's are listed for `check`.

Villages where no school teaching a grade is in reach keep the synthetic children of that
grade (they are unplaced in year 0, or rent near a school); `Placement.unserved` names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.core import dtypes as dt
from sim.core import rules
from sim.model import choice_constants
from sim.model.county_files import largest_remainder
from sim.model.scenario import Scenario
from sim.model.world import World

#: a village is listed when its placed pupils differ from its population's children by more
#: than this share and VILLAGE_GAP_PUPILS pupils (assumption: a reporting threshold)
VILLAGE_GAP_SHARE = 0.3
VILLAGE_GAP_PUPILS = 10


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
    const: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  #: school constants
    boarders: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  #: per school
    #: school name -> roll pupils the villages in reach could not supply (placed by
    #: `roll_shortfall`), and of them how many live beyond the school's reach
    short: dict[str, int] = field(default_factory=dict)
    beyond_reach: int = 0
    #: (village, children its population gives, pupils placed) where they differ much
    village_gaps: list[tuple[str, int, int]] = field(default_factory=list)
    scale: np.ndarray = field(default_factory=lambda: np.ones(dt.N_GRADES + 1))  #: by grade
    rounds: int = 0
    error: float = 0.0
    #: (schools, 2) the model's expected base-year pupils by level with the calibrated
    #: constants, and with none (what the choice model alone would give)
    expected_pupils: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    uncalibrated_pupils: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    board_const: np.ndarray = field(default_factory=lambda: np.zeros(0))  #: boarding constants
    #: (schools,) the model's expected base-year boarders with the calibrated constants
    expected_boarders: np.ndarray = field(default_factory=lambda: np.zeros(0))


def place(world: World, scenario: Scenario, hh_node: np.ndarray, hh_head_age: np.ndarray,
          attrs: dict[str, np.ndarray], children: np.ndarray,
          rng: np.random.Generator) -> Placement:
    """Households and modes for every pupil on the rolls (see the module docstring).
    `children`: (nodes, 10) the villages' synthetic children of each grade."""
    roll = world.school_roll
    cal = choice_constants.calibrate(world, scenario, hh_node, hh_head_age, attrs, children)
    opts = cal.options
    prob = opts.probabilities(cal.const, cal.board)
    flows = cal.flows(prob, hh_node, world.n_nodes)
    unserved: dict[str, list[int]] = {}
    fallback: list[str] = []
    short: dict[str, int] = {}
    beyond = 0
    has_hh = np.bincount(hh_node, minlength=world.n_nodes) > 0
    by_node = np.argsort(hh_node, kind="stable")
    node_start = np.searchsorted(hh_node[by_node], np.arange(world.n_nodes + 1))
    out_hh, out_age, out_school = [], [], []
    placed = np.zeros((world.n_nodes, dt.N_GRADES + 1))
    for g in range(1, dt.N_GRADES + 1):
        for v in np.flatnonzero(~cal.served[:, g] & (world.node_population > 0)):
            unserved.setdefault(world.node_name[v], []).append(g)
        age = g + dt.SCHOOL_ENTRY_AGE - 1
        # from_further: a village beyond reach supplies at most its own children of the grade
        spare = cal.expected[:, g].copy()
        for s in np.flatnonzero(roll[:, g] > 0):
            n = int(roll[s, g])
            f = flows[g][:, s].copy()
            name = world.school_name[s]
            if f.sum() <= 0:  # nobody in reach: the school's own village, or the nearest
                fallback.append(name)
                near = np.argsort(world.t_private[:, s], kind="stable")
                f[next(int(x) for x in near if has_hh[x])] = 1.0
            elif (cal.short[s, rules.level_of_grade(g)] > 0
                  and f.sum() < n * (1 - choice_constants.TOLERANCE)):
                short[name] = short.get(name, 0) + int(round(n - f.sum()))
                if scenario.county.roll_shortfall == "from_further":
                    beyond += _from_further(f, n, spare, has_hh, world.t_private[:, s])
            counts = largest_remainder(f, n)
            for v in np.flatnonzero(counts):
                members = by_node[node_start[v]:node_start[v + 1]]
                # each household's probability of choosing s for grade g
                w = (prob[members, g] * (opts.cand[members, g] == s)).sum(axis=1)
                out_hh += _draw_households(members, w, hh_head_age[members] >= age + 20,
                                           int(counts[v]), rng).tolist()
                placed[v, g] += counts[v]
            out_age += [age] * n
            out_school += [s] * n
    hh = np.array(out_hh, np.int64)
    school = np.array(out_school, np.int64)
    age_arr = np.array(out_age, np.int64)
    grade = age_arr - (dt.SCHOOL_ENTRY_AGE - 1)
    node = hh_node[hh]
    access = attrs["access"][hh].astype(bool)
    t = np.where(access, np.minimum(world.t_walk[node, school], world.t_private[node, school]),
                 world.t_walk[node, school]).astype(np.float64)
    mode = np.where(access & (world.t_private[node, school] < world.t_walk[node, school]),
                    dt.PRIVATE, dt.WALK).astype(np.int8)
    mode = _boarders(world, scenario, school, grade, t, mode)
    board = np.bincount(school[mode == dt.BOARDING], minlength=world.n_schools)
    gaps = []
    want, got = cal.expected[:, 1:].sum(axis=1), placed[:, 1:].sum(axis=1)
    for v in np.flatnonzero(np.abs(got - want) > np.maximum(VILLAGE_GAP_SHARE * want,
                                                            VILLAGE_GAP_PUPILS)):
        gaps.append((world.node_name[v], int(round(want[v])), int(round(got[v]))))
    const, board_const = choice_constants.opened_constants(world, cal.const, cal.board)
    pupils, boarders = opts.expected(cal.const, cal.board, cal.weight)
    uncalibrated = opts.expected(np.zeros_like(cal.const), np.zeros_like(cal.board), cal.weight)[0]
    return Placement(hh, age_arr, school, mode, t, unserved, fallback, const, board, short,
                     beyond, gaps, cal.scale, cal.rounds, cal.error, pupils, uncalibrated,
                     board_const, boarders)


def _from_further(f: np.ndarray, n: int, spare: np.ndarray, has_hh: np.ndarray,
                  t_private: np.ndarray) -> int:
    """`county.roll_shortfall: from_further`: add to the flows `f` (nodes) of a school short of
    children in reach the pupils its roll still lacks, from the nearest villages beyond reach,
    each at most its `spare` children (taken from it). Returns the pupils placed so."""
    extra, beyond = n - f.sum(), 0
    for v in np.argsort(t_private, kind="stable"):
        if extra <= 0:
            break
        if f[v] > 0 or not has_hh[v] or spare[v] <= 0:
            continue
        take = min(spare[v], extra)
        f[v] += take
        spare[v] -= take
        extra -= take
        beyond += int(round(take))
    return beyond


def _draw_households(members: np.ndarray, w: np.ndarray, old_enough: np.ndarray, n: int,
                     rng: np.random.Generator) -> np.ndarray:
    """n households of a village for pupils of one school and grade, in proportion to `w` (each
    household's probability of choosing the school): among those whose head is old enough to
    be the parent and that could choose it, else those that could, else those old enough,
    else any (uniformly where no one could choose it)."""
    for pool_mask in (old_enough & (w > 0), w > 0, old_enough, np.ones(len(members), bool)):
        if pool_mask.any():
            break
    pool, pw = members[pool_mask], w[pool_mask]
    pw = pw / pw.sum() if pw.sum() > 0 else np.full(len(pool), 1.0 / len(pool))
    return pool[rng.choice(len(pool), size=n, p=pw)]


def _boarders(world: World, scenario: Scenario, school: np.ndarray, grade: np.ndarray,
              t: np.ndarray, mode: np.ndarray) -> np.ndarray:
    """Boarders of the base year: the `boarders` column (the farthest pupils, boarding grades
    first), else the model's rule (beyond the day limit, or beyond the boarding threshold
    where beds are free)."""
    pol, ch = scenario.policies, scenario.behaviour.choice
    roll = world.school_roll
    boarders = world.school_boarders if world.school_boarders is not None else \
        np.full(world.n_schools, -1)
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
    return mode
