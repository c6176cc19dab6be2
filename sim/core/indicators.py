"""The indicator registry: every indicator's name, unit, levels, description and kernel row,
defined once.

Both engines write values[..., row, level] in this order (the numba recorder
`sim/core/kernels/record.py` through the row constants below, the Mesa reference model through
`ROW[name]`); the tidy tables, the printed summaries, the calibration and sensitivity checks and
`docs/indicators.md` read names, units and levels from here. A level not listed for an
indicator is NaN in both engines (tested).

Add an indicator: append an `Indicator` here, add its row constant below, compute it in the
recorder and in `sim/reference/mesa_model.py`'s `Indicators`, and regenerate the docs
(`python -m sim.outputs.docs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.dtypes import INDICATOR_LEVELS

ALL_LEVELS = INDICATOR_LEVELS  #: ("primary", "junior", "all")
COUNTY = ("all",)  #: county-wide indicators, no primary / junior split


@dataclass(frozen=True)
class Indicator:
    name: str
    unit: str          #: "share" (0-1), "pupils", "minutes", "yuan per year", ...
    description: str
    levels: tuple[str, ...] = ALL_LEVELS  #: levels the indicator is defined at


INDICATORS: tuple[Indicator, ...] = (
    Indicator("schools_open", "schools", "open schools teaching the level's grades"),
    Indicator("pupils_enrolled", "pupils", "pupils enrolled at the end of the year"),
    Indicator("dropout_rate", "per year", "dropouts / pupils enrolled during the year"),
    Indicator("dropouts", "pupils", "pupils who dropped out this year"),
    Indicator("junior_retention_3yr", "share", "synthetic-cohort junior three-year retention "
              "(product over grades 7-9 of 1 - grade dropout rate)", ("junior",)),
    Indicator("mean_class_size", "pupils", "mean pupils per class"),
    Indicator("share_classes_over_standard", "share",
              "classes above the cap (45 primary / 50 junior)"),
    Indicator("share_classes_very_large", "share", "classes of 56+ (primary) / 61+ (junior) pupils"),
    Indicator("share_classes_super_large", "share", "classes of 66+ pupils"),
    Indicator("share_classes_over_51", "share", "classes above 51 pupils"),
    Indicator("travel_time_mean_min", "minutes", "mean one-way travel of day pupils (renters "
              "count as day pupils, from their rented room)"),
    Indicator("travel_time_p95_min", "minutes", "95th percentile of one-way travel of day pupils"),
    Indicator("share_travel_over_60min", "share", "day pupils travelling over 60 minutes one way"),
    Indicator("share_lower_primary_over_30min", "share",
              "day pupils in grades 1-3 travelling over 30 minutes (national guidance limit)",
              ("primary", "all")),
    Indicator("pupils_unplaced", "pupils",
              "children of school age with no feasible school this year"),
    Indicator("boarding_share", "share", "pupils boarding"),
    Indicator("bus_share", "share", "pupils riding a student bus"),
    Indicator("share_under100_closed", "share", "base-year schools under 100 pupils now closed",
              COUNTY),
    Indicator("cost_per_pupil_yuan", "yuan per year",
              "schools, teachers, student buses and boarding (public and family shares) per pupil",
              COUNTY),
    Indicator("family_cost_yuan_per_pupil", "yuan per year",
              "family spending on bus fares, private transport, boarding and rent per pupil"),
    Indicator("left_behind_share", "share", "pupils with one or both parents away"),
    Indicator("schools_closed", "schools", "schools closed since the base year", COUNTY),
    Indicator("closures_deferred", "schools", "closures deferred for lack of room at the "
              "receiving school, summed over years", COUNTY),
    Indicator("children_migrated", "children",
              "children living outside the county with their parents", COUNTY),
    Indicator("closures_exempted", "schools", "schools kept open for grades 1-3 (as teaching "
              "points, or teaching points left open) since the base year because closing them "
              "would break the exemption's travel-time limit; each school counted once", COUNTY),
    Indicator("teachers_per_100_pupils_cv", "ratio", "inter-school coefficient of variation "
              "(population standard deviation / mean over open schools with pupils at the level) "
              "of teachers per 100 pupils; Nanle 2022 plan: at most 0.50 primary, 0.45 junior"),
    Indicator("schools_over_2000", "schools", "open schools above 2000 pupils (2500 for "
              "nine-year schools), the Nanle 2022 plan's size limit", COUNTY),
    Indicator("bus_ride_time_p95_min", "minutes", "95th percentile of bus riders' time on the bus "
              "(morning run, from the simulated school day)"),
    Indicator("buses_needed", "buses",
              "buses the year's student bus lines need (simulated school day)", COUNTY),
    Indicator("bus_cost_yuan_per_year", "yuan per year", "operating cost of the student bus "
              "lines: bus-km, bus-days, insurance and safety staff (government and parent shares "
              "together)", COUNTY),
    Indicator("parent_cost_yuan_per_pupil", "yuan per year", "parents' bus fares and boarding "
              "fees per pupil who rides a student bus or boards", COUNTY),
    Indicator("villages_without_bus", "villages", "villages whose school closed (or lost "
              "grades), with pupils of families without a motorbike or car in those grades, that "
              "have no bus line this year: beyond the ride limits (max ride, earliest pick-up), "
              "no receiving school, or no bus lines in the plan", COUNTY),
    Indicator("pupils_renting", "pupils", "pupils whose family rents a room near the school "
              "(no school within the day-travel limit)"),
    Indicator("children_aged_out_unplaced", "children", "children who passed compulsory-school "
              "age (over 15) this year while still without a school place; from then on they "
              "count as out of school (status dropped out), not in the year's dropout rate, "
              "which counts enrolled pupils", COUNTY),
    Indicator("children_out_of_school", "children", "children of compulsory-school age (6-15) "
              "living in the county who are not in school at the end of the year: without a "
              "school place (pupils_unplaced) or dropped out (this year or earlier); by the grade "
              "they were in or would enter"),
    Indicator("young_boarders", "pupils", "boarders below grade 4 (under about 10 years old)",
              ("primary", "all")),
    Indicator("out_of_school_rate", "share", "children_out_of_school / (children_out_of_school + "
              "pupils enrolled): the share of compulsory-age children in the county not in "
              "school at the end of the year"),
    Indicator("senior_high_entry_rate", "share", "pupils who finished grade 9 this year and "
              "entered senior high", COUNTY),
    Indicator("years_of_schooling_by_17_girls", "years", "mean years of schooling completed by "
              "girls aged 17 this year living in the county", COUNTY),
    Indicator("years_of_schooling_by_17_boys", "years", "the same for boys", COUNTY),
    Indicator("dropouts_returned", "pupils", "dropouts of compulsory age brought back to school "
              "this year (policies.dropout_tracking)", COUNTY),
    Indicator("pupils_entering_grade1", "pupils", "children who reached school-entry age (6) "
              "this year while living in the county: grade-1 intake, placed or not",
              ("primary", "all")),
    Indicator("nine_year_completion", "share", "synthetic-cohort nine-year completion (product "
              "over grades 1-9 of 1 - grade dropout rate): the share of a grade-1 cohort that "
              "would finish grade 9 at this year's dropout rates; national 95.7% in 2023", COUNTY),
)

INDICATOR_NAMES: list[str] = [x.name for x in INDICATORS]
ROW: dict[str, int] = {name: i for i, name in enumerate(INDICATOR_NAMES)}
BY_NAME: dict[str, Indicator] = {x.name: x for x in INDICATORS}
N_INDICATORS = len(INDICATORS)


def pair_error(indicator: str, level: str) -> str | None:
    """Why (indicator, level) is not a value the model reports, in words; None if it is. The
    one check of scenario targets and of observed data for calibration."""
    if indicator not in BY_NAME:
        return f"unknown indicator {indicator!r}; see docs/indicators.md for the names"
    if level not in BY_NAME[indicator].levels:
        return (f"{indicator} has no level {level!r}; it has "
                + ", ".join(BY_NAME[indicator].levels))
    return None

# Row constants for the numba recorder (module globals are compile-time constants in numba).
SCHOOLS_OPEN = ROW["schools_open"]
PUPILS_ENROLLED = ROW["pupils_enrolled"]
DROPOUT_RATE = ROW["dropout_rate"]
DROPOUTS = ROW["dropouts"]
JUNIOR_RETENTION_3YR = ROW["junior_retention_3yr"]
MEAN_CLASS_SIZE = ROW["mean_class_size"]
SHARE_OVER_STANDARD = ROW["share_classes_over_standard"]
SHARE_VERY_LARGE = ROW["share_classes_very_large"]
SHARE_SUPER_LARGE = ROW["share_classes_super_large"]
SHARE_OVER_51 = ROW["share_classes_over_51"]
TRAVEL_MEAN = ROW["travel_time_mean_min"]
TRAVEL_P95 = ROW["travel_time_p95_min"]
SHARE_OVER_60 = ROW["share_travel_over_60min"]
SHARE_LOWER_OVER_30 = ROW["share_lower_primary_over_30min"]
UNPLACED = ROW["pupils_unplaced"]
BOARDING_SHARE = ROW["boarding_share"]
BUS_SHARE = ROW["bus_share"]
SHARE_UNDER100_CLOSED = ROW["share_under100_closed"]
COST_PER_PUPIL = ROW["cost_per_pupil_yuan"]
FAMILY_COST = ROW["family_cost_yuan_per_pupil"]
LEFT_BEHIND_SHARE = ROW["left_behind_share"]
SCHOOLS_CLOSED = ROW["schools_closed"]
CLOSURES_DEFERRED = ROW["closures_deferred"]
CHILDREN_MIGRATED = ROW["children_migrated"]
CLOSURES_EXEMPTED = ROW["closures_exempted"]
TEACHERS_CV = ROW["teachers_per_100_pupils_cv"]
SCHOOLS_OVER_2000 = ROW["schools_over_2000"]
BUS_RIDE_P95 = ROW["bus_ride_time_p95_min"]
BUSES_NEEDED = ROW["buses_needed"]
BUS_COST = ROW["bus_cost_yuan_per_year"]
PARENT_COST = ROW["parent_cost_yuan_per_pupil"]
VILLAGES_WITHOUT_BUS = ROW["villages_without_bus"]
PUPILS_RENTING = ROW["pupils_renting"]
AGED_OUT_UNPLACED = ROW["children_aged_out_unplaced"]
OUT_OF_SCHOOL = ROW["children_out_of_school"]
YOUNG_BOARDERS = ROW["young_boarders"]
GRADE1_INTAKE = ROW["pupils_entering_grade1"]
OUT_OF_SCHOOL_RATE = ROW["out_of_school_rate"]
SENIOR_ENTRY_RATE = ROW["senior_high_entry_rate"]
YEARS_GIRLS = ROW["years_of_schooling_by_17_girls"]
YEARS_BOYS = ROW["years_of_schooling_by_17_boys"]
RETURNED = ROW["dropouts_returned"]
NINE_YEAR_COMPLETION = ROW["nine_year_completion"]


def level_mask() -> list[list[bool]]:
    """mask[row][level]: whether the indicator is defined at that level."""
    return [[lv in x.levels for lv in ALL_LEVELS] for x in INDICATORS]
