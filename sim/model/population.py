"""Households and children as struct-of-arrays, synthesised for the base year from the
villages' populations with a rural age structure; where the county gives school rolls, the
pupils are those of the rolls (sim/model/rolls.py). Deterministic given the seed.

Households here are those that matter for schooling: with children aged 0-15, or with a
household head young enough to have one during the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import dtypes as dt
from sim.model import age_structure, rolls
from sim.model.scenario import Scenario
from sim.model.world import World

PERSONS_PER_HOUSEHOLD = 3.6
CHILDREN_PER_PERSON = 0.16  #: children aged 0-15 per resident (rural age structure)


@dataclass
class Population:
    """Base-year households (h) and children (c). Money in yuan per year, ages in years."""

    hh_node: np.ndarray
    hh_hardship: np.ndarray
    hh_access: np.ndarray
    hh_parents: np.ndarray
    hh_away: np.ndarray
    hh_head_age: np.ndarray
    hh_w_dist: np.ndarray
    hh_w_quality: np.ndarray
    hh_w_cost: np.ndarray
    hh_income: np.ndarray
    child_hh: np.ndarray
    child_age: np.ndarray
    child_female: np.ndarray
    #: base-year school of each child from the rolls (-1: none; the model places them), its
    #: travel mode and one-way day minutes
    child_school: np.ndarray | None = None
    child_mode: np.ndarray | None = None
    child_travel: np.ndarray | None = None
    #: what the rolls left out: village name -> grades with no school in reach
    unserved: dict | None = None
    roll_fallback: list | None = None  #: schools whose pupils were put in the nearest village
    #: the roll placement: school constants, base-year boarders, shortfalls and village gaps
    roll_placement: rolls.Placement | None = None

    @property
    def n_households(self) -> int:
        return len(self.hh_node)

    @property
    def n_children(self) -> int:
        return len(self.child_hh)


def synthesise(world: World, scenario: Scenario, seed: int) -> Population:
    """Build the base-year population of `world` (seeded)."""
    rng = np.random.default_rng(seed)
    n_hh = np.maximum(np.round(world.node_population / PERSONS_PER_HOUSEHOLD), 0).astype(np.int64)
    node = np.repeat(np.arange(world.n_nodes, dtype=dt.INDEX), n_hh)
    head_age = rng.integers(22, 56, len(node))
    # children per household: Poisson, highest for heads aged 28-45, scaled to the age structure
    weight = np.clip(1.0 - np.abs(head_age - 36) / 18.0, 0.05, None)
    lam = weight * CHILDREN_PER_PERSON * PERSONS_PER_HOUSEHOLD / weight.mean()
    n_child = rng.poisson(lam)
    target = age_structure.cohort_weights()  # national births of each cohort's birth year
    # each child's age: 0 up to the oldest the head's age allows, weighted by cohort size
    # (inverse-CDF draw against the cumulative cohort weights)
    child_hh = np.repeat(np.arange(len(n_child)), n_child)
    oldest = np.minimum(15, head_age[child_hh] - 19)
    cohort = raked_weights(target, oldest)
    cum = np.cumsum(cohort)
    child_age = np.searchsorted(cum, rng.uniform(size=len(child_hh)) * cum[oldest], side="right")
    child_age = np.minimum(child_age, oldest)
    if world.school_roll is None:
        keep, child_hh = _kept_households(len(node), head_age, child_hh)
        node, head_age = node[keep], head_age[keep]
        attrs = _attributes(rng, len(node), scenario)
        female = rng.uniform(size=len(child_hh)) < 0.485
        return Population(**node_arrays(node, head_age, attrs), child_hh=child_hh.astype(dt.INDEX),
                          child_age=child_age.astype(np.int8), child_female=female)
    # with rolls: households' attributes first (who has a motorbike or car decides who can
    # reach a school), then every roll pupil in a household of a village the school serves;
    # synthetic children of school age stay only where no school of their grade is in reach
    attrs = _attributes(rng, len(node), scenario)
    grade = child_age - (dt.SCHOOL_ENTRY_AGE - 1)
    school_age = (grade >= 1) & (grade <= dt.N_GRADES)
    # each village's children of each grade: its share of the county's population times the
    # county's synthetic children of the grade (smooth: the rolls, not this draw, are the data)
    per_grade = np.bincount(grade[school_age], minlength=dt.N_GRADES + 1).astype(np.float64)
    people = world.node_population / max(float(world.node_population.sum()), 1.0)
    children = people[:, None] * per_grade[None, :]
    placed = rolls.place(world, scenario, node, head_age, attrs, children, rng)
    unserved = np.zeros((world.n_nodes, dt.N_GRADES + 1), bool)
    for name, grades in placed.unserved.items():
        unserved[world.node_name.index(name), grades] = True
    stay = ~school_age | unserved[node[child_hh], np.clip(grade, 0, dt.N_GRADES)]
    child_hh = np.concatenate([child_hh[stay], placed.hh])
    child_age = np.concatenate([child_age[stay], placed.age])
    school = np.concatenate([np.full(int(stay.sum()), -1), placed.school])
    mode = np.concatenate([np.zeros(int(stay.sum()), np.int8), placed.mode])
    travel = np.concatenate([np.zeros(int(stay.sum())), placed.travel])
    keep, child_hh = _kept_households(len(node), head_age, child_hh)
    node, head_age = node[keep], head_age[keep]
    attrs = {k: a[keep] for k, a in attrs.items()}
    female = rng.uniform(size=len(child_hh)) < 0.485
    order = np.argsort(child_hh, kind="stable")  # a household's children together, as without rolls
    return Population(
        **node_arrays(node, head_age, attrs), child_hh=child_hh[order].astype(dt.INDEX),
        child_age=child_age[order].astype(np.int8), child_female=female[order],
        child_school=school[order].astype(dt.INDEX), child_mode=mode[order].astype(np.int8),
        child_travel=travel[order].astype(np.float32), unserved=placed.unserved,
        roll_fallback=placed.fallback, roll_placement=placed)


def _kept_households(n: int, head_age: np.ndarray,
                     child_hh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Households that matter for schooling (with a child, or a head young enough to have
    one: under 45) and the children's household indices renumbered to them."""
    keep = (np.bincount(child_hh, minlength=n) > 0) | (head_age < 45)
    return keep, (np.cumsum(keep) - 1)[child_hh]


def raked_weights(target: np.ndarray, oldest: np.ndarray, rounds: int = 50) -> np.ndarray:
    """Cohort weights whose draw, truncated at each child's oldest possible age (the household
    head's age allows no older child), gives ages in proportion to `target` overall: raked
    (iterative proportional fitting) on the expected counts."""
    w = target / target.sum()
    counts = np.bincount(oldest, minlength=len(target))[: len(target)]
    share = target / target.sum()
    for _ in range(rounds):
        cum = np.cumsum(w)
        # expected children of each age: those whose oldest age is at least it, times w / cum
        per_oldest = counts / cum  # (oldest,) children per unit weight
        expected = w * np.cumsum(per_oldest[::-1])[::-1]
        expected /= expected.sum()
        w = w * share / np.maximum(expected, 1e-12)
        w /= w.sum()
    return w


def _attributes(rng: np.random.Generator, n: int, scenario: Scenario) -> dict[str, np.ndarray]:
    """Households' hardship, vehicle access, parents away, income and preference weights."""
    demo = scenario.behaviour.demography
    choice = scenario.behaviour.choice
    costs = scenario.behaviour.costs
    hardship = rng.uniform(size=n) < demo.hardship_share
    access = (rng.uniform(size=n) < demo.transport_access_share) & ~(hardship & (rng.uniform(size=n) < 0.5))
    u = rng.uniform(size=n)
    parents = np.where(u < demo.initial_both_parents_away, 0,
                       np.where(u < demo.initial_both_parents_away + demo.initial_one_parent_away, 1, 2))
    income = np.where(hardship, costs.hardship_income_yuan,
                      costs.household_income_yuan * rng.lognormal(-0.18, 0.6, n))
    # heterogeneous preferences: distance and quality weights negatively correlated; quality
    # weight rises with income (Hastings, Kane & Staiger 2005)
    sd = choice.preference_spread
    z = rng.standard_normal(n)
    zi = (np.log(income / costs.household_income_yuan)) / 0.6
    w_dist = choice.distance_weight_per_min * np.exp(sd * z - sd * sd / 2)
    w_quality = choice.quality_weight * np.exp(sd * (-0.6 * z + 0.4 * np.clip(zi, -3, 3)) - sd * sd / 2)
    w_cost = choice.cost_weight_per_1000_yuan * np.exp(sd * rng.standard_normal(n) - sd * sd / 2)
    return {"hardship": hardship, "access": access, "parents": parents, "income": income,
            "w_dist": w_dist, "w_quality": w_quality, "w_cost": w_cost}


def node_arrays(node: np.ndarray, head_age: np.ndarray, a: dict) -> dict:
    """Population's household fields from the kept households and their attributes."""
    n = len(node)
    return dict(
        hh_node=node.astype(dt.INDEX), hh_hardship=a["hardship"], hh_access=a["access"],
        hh_parents=a["parents"].astype(np.int8), hh_away=np.zeros(n, bool),
        hh_head_age=head_age.astype(np.int8), hh_w_dist=a["w_dist"], hh_w_quality=a["w_quality"],
        hh_w_cost=a["w_cost"], hh_income=a["income"].astype(np.float64))

