"""Scenario files: pydantic models of the YAML (unknown keys rejected), `extends:` inheritance,
clear errors and a hash of the resolved scenario.

Units are in each field's description. Sources of default values are in docs/parameters.md.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sim.core import i18n
from sim.core.errors import InputError
from sim.core.i18n import N_, _
from sim.model.actions import KIND_KEYS, Action
from sim.model.scenario_base import (
    INT32_MAX,
    WIDE_INTS,
    LevelName,
    RankingName,
    Strict,
    grades_error,
)

__all__ = ["INT32_MAX", "WIDE_INTS", "LevelName", "RankingName", "Strict", "Action"]


# --- county -------------------------------------------------------------------------------
class SyntheticCounty(Strict):
    townships: int = Field(15, ge=1, le=200, description="number of townships (each has a centre)")
    villages: int = Field(180, ge=1, le=20000, description="number of villages, town centres excluded")
    terrain: Literal["flat", "hilly", "mountainous"] = Field(
        "mountainous", description="sets road winding and walking slowness")
    seed: int = Field(7, ge=0, description="seed of the county generator (independent of run seeds)")
    village_population_median: float = Field(
        900.0, gt=0, le=100_000, description="median registered population of a village (persons)")
    town_population: float = Field(
        6000.0, ge=0, le=1_000_000, description="population of each township centre (persons)")
    county_seat_population: float = Field(
        150000.0, ge=0, le=5_000_000, description="population of the county seat modelled (persons)")
    village_primary_min_population: float = Field(
        1300.0, ge=0, description="villages at least this large may have a village primary; "
                                  "smaller remote ones get a teaching point (persons)")
    size_km: float | None = Field(
        None, gt=0, le=2000, description="side of the square county (km); default grows with "
                                         "townships")


class County(Strict):
    synthetic: SyntheticCounty | None = Field(None, description="generate a county")
    data: str | None = Field(
        None, description="folder with villages.csv, schools.csv, roads.csv (relative to the file)")
    crs: str = Field(
        "wgs84", description="coordinate system of the villages' lon / lat columns: wgs84 (GPS, "
                             "OpenStreetMap), gcj02 (Amap/Gaode, Tencent), bd09 (Baidu) or "
                             "EPSG:xxxx (e.g. EPSG:4490 CGCS2000, or a projected system in its "
                             "own units); x_km / y_km columns need none")
    roads: str | None = Field(
        None, description="where the roads come from besides roads.csv: an OpenStreetMap "
                          "extract (.osm.pbf or .osm, relative to the file), or straight_line "
                          "(straight lines winding with the terrain; an assumption); omitted = "
                          "roads.csv only")
    osm_road_class: dict[str, Literal["county", "township", "village"]] = Field(
        {}, description="OpenStreetMap highway tags read as another road class than the "
                        "default (docs/parameters.md), e.g. {tertiary: county} where a "
                        "county's county roads are tagged tertiary")
    roll_shortfall: Literal["scale_villages", "from_further"] = Field(
        "scale_villages",
        description="where a school's roll is larger than the children of the villages in its "
                    "reach: scale_villages raises those villages' children to the roll; "
                    "from_further takes the extra pupils from the nearest villages with children "
                    "to spare, beyond reach (counted in check and the run's notes)")

    @model_validator(mode="after")
    def _one_source(self) -> County:
        if (self.synthetic is None) == (self.data is None):
            raise ValueError(_("give exactly one of 'synthetic' or 'data'"))
        return self

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        from sim.model.coordinates import DEGREE_SYSTEMS, is_known_crs

        if value.lower() not in DEGREE_SYSTEMS and not is_known_crs(value):
            raise ValueError(_("{value!r} is not a coordinate system: use wgs84, gcj02 (Amap, "
                               "Tencent), bd09 (Baidu) or an EPSG code such as "
                               "EPSG:4490").format(value=value))
        return value


# --- behaviour ----------------------------------------------------------------------------
class Demography(Strict):
    birth_prob_20_34: float = Field(
        0.07, ge=0, le=1, description="annual probability of a birth, household head aged 20-34")
    birth_prob_35_44: float = Field(
        0.02, ge=0, le=1, description="annual probability of a birth, household head aged 35-44")
    fertility_decline_per_year: float = Field(
        0.03, ge=0, lt=1, description="relative fall of births per simulated year")
    births_follow_base_cohort: bool = Field(
        True, description="births in year y = the base year's children aged 0 x (1 - decline)^y "
                          "(the birth probabilities then only say which households have them); "
                          "false = the birth probabilities as given. A county's births.csv "
                          "overrides both for the years it lists")
    out_migration_prob: float = Field(
        0.04, ge=0, le=1, description="annual probability that one present parent leaves to work")
    take_children_prob: float = Field(
        0.25, ge=0, le=1,
        description="probability that a leaving parent takes the children (migrant children)")
    return_prob: float = Field(
        0.08, ge=0, le=1, description="annual probability that absent parents return")
    move_to_town_prob: float = Field(
        0.01, ge=0, le=1, description="annual probability a village household moves to its township centre")
    move_to_seat_prob: float = Field(
        0.006, ge=0, le=1, description="annual probability a village household moves to the county seat")
    move_if_far_extra_prob: float = Field(
        0.04, ge=0, le=1,
        description="extra annual move probability when a child travels over 45 minutes one way")
    initial_one_parent_away: float = Field(
        0.25, ge=0, le=1, description="share of base-year households with one parent away")
    initial_both_parents_away: float = Field(
        0.15, ge=0, le=1, description="share of base-year households with both parents away")
    hardship_share: float = Field(
        0.12, ge=0, le=1, description="share of households registered as in hardship")
    transport_access_share: float = Field(
        0.45, ge=0, le=1, description="share of households with a motorbike or car for the school run")


class Choice(Strict):
    mode: Literal["catchment", "logit"] = Field(
        "logit", description="catchment: nearest school with seats; logit: multinomial logit")
    distance_weight_per_min: float = Field(
        -0.08, le=0, description="utility per minute of one-way travel (per minute)")
    quality_weight: float = Field(1.0, description="utility per unit of school quality index (0-1)")
    cost_weight_per_1000_yuan: float = Field(
        -0.4, le=0, description="utility per 1000 yuan a year of family cost")
    preference_spread: float = Field(
        0.3, ge=0, le=2, description="coefficient of variation of households' preference weights")
    boarding_travel_equivalent_min: float = Field(
        25.0, ge=0, description="one-way minutes a boarding place feels like to parents (minutes)")
    board_if_day_travel_over_min: float = Field(
        50.0, ge=0, description="families board a pupil (where allowed) beyond this day travel (minutes)")
    rent_prob: float = Field(
        0.4, ge=0, le=1,
        description="probability a non-hardship family rents near the school when no other option")
    candidates: int = Field(6, ge=1, le=50, description="feasible schools considered per choice")
    choose_again_at_stages: bool = Field(
        True, description="families choose a school again when boarding opens (the first grade of "
                          "policies.boarding.min_grade, if within grades 2-6) and at the start of "
                          "junior grades (7), as at entry; false: only pupils whose school stops "
                          "teaching their grade choose again")


class Dropout(Strict):
    base_primary: float = Field(
        0.002, ge=0, lt=1, description="annual dropout probability, primary, reference pupil")
    base_junior: float = Field(
        0.00644, ge=0, lt=1, description="annual dropout probability, junior, reference pupil")
    per_10min_travel: float = Field(
        0.0586, ge=0, description="log-odds per 10 minutes one-way travel (boys)")
    female_extra_per_10min_travel: float = Field(
        0.265, ge=0, description="extra log-odds per 10 minutes travel for girls")
    cost_share: float = Field(
        1.5, ge=0, description="log-odds per unit of family school cost / household income")
    hardship: float = Field(0.6, ge=0, description="log-odds for a household in hardship")
    left_behind: float = Field(0.3, ge=0, description="log-odds for a left-behind child")
    boarding: float = Field(
        0.3, ge=0, description="log-odds for a boarder (its own term: a boarder has no daily trip)")
    young_boarding: float = Field(
        0.4, ge=0, description="extra log-odds for a boarder below grade 4 (boarding under age 10)")
    quality: float = Field(
        -0.5, le=0, description="log-odds per unit of school quality index above 0.5")
    achievement: float = Field(
        0.5, ge=0, description="log-odds lower per unit (SD) of achievement (a deficit raises it)")


class Achievement(Strict):
    """What schooling does to a pupil's achievement, relative to staying in the school it had
    (SD units, either sign): a move forced by the plan (by the grade at the move and by the
    receiving school's quality against the old one), boarding, long day trips and young
    boarding. Sources and status: docs/parameters.md."""

    move_before_grade_4: float = Field(
        -0.272, ge=-2, le=2, description="effect of a move forced by the plan at grades 1-3 "
                                        "(SD, negative: a loss)")
    move_from_grade_4: float = Field(
        0.256, ge=-2, le=2, description="effect of a move forced by the plan at grade 4 or later "
                                      "(SD, either sign)")
    per_quality_gain: float = Field(
        0.871, ge=0, description="gained at a forced move per unit of receiving-school quality "
                               "above the old school's (SD per quality unit; negative gap: a loss)")
    boarding: float = Field(
        0.0394, ge=-1, le=1, description="gained each year boarding, cognitive (SD per year)")
    per_10min_over_30: float = Field(
        0.02, ge=0, description="lost each year per 10 minutes of day trip beyond 30 (SD)")
    young_boarding: float = Field(
        0.1, ge=0, description="lost each year boarding below grade 4 (SD)")
    persistence: float = Field(
        0.831, ge=0, le=1, description="share of the achievement gap still there a year later")


class SeniorHigh(Strict):
    """Entry to senior high (grades 10-12, at the county seat) after grade 9."""

    entry_prob: float = Field(
        0.85, gt=0, lt=1, description="probability of entry for a reference pupil (no deficit, "
                                      "a boy, at the county seat)")
    achievement: float = Field(2.43, ge=0, description="log-odds per unit (SD) of achievement")
    female: float = Field(0.0, description="log-odds for a girl")
    per_10min_to_seat: float = Field(
        -0.05, le=0, description="log-odds per 10 minutes one way to the county seat")


class Travel(Strict):
    walk_kmh: float = Field(3.6, gt=0, description="walking speed on flat ground (km/h)")
    bus_kmh: tuple[float, float, float] = Field(
        (35.0, 28.0, 20.0), description="bus speed incl. stops on county/township/village roads (km/h)")
    private_kmh: tuple[float, float, float] = Field(
        (45.0, 35.0, 25.0), description="motorbike/car speed on county/township/village roads (km/h)")
    bus_wait_min: float = Field(8.0, ge=0, description="waiting and walking to the stop (minutes)")
    renting_travel_min: float = Field(10.0, ge=0, description="travel from a rented room (minutes)")


class Costs(Strict):
    school_fixed_yuan: float = Field(
        150000.0, ge=0, description="yearly fixed cost of keeping a school open (yuan per year)")
    teacher_yuan: float = Field(80000.0, ge=0, description="yearly cost of one teacher (yuan per year)")
    teachers_per_class_primary: float = Field(
        1.7, ge=0, description="at least this many teachers per primary class (class-teacher "
                               "ratio; small schools)")
    teachers_per_class_junior: float = Field(
        2.6, ge=0, description="at least this many teachers per junior class (class-teacher ratio)")
    pupils_per_teacher_primary: float = Field(
        19.0, gt=0, description="primary pupils per teacher, staffing standard (pupils)")
    pupils_per_teacher_junior: float = Field(
        13.5, gt=0, description="junior pupils per teacher, staffing standard (pupils)")
    private_yuan_per_km: float = Field(
        0.4, ge=0, description="family motorbike/car cost per km driven (yuan per km)")
    school_days: int = Field(190, ge=1, le=366, description="school days a year")
    rent_yuan: float = Field(6000.0, ge=0, description="yearly rent near the school (yuan per year)")
    household_income_yuan: float = Field(
        40000.0, gt=0, description="median yearly income of a household (yuan per year)")
    hardship_income_yuan: float = Field(
        12000.0, gt=0, description="yearly income of a household in hardship (yuan per year)")


class Behaviour(Strict):
    demography: Demography = Demography()
    choice: Choice = Choice()
    dropout: Dropout = Dropout()
    achievement: Achievement = Achievement()
    senior_high: SeniorHigh = SeniorHigh()
    travel: Travel = Travel()
    costs: Costs = Costs()


# --- policies -----------------------------------------------------------------------------
class ClosureRule(Strict):
    """A closure rule. Its size limit is `below: N` (fewer than N pupils) or `at_most: N` (N
    pupils or fewer: the plans' "N人以下", which in Chinese legal usage includes N); give one.
    `at_most: N` is kept as `below: N + 1` (pupil counts are whole numbers)."""

    year: int = Field(ge=1, description="simulated year the rule acts in (1 = first year)")
    below: int | None = Field(None, ge=1, description="close schools with fewer pupils than this "
                                                      "(pupils)")
    at_most: int | None = Field(None, ge=0, description="close schools with this many pupils or "
                                                        "fewer (pupils; \"N人以下\")")
    share: float | None = Field(
        None, gt=0, le=1,
        description="target share of the base year's schools under the size limit closed by this "
                    "year; omitted = close all such schools")
    ranking: RankingName = Field("smallest_first", description="which schools go first")
    levels: list[LevelName] = Field(
        ["teaching_point", "village_primary"], min_length=1, description="levels the rule applies to")
    receiver_levels: list[LevelName] | None = Field(
        None, min_length=1, description="levels whose schools may receive the pupils (the "
                                        "nearest open one teaching their grades); omitted = "
                                        "every level the rule does not close")

    @model_validator(mode="before")
    @classmethod
    def _size_limit(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        at_most, below = data.get("at_most"), data.get("below")
        if at_most is None and below is None:
            raise ValueError(_("give the size limit: `at_most: N` (N pupils or fewer, the plans' "
                               "'N人以下') or `below: N` (fewer than N)"))
        if isinstance(at_most, int) and not isinstance(at_most, bool):
            if below is not None and below != at_most + 1:
                raise ValueError(_("give `below` (fewer than N pupils) or `at_most` (N or "
                                   "fewer), not both"))
            data = {**data, "below": at_most + 1}
        return data

    def target_words(self, year: int) -> str:
        """The rule's target in words: '60% of the base year's schools under 100 pupils closed
        by year 1' (rules with a `share`)."""
        return _("{share:.0%} of the base year's schools {size} closed by year {year}").format(
            share=self.share, size=self.size_words(), year=year)

    def size_words(self) -> str:
        """The size limit as the plan words it: 'of at most 30 pupils' or 'under 30 pupils'."""
        return (_("of at most {n} pupils").format(n=self.at_most) if self.at_most is not None
                else _("under {n} pupils").format(n=self.below))


class Exemptions(Strict):
    keep_teaching_points_if_travel_over_min: float | None = Field(
        40.0, ge=0,
        description="keep a school for the lower grades when the alternative is further (minutes)")
    grades: list[int] = Field([1, 2, 3], description="grades a kept teaching point teaches")

    @model_validator(mode="after")
    def _grades(self) -> Exemptions:
        problem = grades_error(self.grades, 6)
        if problem:
            raise ValueError(problem)
        return self


HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"  #: a time of day, e.g. 07:50


def clock_minutes(text: str) -> float:
    """'HH:MM' -> minutes after midnight."""
    h, m = text.split(":")
    return 60.0 * int(h) + int(m)


class Bus(Strict):
    """Dedicated student bus lines, simulated as a school day (sim/model/transport.py). Defaults are
    assumptions unless docs/parameters.md cites a source."""

    serve_closed_villages: bool = Field(
        True, description="run student bus lines for villages whose school closed")
    seats: int = Field(35, ge=1, le=56, description="seats per bus, one pupil per seat (pupils)")
    parent_fare_share: float = Field(
        0.3, ge=0, le=1, description="share of the bus cost paid by parents (rest by government)")
    parent_fare_yuan_per_day: float | None = Field(
        None, ge=0, description="flat parent fare per pupil and school day instead of a share "
                                "(yuan per day; at most the cost); omitted = use the share")
    max_ride_min: float = Field(
        60.0, gt=0, description="longest allowed ride on the bus, morning or afternoon (minutes)")
    earliest_pickup: str = Field(
        "06:30", pattern=HHMM,
        description="no pick-up before this time of day (HH:MM)")
    arrive_by: str = Field(
        "07:50", pattern=HHMM,
        description="last morning bus at school by this time of day (HH:MM)")
    school_end: str = Field(
        "16:30", pattern=HHMM,
        description="afternoon buses leave school at this time of day (HH:MM)")
    cruise_kmh: float = Field(
        50.0, gt=0, le=60, description="bus driving speed on county roads (km/h); school buses "
                                       "may not exceed 60 km/h off expressways")
    road_speed_factor: tuple[float, float, float] = Field(
        (1.0, 0.7, 0.4), description="bus speed on county / township / village roads as a "
                                     "multiple of `cruise_kmh` (each in (0, 1])")
    dwell_per_stop_s: float = Field(
        30.0, ge=0, description="stop time at each stop: doors, safety check (seconds)")
    dwell_per_pupil_s: float = Field(
        4.0, ge=0, description="extra stop time per pupil boarding or alighting (seconds)")
    stop_margin_min: float = Field(
        5.0, ge=0, description="pupils wait at the stop this long before the bus (minutes)")
    cost_per_bus_km_yuan: float = Field(
        2.5, ge=0, description="fuel, tyres and maintenance per bus-km (yuan per km)")
    cost_per_bus_day_yuan: float = Field(
        400.0, ge=0, description="driver and depreciation per bus and school day (yuan per day)")
    insurance_per_pupil_yuan: float = Field(
        50.0, ge=0, description="transport liability insurance per pupil carried (yuan per year)")
    safety_staff_per_bus: float = Field(
        1.0, ge=0, description="safety escorts on each bus (persons)")
    safety_staff_day_yuan: float = Field(
        100.0, ge=0, description="pay of one escort per school day (yuan per day)")

    @model_validator(mode="after")
    def _times(self) -> Bus:
        minutes = clock_minutes
        if minutes(self.arrive_by) <= minutes(self.earliest_pickup):
            raise ValueError(_("arrive_by must be later than earliest_pickup"))
        if minutes(self.school_end) <= minutes(self.arrive_by):
            raise ValueError(_("school_end must be later than arrive_by"))
        if not all(0 < f <= 1 for f in self.road_speed_factor):
            raise ValueError(_("road_speed_factor: each factor must lie in (0, 1]"))
        return self


class Boarding(Strict):
    min_grade: int = Field(4, ge=1, le=9, description="lowest grade allowed to board")
    beds_per_receiving_school: int = Field(
        120, ge=0, description="beds added at a school when it receives a closed school's pupils")
    cost_per_boarder_yuan: float = Field(
        2500.0, ge=0, description="yearly cost of a boarding place (yuan per pupil per year)")
    cost_per_bed_yuan: float = Field(
        300.0, ge=0, description="yearly upkeep of a dormitory bed at an open school, used or "
                                 "not (yuan per bed per year)")
    family_share: float = Field(
        0.45, ge=0, le=1, description="share of boarding cost paid by the family")
    hardship_subsidy_yuan: float = Field(
        1000.0, ge=0, description="yearly living subsidy for a boarder in hardship (yuan)")
    max_trip_min: float = Field(
        180.0, gt=0, description="longest one-way weekly trip to a boarding school (minutes)")


class ClassCaps(Strict):
    primary: int = Field(45, ge=1, le=200, description="class-size cap, grades 1-6 (pupils)")
    junior: int = Field(50, ge=1, le=200, description="class-size cap, grades 7-9 (pupils)")


class DropoutTracking(Strict):
    """Tracking dropouts and bringing them back (劝返复学): each year a share of the dropouts
    still of compulsory age returns to school at the grade it left."""

    return_share: float = Field(
        0.0, ge=0, le=1, description="share of compulsory-age dropouts brought back each year")
    cost_per_return_yuan: float = Field(
        2000.0, ge=0, description="public cost of bringing one dropout back (yuan)")


class Policies(Strict):
    actions: list[Action] = Field(
        [], description="named plan actions (close, expand, downgrade, open), applied before "
                        "the closure rules of their year; see README 'Your county, your plan'")
    closures: list[ClosureRule] = Field([], description="closure rules, applied in year order")
    exemptions: Exemptions = Exemptions()
    receiving_capacity_check: bool = Field(
        True, description="close only when the receiving school has seats, canteen places and beds")
    bus: Bus = Bus()
    boarding: Boarding = Boarding()
    class_caps: ClassCaps = ClassCaps()
    max_travel_min: float = Field(
        90.0, gt=0, description="longest one-way day travel a pupil is assigned (minutes)")
    dropout_tracking: DropoutTracking = DropoutTracking()


class Target(Strict):
    """A threshold the plan must hold: an indicator at most or at least a value, in one year or
    in every simulated year (the worst year is reported)."""

    name: str = Field(description="how reports name it, e.g. 'junior retention >= 95%'")
    indicator: str = Field(description="an indicator of docs/indicators.md")
    level: Literal["primary", "junior", "all"] = Field("all", description="indicator level")
    at_most: float | None = Field(None, description="met when the value is at most this")
    at_least: float | None = Field(None, description="met when the value is at least this")
    year: int | None = Field(
        None, ge=0, description="the simulated year it applies to; omitted = every simulated "
                                "year after the base year (the worst year is reported)")
    difference: bool = Field(
        False, description="apply to the paired difference against the reference run "
                           "(compare_to) instead of the scenario's own value")
    source: str = Field("", description="where the threshold comes from")

    @model_validator(mode="after")
    def _check(self) -> Target:
        from sim.core.indicators import pair_error
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError(_("give exactly one of at_most or at_least"))
        problem = pair_error(self.indicator, self.level)
        if problem:
            raise ValueError(problem)
        return self


class Scenario(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="used for the results folder")
    description: str = ""
    lang: Literal["en", "zh"] | None = Field(
        None, description="language of what `run`, `compare`, `check` and `optimise` print and "
        "the report: en (English) or zh (Chinese); omitted = the locale's, else English; "
        "`--lang` overrides it")
    extends: str | None = Field(None, description="parent scenario file, relative to this file")
    compare_to: str | None = Field(
        None, description="reference scenario run alongside with common random numbers")
    posterior: str | None = Field(
        None, description="calibrated posterior (CSV or parquet, relative to this file): each "
                          "replicate draws its dropout, achievement and senior-high parameters "
                          "from it (sim/model/posterior.py); omitted = fixed parameters")
    seed: int = Field(20240425, ge=0, description="root seed; replicate seeds are spawned from it")
    replicates: int = Field(200, ge=1, le=1_000_000, description="Monte Carlo replicates")
    years: int = Field(10, ge=1, le=50, description="school years simulated after the base year")
    county: County
    behaviour: Behaviour = Behaviour()
    policies: Policies = Policies()
    targets: list[Target] = Field(
        [], description="the thresholds reports check this scenario against (a plan's own "
                        "targets live in its file; base.yaml holds the national standards)")
    _file: str = PrivateAttr("<scenario>")  #: the file it was loaded from, for error messages

    @model_validator(mode="after")
    def _rules_act_within_the_run(self) -> Scenario:
        for i, rule in enumerate(self.policies.closures):
            if rule.year > self.years:
                raise PydanticCustomError(
                    "rule_after_last_year", _("year {year} is after the last simulated year "
                                              "({years}); the rule would never act. Use a year "
                                              "from 1 to years, or raise years"),
                    {"year": rule.year, "years": self.years, "rule": i})
        for i, target in enumerate(self.targets):
            if target.year is not None and target.year > self.years:
                raise PydanticCustomError(
                    "target_after_last_year", _("year {year} is after the last simulated year "
                                                "({years}); the threshold could never be "
                                                "checked. Use a year from 1 to years, leave it "
                                                "out (every year), or raise years"),
                    {"year": target.year, "years": self.years, "target": i})
        return self

    @property
    def file(self) -> str:
        """The scenario file this was loaded from ("<scenario>" if built in code)."""
        return self._file


# --- loading ------------------------------------------------------------------------------
def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path) -> dict:
    """The mapping in a YAML file (a fresh copy each call; parsed once per file content)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "(file)", _("file not found; check the path")) from None
    except IsADirectoryError:
        raise InputError(str(path), "(file)", _("is a folder, not a scenario file; give the "
                                                "path of a .yaml file")) from None
    except UnicodeDecodeError:
        raise InputError(str(path), "(file)", _("not a text file (UTF-8); give a scenario "
                                                "YAML file")) from None
    except PermissionError:
        raise InputError(str(path), "(file)", _("cannot be read (permission denied)")) from None
    return copy.deepcopy(_parse_yaml(str(path), text))


@functools.lru_cache(maxsize=64)
def _parse_yaml(path: str, text: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(path, "(yaml)", _("not valid YAML: {error}").format(error=exc)) from None
    if not isinstance(data, dict):
        raise InputError(path, "(top level)", _("expected a mapping of fields (key: value)"))
    return data


def load_raw(path: str | Path, _seen: tuple = ()) -> dict:
    """Read a scenario YAML and its `extends:` chain into one merged dictionary.

    Relative paths inside (`extends`, `compare_to`, `posterior`, `county.data`) are made
    absolute here.
    """
    path = Path(path).resolve()
    if path in _seen:
        raise InputError(str(path), "extends", _("circular 'extends' chain"))
    data = read_yaml(path)
    for key in ("compare_to", "posterior"):
        if isinstance(data.get(key), str):
            data[key] = str((path.parent / data[key]).resolve())
    county = data.get("county")
    if isinstance(county, dict) and isinstance(county.get("data"), str):
        county["data"] = str((path.parent / county["data"]).resolve())
    if isinstance(county, dict) and isinstance(county.get("roads"), str) \
            and county["roads"] != "straight_line":
        county["roads"] = str((path.parent / county["roads"]).resolve())
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError(str(path), "extends", _("must be a file path (string)"))
        target = (path.parent / parent).resolve()
        if not target.is_file():
            raise InputError(str(path), "extends", _(
                "{parent!r} not found (looked for {target}); give the parent scenario's path "
                "relative to this file").format(parent=parent, target=target))
        base = load_raw(target, _seen + (path,))
        # a child naming the other county source (data vs synthetic) replaces the parent's
        county, base_county = data.get("county"), base.get("county")
        if isinstance(county, dict) and isinstance(base_county, dict) and not (
                set(county) & set(base_county) & {"data", "synthetic"}):
            base = {**base, "county": {}}
        data = _deep_merge(base, data)
    return data


def format_error(err: dict) -> tuple[str, str]:
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "rule_after_last_year":  # a model-level check that names its own field
        field = f"policies.closures[{err['ctx']['rule']}].year"
        return field, err["msg"]
    if kind == "target_after_last_year":
        return f"targets[{err['ctx']['target']}].year", err["msg"]
    msg = pydantic_words(err)
    if kind == "union_tag_invalid" or kind == "action_kind":
        msg = _("an action needs one of the keys {keys}").format(keys=KIND_KEYS)
    elif kind == "extra_forbidden":
        msg = _("unknown field; check the spelling (see docs/scenario.md for the allowed fields)")
    elif kind == "literal_error":
        msg = _("{message}; got {input!r}").format(message=msg, input=err.get("input"))
    elif "input" in err and not isinstance(err["input"], dict):
        msg = _("{message}; got {input!r}").format(message=msg, input=err["input"])
    return field, msg


#: pydantic's messages by error type, in words of the reader's language (English: pydantic's
#: own); placeholders from the error's context
PYDANTIC_WORDS = {
    "missing": N_("Field required"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "less_than": N_("Input should be less than {lt}"),
    "int_parsing": N_("Input should be a valid integer"),
    "int_type": N_("Input should be a valid integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_parsing": N_("Input should be a valid number"),
    "float_type": N_("Input should be a valid number"),
    "bool_parsing": N_("Input should be a valid boolean (true or false)"),
    "bool_type": N_("Input should be a valid boolean (true or false)"),
    "string_type": N_("Input should be a valid string"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary (key: value)"),
    "model_type": N_("Input should be a valid dictionary (key: value)"),
    "literal_error": N_("Input should be {expected}"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "too_short": N_("List should have at least {min_length} item(s)"),
    "too_long": N_("List should have at most {max_length} item(s)"),
}


def pydantic_words(err: dict) -> str:
    """A pydantic error's message in the reader's language: pydantic's own in English; its
    type's words (PYDANTIC_WORDS) otherwise, and a validator's own message (already in the
    reader's language) without pydantic's 'Value error, '."""
    if i18n.current() == "en":
        return err["msg"]
    if err["type"] == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    words = PYDANTIC_WORDS.get(err["type"])
    if words is None:
        return err["msg"]
    try:
        return _(words).format(**err.get("ctx", {}))
    except (KeyError, IndexError):
        return err["msg"]


def validate(data: dict, file: str = "<scenario>") -> Scenario:
    """Validate a merged scenario dictionary; raise InputError naming file, field and fix."""
    try:
        scenario = Scenario.model_validate(data)
        scenario._file = file
        return scenario
    except ValidationError as exc:
        errors = exc.errors()
        field, msg = format_error(errors[0])
        if len(errors) > 1:
            more = "; ".join(".".join(map(str, e["loc"])) for e in errors[1:4])
            msg += _(" (also: {fields})").format(fields=more)
        raise InputError(file, field, msg) from None


def load(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge and validate a scenario file. `overrides` maps paths (`set_dotted`) to
    values."""
    data = load_raw(path)
    if overrides:  # the file as written must be valid: an override must not hide its errors
        validate(copy.deepcopy(data), str(path))
    for dotted, value in (overrides or {}).items():
        try:
            set_dotted(data, dotted, value)
        except PathError as exc:
            raise InputError(str(path), dotted, str(exc)) from None
    return validate(data, str(path))


#: overrides that keep the behavioural parameters fixed at the scenario's values (no posterior
#: draw per replicate): sweeps, sensitivity analysis and calibration vary parameters themselves
FIXED_PARAMETERS: dict[str, Any] = {"posterior": None}


class PathError(ValueError):
    """A parameter path that does not lead to a field of the scenario."""


_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]+\])*)$")


def parse_path(dotted: str) -> list[str | int | tuple[str, str]]:
    """A parameter path as steps: field names, list indices (`closures[3]`, from 0) and list
    selectors (`actions[expand=S25]`: the one item whose `expand` is, or lists, S25).

        policies.closures[3].share
        policies.actions[expand=S25].classes_per_grade
    """
    steps: list[str | int | tuple[str, str]] = []
    for segment in dotted.split("."):
        m = _SEGMENT.match(segment)
        if not m:
            raise PathError(f"{segment!r} is not a field name, name[index] or name[key=value]")
        steps.append(m.group(1))
        for inner in re.findall(r"\[([^\]]+)\]", m.group(2)):
            if inner.strip().isdigit():
                steps.append(int(inner))
            elif "=" in inner:
                key, value = (x.strip() for x in inner.split("=", 1))
                steps.append((key, value))
            else:
                raise PathError(f"[{inner}] must be a list index (0, 1, ...) or key=value "
                                "(e.g. [expand=S25])")
    return steps


def _step(node: Any, step, where: str, create: bool) -> Any:
    """The child of `node` that `step` names (creating an empty mapping if `create`)."""
    if isinstance(step, str):
        if not isinstance(node, dict):
            raise PathError(f"{where} is not a mapping, so it has no field {step!r}")
        if step not in node:
            if not create:
                name = f"{where}.{step}" if where != "the scenario" else step
                raise PathError(f"{name} is not in the scenario (nothing to address there)")
            node[step] = {}
        return node[step]
    if not isinstance(node, list):
        raise PathError(f"{where} is not a list; [..] addresses list items (such as "
                        "policies.closures[0])")
    if isinstance(step, int):
        if step >= len(node):
            what = (f"{len(node)} item{'s' if len(node) != 1 else ''} (indices 0 to "
                    f"{len(node) - 1})" if node else "no items")
            raise PathError(f"{where} has {what}; [{step}] is out of range")
        return node[step]
    key, value = step

    def matches(item: Any) -> bool:
        got = item.get(key) if isinstance(item, dict) else None
        got = got if isinstance(got, list) else [got]
        return value in [str(x) for x in got]
    hits = [item for item in node if matches(item)]
    if len(hits) != 1:
        raise PathError(f"{len(hits)} items of {where} have {key} = {value!r}; name exactly one "
                        "(or use an index, [0], [1], ...)")
    return hits[0]


def _name(steps: list) -> str:
    out = ""
    for st in steps:
        out += (f".{st}" if out else st) if isinstance(st, str) else (
            f"[{st}]" if isinstance(st, int) else f"[{st[0]}={st[1]}]")
    return out


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    """Set the field at `dotted` (`parse_path`) in nested mappings and lists, creating mapping
    levels as needed; list items must exist. Raises PathError."""
    steps = parse_path(dotted)
    node: Any = data
    for i, step in enumerate(steps[:-1]):  # mapping levels are created, lists must exist
        node = _step(node, step, _name(steps[:i]) or "the scenario",
                     create=isinstance(steps[i + 1], str))
    last = steps[-1]
    if isinstance(last, str):
        if not isinstance(node, dict):
            raise PathError(f"{_name(steps[:-1])} is not a mapping")
        node[last] = value
    elif isinstance(last, int) and isinstance(node, list) and last < len(node):
        node[last] = value
    else:
        raise PathError(f"{dotted} must end in a field name")


def get_dotted(data: dict, dotted: str) -> Any:
    """The value at `dotted` (`parse_path`); raises PathError where it leads nowhere."""
    steps = parse_path(dotted)
    node: Any = data
    for i, step in enumerate(steps):
        node = _step(node, step, _name(steps[:i]) or "the scenario", create=False)
    return node


def numeric_field(base: str | Path, dotted: str, values: tuple = ()) -> bool:
    """Check that `dotted` (`parse_path`: fields, list indices and selectors) is a numeric field
    of the scenario file `base` and that each of `values` is valid there (ints are rounded for
    integer fields); True if the field takes whole numbers. A field left empty (null) counts
    as numeric when the values are valid there. Raises InputError naming the file and the
    field."""
    try:
        node = get_dotted(resolved_dict(load(base)), dotted)
    except PathError as exc:
        raise InputError(str(base), dotted, _(
            "not a numeric field of this scenario ({error}); see docs/scenario.md for the fields "
            "and their paths").format(error=exc)) from None
    if node is not None and (not isinstance(node, int | float) or isinstance(node, bool)):
        raise InputError(str(base), dotted, _(
            "not a numeric field of this scenario; see docs/scenario.md for the fields and their "
            "paths"))
    is_int = isinstance(node, int)
    for value in values:
        load(base, {dotted: int(round(value)) if is_int else value})
    return is_int


def resolved_dict(scenario: Scenario) -> dict:
    """The fully resolved scenario as plain data (what `scenario.yaml` in a results folder holds)."""
    return scenario.model_dump(mode="json", exclude={"extends"})


def input_files(scenario: Scenario) -> list[Path]:
    """The files a scenario reads besides itself: every file of its county folder (villages,
    schools, roads, births, ...) or its workbook, and its posterior."""
    files: list[Path] = []
    if scenario.county.data:
        data = Path(scenario.county.data)
        files += sorted(p for p in data.iterdir() if p.is_file()) if data.is_dir() else [data]
    if scenario.posterior:
        files.append(Path(scenario.posterior))
    return [f for f in files if f.is_file()]


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (first 16 hex digits) of the resolved scenario and the content of every file it
    reads (`input_files`): an edited county file changes the hash, a moved one does not."""
    h = hashlib.sha256(json.dumps(resolved_dict(scenario), sort_keys=True,
                                  separators=(",", ":")).encode())
    for f in input_files(scenario):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]
