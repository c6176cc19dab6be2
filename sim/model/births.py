"""Births to come: the yearly factor on the birth probabilities, projected births over the
births the model expects that year from the base-year households (their head ages advanced,
the scenario's birth probabilities and fertility trend), so simulated births follow:

- a county's own projection (`births.csv`: year, births) for the years it lists; else
- with `births_follow_base_cohort` (the default), the base year's children aged 0 times
  (1 - fertility_decline_per_year)^y: the national fall in births, which the base year's age
  structure holds (sim/model/age_structure.py), continues at the scenario's rate; else
- the scenario's birth probabilities as given (factor 1).
"""

from __future__ import annotations

import numpy as np

from sim.core import rules
from sim.model.population import Population
from sim.model.scenario import Scenario
from sim.model.world import World


def expected_births(pop: Population, scenario: Scenario, year: int) -> float:
    """Births the model expects in simulated `year` (children) from the base-year households,
    before any projection: head ages advanced by year - 1, probabilities by head age, times
    the fertility trend (households that leave the county are not taken out)."""
    demo = scenario.behaviour.demography
    age = pop.hh_head_age.astype(np.int64) + year - 1
    high = (age >= rules.BIRTH_AGES_HIGH[0]) & (age <= rules.BIRTH_AGES_HIGH[1])
    low = (age >= rules.BIRTH_AGES_LOW[0]) & (age <= rules.BIRTH_AGES_LOW[1])
    per_hh = np.where(high, demo.birth_prob_20_34, np.where(low, demo.birth_prob_35_44, 0.0))
    return float(per_hh.sum() * (1.0 - demo.fertility_decline_per_year) ** year)


def projected_births(world: World, pop: Population, scenario: Scenario) -> dict[int, float]:
    """Births each simulated year should have (children), by the rules of the module docstring;
    years without a projection are absent."""
    demo = scenario.behaviour.demography
    out = {}
    if demo.births_follow_base_cohort:
        age0 = float((pop.child_age == 0).sum())
        out = {y: age0 * (1.0 - demo.fertility_decline_per_year) ** y
               for y in range(1, scenario.years + 1)}
    for year, births in (world.births or {}).items():
        if 1 <= year <= scenario.years:
            out[year] = births
    return out


def birth_scale(world: World, pop: Population, scenario: Scenario) -> np.ndarray:
    """float64 (years + 1): factor on the birth probabilities of each simulated year."""
    scale = np.ones(scenario.years + 1)
    for year, births in projected_births(world, pop, scenario).items():
        expected = expected_births(pop, scenario, year)
        scale[year] = births / expected if expected > 0 else 0.0
    return scale
