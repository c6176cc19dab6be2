"""Base-year calibration of school choice to the county's rolls.

The choice model (sim/core/kernels/enrolment.py) gives a family's utility of a school from the
burden of the trip, the school's quality and the family's cost. Alone it has no idea why
families chose the schools they did, so with the rolls as the base year the model's own
entrants would drift away from them. Each school therefore carries a constant per level of the
grade (primary grades 1-6, junior grades 7-9; `W.school_const`), estimated so that in the base
year the model's expected choices reproduce the rolls school by school:

- the row totals are each village's children of each grade: the villages' populations (the
  synthetic children of the base year), scaled so the county's total of a grade equals its
  rolls' total (the rolls are what is observed; the registered population is not);
- every household of a village gets an equal share of its village's children of a grade and
  splits them over its choice set (the schools `place_all` would consider, with every seat and
  bed free) by the logit with the household's own preference weights;
- the constants are found by Berry's contraction (as ActivitySim's shadow pricing does for
  school location): delta_s <- delta_s + log(roll_s / model_s), over the level's grades
  pooled, until every school's expected pupils are within 0.2% of its roll. With fixed row
  totals this is the doubly-constrained (Furness) allocation: its school balancing factors
  are exp(delta_s). Constants are normalised to a roll-weighted mean of 0 per level and kept
  within +-15 utility units; a school whose roll is 0 at a level gets -15 there.

Where a roll is larger than the children its villages in reach can supply at any constant,
the school is *short*: `roll_shortfall` decides where the missing pupils live (see
sim/model/rolls.py). The per-grade flows (village x school) are what place the roll pupils in
their homes.

What a constant means afterwards: every pupil who chooses (entrants, movers, pupils of closed
schools) adds the constant of each school in the choice set; a closed school's pupils choose
among the remaining schools with those schools' constants. A school that a plan opens gets
the roll-weighted mean constant of the base-year schools of its level (0, the mean of all
schools, when the county has none of that level): an assumption (docs/parameters.md).
Without rolls the constants are 0: the base year is the model's own choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import dtypes as dt
from sim.core.kernels.enrolment import (
    choice_options,
    choice_probabilities,
    expected_choices,
)
from sim.model.arrays import base_schools, school_pupils_by_level, world_arrays
from sim.model.params import build_params
from sim.model.scenario import Scenario
from sim.model.world import World

CONST_BOUND = 15.0  #: utility units: the constants stay within +-this (15 = 190 minutes at -0.08)
TOLERANCE = 0.002  #: largest relative gap between a school's expected pupils and its roll
MAX_ROUNDS = 2000  #: rounds of the contraction at most
STALL_ROUNDS = 100  #: it stops when the largest gap fell by under 1% in this many rounds


@dataclass
class Options:
    """Every household's choice set by grade, as the kernel builds it in the base year."""

    cand: np.ndarray  #: int64 (households, 10, k): schools, -1 beyond n_opt
    util: np.ndarray  #: float64 (households, 10, k): utility without the school constants
    mode: np.ndarray  #: int64 (households, 10, k): dt travel mode the school would be attended by
    n_opt: np.ndarray  #: int64 (households, 10): options in the set

    def probabilities(self, const: np.ndarray, board: np.ndarray) -> np.ndarray:
        """(households, 10, k) logit probabilities with the school constants (schools, 2) and
        the boarding constants (schools,)."""
        prob = np.zeros(self.util.shape)
        choice_probabilities(self.cand, self.util, self.mode, np.ascontiguousarray(const),
                             np.ascontiguousarray(board), prob)
        return prob

    def expected(self, const: np.ndarray, board: np.ndarray,
                 weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's expected base-year pupils by school and level (schools, 2), and
        boarders by school (schools,), with these constants and row weights."""
        n_s = const.shape[0]
        pupils, boarders = np.zeros((n_s, 2)), np.zeros(n_s)
        expected_choices(self.cand, self.util, self.mode, weight, np.ascontiguousarray(const),
                         np.ascontiguousarray(board), pupils, boarders)
        return pupils, boarders


@dataclass
class ChoiceCalibration:
    """The constants and what they rest on."""

    const: np.ndarray     #: float64 (schools, 2): constant per school, primary / junior grades
    board: np.ndarray     #: float64 (schools,): constant of boarding at the school
    options: Options
    weight: np.ndarray    #: float64 (households, 10): each household's share of its village's
                          #: children of a grade (the row totals, scaled to the rolls)
    expected: np.ndarray  #: float64 (nodes, 10): the villages' children of each grade, scaled
    served: np.ndarray    #: bool (nodes, 10): some household there has a school of the grade
    scale: np.ndarray     #: float64 (10,): rolls / the served villages' children, by grade
    short: np.ndarray     #: float64 (schools, 2): roll pupils the villages in reach cannot supply
    rounds: int           #: rounds of the contraction
    error: float          #: largest relative gap of a school that is not short, at the end

    def flows(self, prob: np.ndarray, hh_node: np.ndarray, n_nodes: int) -> np.ndarray:
        """(10, nodes, schools) expected roll pupils of each grade by home village and school
        from the households' probabilities `prob` at the calibrated constants
        (`Options.probabilities`), before any village is scaled."""
        p = prob * self.weight[:, :, None]
        out = np.zeros((dt.N_GRADES + 1, n_nodes, self.const.shape[0]))
        cand = self.options.cand
        for g in range(1, dt.N_GRADES + 1):
            h, k = np.nonzero(cand[:, g, :] >= 0)
            np.add.at(out[g], (hh_node[h], cand[h, g, k]), p[h, g, k])
        return out


def household_options(world: World, scenario: Scenario, hh_node: np.ndarray,
                      attrs: dict[str, np.ndarray]) -> Options:
    """Each household's base-year choice set for every grade, by the kernel's own rule."""
    P = build_params(scenario)
    W = world_arrays(world, np.ones(scenario.years + 1))
    S = base_schools(world, scenario.years, W)
    n, k = len(hh_node), int(P.candidates)
    cand = np.full((n, dt.N_GRADES + 1, k), -1, np.int64)
    util = np.zeros((n, dt.N_GRADES + 1, k))
    mode = np.zeros((n, dt.N_GRADES + 1, k), np.int64)
    n_opt = np.zeros((n, dt.N_GRADES + 1), np.int64)
    choice_options(hh_node.astype(dt.INDEX), attrs["access"].astype(np.bool_),
                   attrs["hardship"].astype(np.bool_), attrs["w_dist"].astype(np.float64),
                   attrs["w_quality"].astype(np.float64), attrs["w_cost"].astype(np.float64),
                   P, W, S, cand, util, mode, n_opt)
    return Options(cand, util, mode, n_opt)


def calibrate(world: World, scenario: Scenario, hh_node: np.ndarray, hh_head_age: np.ndarray,
              attrs: dict[str, np.ndarray], children: np.ndarray) -> ChoiceCalibration:
    """The school constants reproducing `world.school_roll` (see the module docstring).
    `children`: (nodes, 10) the villages' synthetic children of each grade. Where the rolls
    give boarders, each school's boarding constant makes its expected boarders theirs."""
    roll = world.school_roll.astype(np.float64)
    opts = household_options(world, scenario, hh_node, attrs)
    n_nodes = world.n_nodes
    served = np.zeros((n_nodes, dt.N_GRADES + 1), bool)
    np.logical_or.at(served, hh_node, opts.n_opt > 0)
    scale = np.zeros(dt.N_GRADES + 1)
    expected = np.zeros((n_nodes, dt.N_GRADES + 1))
    weight = np.zeros((len(hh_node), dt.N_GRADES + 1))
    for g in range(1, dt.N_GRADES + 1):
        supply = float(children[served[:, g], g].sum())
        total = float(roll[:, g].sum())
        scale[g] = total / supply if supply > 0 else 0.0
        expected[:, g] = np.where(served[:, g], children[:, g] * scale[g], 0.0)
        # the village's children of the grade, shared equally by its households that can reach
        # a school of the grade and whose head is old enough to be their parent (all those
        # that can reach one where none is old enough)
        age = g + dt.SCHOOL_ENTRY_AGE - 1
        can = opts.n_opt[:, g] > 0
        adult = can & (hh_head_age >= age + 20)
        n_adult = np.bincount(hh_node[adult], minlength=n_nodes)
        n_can = np.bincount(hh_node[can], minlength=n_nodes)
        share = np.where(n_adult[hh_node] > 0, adult / np.maximum(n_adult[hh_node], 1),
                         can / np.maximum(n_can[hh_node], 1))
        weight[:, g] = expected[hh_node, g] * share
    target = school_pupils_by_level(roll)[:, :2]
    boarders = (world.school_boarders.astype(np.float64) if world.school_boarders is not None
                else np.full(world.n_schools, -1.0))
    rounds, error, const, board, model = _contract(opts, weight, target, boarders)
    # schools the contraction could not bring up to their roll (at the bound, or still rising
    # when the rounds ran out): their villages in reach have too few children for them
    short = np.where(model < target * (1 - 10 * TOLERANCE), target - model, 0.0)
    return ChoiceCalibration(const, board, opts, weight, expected, served, scale, short, rounds,
                             error)


def _contract(opts: Options, weight: np.ndarray, target: np.ndarray, boarders: np.ndarray,
              ) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
    """Berry's contraction on both levels' constants and the boarding constants at once:
    (rounds, error, constants (schools, 2), boarding constants, expected pupils (schools, 2)).
    `boarders` < 0: not given (that school's boarding constant stays 0)."""
    n_s = target.shape[0]
    has = target > 0
    delta = np.where(has, 0.0, -CONST_BOUND)
    board = np.zeros(n_s)
    fit_board = boarders >= 0
    model = np.zeros_like(target)
    error = checked = np.inf
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007 (the count is returned)
        model, b_model = opts.expected(delta, board, weight)
        error = max(_largest_gap(model, target, has & (delta < CONST_BOUND - 1e-9)),
                    _largest_gap(b_model, boarders,
                                 fit_board & (np.abs(board) < CONST_BOUND - 1e-9)))
        if error < TOLERANCE:
            break
        if rounds % STALL_ROUNDS == 0:  # a school short of children keeps the gap: stop
            if error > 0.99 * checked:
                break
            checked = error
        step = np.log(np.maximum(target, 1e-300) / np.maximum(model, 1e-300))
        delta = np.where(has, delta + step, -CONST_BOUND)
        for lv in range(2):
            h = has[:, lv]
            if h.any():
                delta[h, lv] -= float((delta[h, lv] * target[h, lv]).sum() / target[h, lv].sum())
        delta = np.clip(np.where(has, delta, -CONST_BOUND), -CONST_BOUND, CONST_BOUND)
        b_step = np.log(np.maximum(boarders, 1e-300) / np.maximum(b_model, 1e-300))
        board = np.where(fit_board & (b_model > 0), np.clip(board + b_step, -CONST_BOUND,
                                                             CONST_BOUND), board)
    return rounds, error, delta, board, model


def _largest_gap(model: np.ndarray, target: np.ndarray, free: np.ndarray) -> float:
    """Largest |model - target| / target (target at least 1) where `free` and model > 0."""
    free = free & (model > 0)
    gap = np.abs(model - target) / np.maximum(target, 1.0)
    return float(gap[free].max()) if free.any() else 0.0


def opened_constants(world: World, const: np.ndarray,
                     board: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The constants (schools, 2) and boarding constants (schools,) with those of the schools a
    plan opens set to the roll-weighted means of the base-year schools of the same level (0
    where the county has none of that level)."""
    planned = world.planned()
    if not planned.any() or world.school_roll is None:
        return const, board
    const, board = const.copy(), board.copy()
    pupils = school_pupils_by_level(world.school_roll)
    for s in np.flatnonzero(planned):
        kind = ~planned & (world.school_level == world.school_level[s])
        for lv in (dt.LEVEL_PRIMARY, dt.LEVEL_JUNIOR):
            const[s, lv] = _weighted_mean(const[:, lv], pupils[:, lv], kind)
        board[s] = _weighted_mean(board, pupils[:, dt.LEVEL_ALL], kind)
    return const, board


def _weighted_mean(x: np.ndarray, pupils: np.ndarray, among: np.ndarray) -> float:
    """Pupil-weighted mean of x over the schools `among` with pupils (0 if none)."""
    same = among & (pupils > 0)
    return float((x[same] * pupils[same]).sum() / pupils[same].sum()) if same.any() else 0.0
