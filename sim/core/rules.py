"""Named rule constants and small shared rules, imported by both engines (the numba kernels and
the Mesa reference model) and by the outputs, so a threshold or a definition lives in one place.

Plan thresholds come from the source plans (`../shared/seeds/`, see docs/parameters.md); the
rest are definitions of the model. The functions are numba-compiled and callable from Python.
Units: minutes (one way), pupils, grades, years of age.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.core import dtypes as dt

# --- ages and grades ------------------------------------------------------------------------
LAST_PRIMARY_GRADE = dt.FIRST_JUNIOR_GRADE - 1  #: grades 1-6 are primary
LAST_SCHOOL_AGE_AT_START = 14  #: years; a child this old or younger is of compulsory-school age
COMPULSORY_AGE_LIMIT = 15  #: years; an unplaced child older than this leaves as out of school
SCHOOLING_MEASURED_AT_AGE = 17  #: years of schooling are reported at this age (Hannum et al.)
FEMALE_SHARE_AT_BIRTH = 0.485  #: assumption: sex ratio at birth of about 106 boys per 100 girls
BIRTH_AGES_HIGH = (20, 34)  #: household head's ages (years) with `birth_prob_20_34`
BIRTH_AGES_LOW = (35, 44)  #: household head's ages (years) with `birth_prob_35_44`

# --- travel ---------------------------------------------------------------------------------
PRIVATE_TRIPS_PER_DAY = 4.0  #: one-way trips a family drives a day: to school and back, twice
FAR_MIN = 45.0  #: minutes; a child travelling further makes the family's move more likely
OVER_60_MIN = 60.0  #: minutes; `share_travel_over_60min`
LOWER_GRADES_LAST = 3  #: grades 1-3 are the lower primary grades
LOWER_OVER_MIN = 30.0  #: minutes; national guidance limit for grades 1-3
YOUNG_BOARDING_BELOW_GRADE = 4  #: boarders below this grade add the young-boarding hazard
MOVED_YOUNG_BELOW_GRADE = 4  #: a forced move below this grade takes the younger pupils' effect

REFERENCE_QUALITY = 0.5  #: school quality (0-1) at which the dropout quality term is zero

# --- classes and schools (Jiangyuan 2017, Nanle 2022 plans) ---------------------------------
VERY_LARGE_PRIMARY = 56  #: pupils; a primary class this large is "very large"
VERY_LARGE_JUNIOR = 61  #: pupils; a junior class this large is "very large"
SUPER_LARGE = 66  #: pupils; a "super large" class at either level
OVER_51 = 51  #: pupils; classes above this count against the 1% limit
SCHOOL_SIZE_LIMIT = 2000  #: pupils; no school above this (Nanle 2022)
NINE_YEAR_SIZE_LIMIT = 2500  #: pupils; the limit for nine-year schools
SMALL_SCHOOL = 100  #: pupils; the plans' "small-scale school" (`share_under100_closed`)


@njit(cache=True)
def level_of_grade(g: int) -> int:
    """Indicator level of a grade: dt.LEVEL_PRIMARY (1-6) or dt.LEVEL_JUNIOR (7-9)."""
    return dt.LEVEL_PRIMARY if g <= LAST_PRIMARY_GRADE else dt.LEVEL_JUNIOR


@njit(cache=True)
def chooses_again(grade: int, board_min_grade: int) -> bool:
    """Whether a pupil's family chooses a school again on moving up to `grade`: at the start of
    junior grades (7), and when boarding opens (the boarding minimum grade, if within grades
    2-6), as at entry (sim/model/choice_constants.py calibrates the constants on that cycle)."""
    return grade == dt.FIRST_JUNIOR_GRADE or (
        1 < board_min_grade <= LAST_PRIMARY_GRADE and grade == board_min_grade)


@njit(cache=True)
def class_cap(g: int, cap_primary: float, cap_junior: float) -> float:
    """Class-size cap of grade g (pupils): the scenario's primary cap for grades 1-6, its
    junior cap for grades 7-9."""
    return cap_primary if g <= LAST_PRIMARY_GRADE else cap_junior


@njit(cache=True)
def grade_seats(g: int, classes: int, cap_primary: float, cap_junior: float) -> int:
    """Seats (pupils) a school has in grade g: its classes per grade x the grade's class cap."""
    return int(class_cap(g, cap_primary, cap_junior)) * classes


@njit(cache=True)
def very_large_at(g: int) -> int:
    """Class size (pupils) from which a class of grade g is very large (56 primary, 61 junior)."""
    return VERY_LARGE_PRIMARY if g <= LAST_PRIMARY_GRADE else VERY_LARGE_JUNIOR


@njit(cache=True)
def school_size_limit(level: int) -> int:
    """Most pupils a school of this level may hold (2000; 2500 for a nine-year school)."""
    return NINE_YEAR_SIZE_LIMIT if level == dt.NINE_YEAR else SCHOOL_SIZE_LIMIT


@njit(cache=True)
def class_split(n: int, cap: float, max_classes: int) -> tuple[int, int, int]:
    """How a grade of n > 0 pupils is taught: as few classes as the cap allows, at most the
    school's classes per grade, pupils spread evenly. Returns (classes, q, r): r classes of q + 1
    pupils and classes - r of q."""
    nc = int(math.ceil(n / cap))
    if nc > max_classes:
        nc = max_classes
    q = n // nc
    return nc, q, n - q * nc


@njit(cache=True)
def class_shapes(enrol, classes, cap_primary, cap_junior):
    """`class_split` over arrays, for reports: enrol (..., 10) pupils by grade, classes (...)
    classes per grade. Returns (classes taught, largest class) by grade, both (..., 10)."""
    flat = enrol.reshape(-1, enrol.shape[-1])
    per = classes.reshape(-1)
    n_cls = np.zeros(flat.shape, np.int64)
    largest = np.zeros(flat.shape, np.int64)
    for i in range(flat.shape[0]):
        for g in range(1, flat.shape[1]):
            if flat[i, g] > 0:
                nc, q, r = class_split(flat[i, g], class_cap(g, cap_primary, cap_junior),
                                       per[i])
                n_cls[i, g] = nc
                largest[i, g] = q + 1 if r > 0 else q
    return n_cls.reshape(enrol.shape), largest.reshape(enrol.shape)


@njit(cache=True)
def is_day_pupil(mode: int) -> bool:
    """A pupil who travels to school each day: everyone but boarders. Renters count, with the
    time from their rented room."""
    return mode != dt.BOARDING


@njit(cache=True)
def grade_for_age(age: int) -> int:
    """The grade a child of this age (years) is in without delay: age 6 -> grade 1."""
    return age - (dt.SCHOOL_ENTRY_AGE - 1)


SCHOOL_DAYS_PER_WEEK = 5  #: a boarder goes home once a week: the trip counts 1/5 a day


@njit(cache=True)
def boarding_burden(board_equiv_min: float, trip_min: float) -> float:
    """The one-way minutes a boarding place feels like to parents: the scenario's boarding
    equivalent plus the weekly trip home (one-way `trip_min` by motorbike, car or hired ride)
    spread over the school week: a far boarding school weighs more than a near one."""
    return board_equiv_min + trip_min / SCHOOL_DAYS_PER_WEEK


@njit(cache=True)
def grade_teachers(pupils: int, classes: int, per_class: float, pupils_per_teacher: float) -> float:
    """Teachers a grade of a school is staffed with: the national staffing standard's
    pupil-teacher ratio, but at least `per_class` teachers per class (the class-teacher ratio
    that staffs small schools): the two methods combined, as the 2018 State Council guidance on
    small rural schools asks."""
    by_class = classes * per_class
    by_pupils = pupils / pupils_per_teacher if pupils_per_teacher > 0 else 0.0
    return by_class if by_class > by_pupils else by_pupils


CV_ZERO = 1e-6  #: a coefficient of variation below this is rounding, reported as 0


@njit(cache=True)
def coefficient_of_variation(mean: float, variance: float) -> float:
    """sqrt(variance) / mean, with values below CV_ZERO (floating-point rounding of equal
    values, computed in different orders by the two engines) reported as exactly 0."""
    cv = np.sqrt(max(variance, 0.0)) / mean
    return 0.0 if cv < CV_ZERO else cv
