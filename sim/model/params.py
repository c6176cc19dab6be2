"""The kernels' parameters, named once: each entry of `KERNEL_PARAMETERS` is a parameter of the
numba core (and of the Mesa reference model), the scenario field it comes from and how. The
`Params` tuple the kernels read is generated from this table (sim/model/codegen.py), and
`tests/test_params.py` checks, field by field, that every scenario field of `behaviour` and
`policies` is either a kernel parameter here or listed in `READ_ELSEWHERE` with the module
that reads it, so a new scenario field cannot be forgotten.

Units: as in the scenario field (minutes, yuan per year, probabilities per year, log-odds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.core import dtypes as dt
from sim.core.kernels.generated import PARAM_NAMES, Params
from sim.core.kernels.state import Rules
from sim.model.scenario import Scenario


def logit(p: float) -> float:
    """Log-odds of a probability (clipped to 1e-12 .. 1 - 1e-12)."""
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


def _none_as(value: float) -> Callable[[Any], float]:
    return lambda x: value if x is None else x


@dataclass(frozen=True)
class From:
    """A kernel parameter's source: a dotted scenario path, and a function of its value."""

    path: str
    transform: Callable[[Any], float] = float

    def value(self, s: Scenario) -> float:
        x: Any = s
        for part in self.path.split("."):
            x = getattr(x, part)
        return float(self.transform(x))


KERNEL_PARAMETERS: dict[str, From] = {
    # demography (probabilities per year)
    "birth_20_34": From("behaviour.demography.birth_prob_20_34"),
    "birth_35_44": From("behaviour.demography.birth_prob_35_44"),
    "fertility_decline": From("behaviour.demography.fertility_decline_per_year"),
    "out_migration": From("behaviour.demography.out_migration_prob"),
    "take_children": From("behaviour.demography.take_children_prob"),
    "return_prob": From("behaviour.demography.return_prob"),
    "move_town": From("behaviour.demography.move_to_town_prob"),
    "move_seat": From("behaviour.demography.move_to_seat_prob"),
    "move_if_far": From("behaviour.demography.move_if_far_extra_prob"),
    # school choice
    "choice_mode": From("behaviour.choice.mode", dt.CHOICE_NAMES.__getitem__),
    "board_equiv_min": From("behaviour.choice.boarding_travel_equivalent_min"),
    "board_over_min": From("behaviour.choice.board_if_day_travel_over_min"),
    "rent_prob": From("behaviour.choice.rent_prob"),
    "candidates": From("behaviour.choice.candidates"),
    "choose_at_stages": From("behaviour.choice.choose_again_at_stages"),
    # dropout (log-odds)
    "logit_base_primary": From("behaviour.dropout.base_primary", logit),
    "logit_base_junior": From("behaviour.dropout.base_junior", logit),
    "b_travel_10min": From("behaviour.dropout.per_10min_travel"),
    "b_female_travel_10min": From("behaviour.dropout.female_extra_per_10min_travel"),
    "b_cost_share": From("behaviour.dropout.cost_share"),
    "b_hardship": From("behaviour.dropout.hardship"),
    "b_left_behind": From("behaviour.dropout.left_behind"),
    "b_boarding": From("behaviour.dropout.boarding"),
    "b_achievement": From("behaviour.dropout.achievement"),
    "ach_move_young": From("behaviour.achievement.move_before_grade_4"),
    "ach_move_older": From("behaviour.achievement.move_from_grade_4"),
    "ach_per_quality": From("behaviour.achievement.per_quality_gain"),
    "ach_boarding": From("behaviour.achievement.boarding"),
    "ach_per_10min": From("behaviour.achievement.per_10min_over_30"),
    "ach_young_boarding": From("behaviour.achievement.young_boarding"),
    "ach_persistence": From("behaviour.achievement.persistence"),
    "logit_senior_entry": From("behaviour.senior_high.entry_prob", logit),
    "b_senior_achievement": From("behaviour.senior_high.achievement"),
    "b_senior_female": From("behaviour.senior_high.female"),
    "b_senior_per_10min": From("behaviour.senior_high.per_10min_to_seat"),
    "b_young_boarding": From("behaviour.dropout.young_boarding"),
    "b_quality": From("behaviour.dropout.quality"),
    # travel (minutes)
    "renting_min": From("behaviour.travel.renting_travel_min"),
    # costs (yuan)
    "school_fixed": From("behaviour.costs.school_fixed_yuan"),
    "teacher": From("behaviour.costs.teacher_yuan"),
    "teachers_class_primary": From("behaviour.costs.teachers_per_class_primary"),
    "teachers_class_junior": From("behaviour.costs.teachers_per_class_junior"),
    "pupils_teacher_primary": From("behaviour.costs.pupils_per_teacher_primary"),
    "pupils_teacher_junior": From("behaviour.costs.pupils_per_teacher_junior"),
    "private_per_km": From("behaviour.costs.private_yuan_per_km"),
    "school_days": From("behaviour.costs.school_days"),
    "rent": From("behaviour.costs.rent_yuan"),
    # policies
    "exempt_over_min": From("policies.exemptions.keep_teaching_points_if_travel_over_min",
                            _none_as(-1.0)),
    "exempt_hi_grade": From("policies.exemptions.grades", max),
    "capacity_check": From("policies.receiving_capacity_check"),
    "bus_on": From("policies.bus.serve_closed_villages"),
    "parent_fare_share": From("policies.bus.parent_fare_share"),
    "parent_fare_day": From("policies.bus.parent_fare_yuan_per_day", _none_as(-1.0)),
    "board_min_grade": From("policies.boarding.min_grade"),
    "beds_per_receiver": From("policies.boarding.beds_per_receiving_school"),
    "boarder_cost": From("policies.boarding.cost_per_boarder_yuan"),
    "bed_cost": From("policies.boarding.cost_per_bed_yuan"),
    "boarding_family_share": From("policies.boarding.family_share"),
    "hardship_subsidy": From("policies.boarding.hardship_subsidy_yuan"),
    "cap_primary": From("policies.class_caps.primary"),
    "cap_junior": From("policies.class_caps.junior"),
    "max_travel_min": From("policies.max_travel_min"),
    "max_board_trip_min": From("policies.boarding.max_trip_min"),
    "return_share": From("policies.dropout_tracking.return_share"),
    "return_cost": From("policies.dropout_tracking.cost_per_return_yuan"),
}

#: scenario fields of `behaviour` and `policies` that are not kernel parameters: the module
#: that reads them (a field may be both, e.g. the boarding minimum grade also plans bus lines)
READ_ELSEWHERE: dict[str, str] = {
    "lang": "sim/cli.py (the language of the console and report, sim/core/i18n.py resolve)",
    "county.crs": "sim/model/county_files.py (lon / lat -> km, sim/model/coordinates.py)",
    "county.roads": "sim/model/county_files.py (sim/model/county_roads.py)",
    "county.osm_road_class": "sim/model/county_roads.py (read_osm)",
    "posterior": "sim/model/posterior.py (per-replicate parameter draws; Model.replicate_params)",
    "behaviour.demography.initial_one_parent_away": "sim/model/population.py",
    "behaviour.demography.births_follow_base_cohort": "sim/model/births.py (W.birth_scale)",
    "behaviour.demography.initial_both_parents_away": "sim/model/population.py",
    "behaviour.demography.hardship_share": "sim/model/population.py",
    "behaviour.demography.transport_access_share": "sim/model/population.py",
    "behaviour.choice.distance_weight_per_min": "sim/model/population.py (household weights)",
    "behaviour.choice.quality_weight": "sim/model/population.py (household weights)",
    "behaviour.choice.cost_weight_per_1000_yuan": "sim/model/population.py (household weights)",
    "behaviour.choice.preference_spread": "sim/model/population.py (household weights)",
    "behaviour.costs.household_income_yuan": "sim/model/population.py",
    "behaviour.costs.hardship_income_yuan": "sim/model/population.py",
    "behaviour.travel.walk_kmh": "sim/model/world.py (travel times)",
    "behaviour.travel.bus_kmh": "sim/model/world.py (travel times)",
    "behaviour.travel.private_kmh": "sim/model/world.py (travel times)",
    "behaviour.travel.bus_wait_min": "sim/model/world.py (travel times)",
    "policies.closures": "sim/model/params.py build_rules (the Rules arrays)",
    "policies.actions": "sim/model/plan.py (the Actions arrays and the schools a plan opens)",
    "policies.bus.*": "sim/model/transport.py (bus lines and the simulated school day)",
}

def build_params(s: Scenario) -> Params:
    """Scalar parameters for the kernels, from the scenario (units as in the scenario). The
    `Params` tuple is generated from KERNEL_PARAMETERS (sim/model/codegen.py)."""
    if tuple(KERNEL_PARAMETERS) != PARAM_NAMES:
        raise RuntimeError("sim/core/kernels/generated.py is stale after a change to "
                           "KERNEL_PARAMETERS: run python -m sim.model.codegen")
    return Params(**{name: src.value(s) for name, src in KERNEL_PARAMETERS.items()})


def build_rules(s: Scenario) -> Rules:
    """The scenario's closure rules as arrays, in the order of their years."""
    rules = sorted(s.policies.closures, key=lambda r: r.year)
    return Rules(
        year=np.array([r.year for r in rules], np.int32),
        below=np.array([r.below for r in rules], np.int32),
        share=np.array([np.nan if r.share is None else r.share for r in rules], np.float64),
        ranking=np.array([dt.RANKING_NAMES[r.ranking] for r in rules], np.int32),
        levels=np.array([sum(1 << dt.LEVEL_NAMES[x] for x in r.levels) for r in rules], np.int32),
        excluded=np.array([_excluded(r) for r in rules], np.int32),
    )


def _excluded(rule) -> int:
    """Bit mask of the levels that may not receive a rule's pupils: the rule's own levels, or
    every level but its `receiver_levels`."""
    if rule.receiver_levels is None:
        return sum(1 << dt.LEVEL_NAMES[x] for x in rule.levels)
    return sum(1 << code for name, code in dt.LEVEL_NAMES.items()
               if name not in rule.receiver_levels)
