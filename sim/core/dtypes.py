"""The one place for dtypes and integer codes used by the kernels and the I/O layer.

Kernels see plain integers; the I/O layer maps names (as written in scenario files and
CSV files) to these codes with the dictionaries below.
"""

from __future__ import annotations

import numpy as np

# --- dtypes -------------------------------------------------------------------------------
INDEX = np.int32  #: indices of villages, schools, households, children
SMALL = np.int8  #: ages (years), grades, codes
MINUTES = np.float32  #: travel-time matrices (minutes, one way)
REAL = np.float64  #: parameters, indicators, money (yuan)

# --- school levels ------------------------------------------------------------------------
TEACHING_POINT = 0  #: grades 1-3, remote villages
VILLAGE_PRIMARY = 1  #: grades 1-6
CENTRAL_PRIMARY = 2  #: grades 1-6, township centre or county seat
JUNIOR = 3  #: grades 7-9
NINE_YEAR = 4  #: grades 1-9

LEVEL_NAMES = {
    "teaching_point": TEACHING_POINT,
    "village_primary": VILLAGE_PRIMARY,
    "central_primary": CENTRAL_PRIMARY,
    "junior": JUNIOR,
    "nine_year": NINE_YEAR,
}
LEVEL_OF_CODE = {code: name for name, code in LEVEL_NAMES.items()}  #: level code -> its name
#: lowest and highest grade taught, by level code
LEVEL_GRADES = {
    TEACHING_POINT: (1, 3),
    VILLAGE_PRIMARY: (1, 6),
    CENTRAL_PRIMARY: (1, 6),
    JUNIOR: (7, 9),
    NINE_YEAR: (1, 9),
}
N_GRADES = 9  #: compulsory education: primary grades 1-6, junior grades 7-9
FIRST_JUNIOR_GRADE = 7
SCHOOL_ENTRY_AGE = 6  #: years; grade 1 entry

# --- travel modes -------------------------------------------------------------------------
MODE_NONE = 0
WALK = 1
BUS = 2
PRIVATE = 3  #: family motorbike or car
BOARDING = 4
RENTING = 5  #: family rents a room near the school
MODE_NAMES = {"none": MODE_NONE, "walk": WALK, "bus": BUS, "private": PRIVATE,
              "boarding": BOARDING, "renting": RENTING}

# --- child status -------------------------------------------------------------------------
PRESCHOOL = 0  #: not yet of school age
ENROLLED = 1
DROPPED_OUT = 2
MIGRATED = 3  #: living outside the county with migrating parents
GRADUATED = 4  #: out of school after grade 9 (did not enter, or finished, senior high)
UNPLACED = 5  #: of school age, no feasible school within the travel limit this year
SENIOR_HIGH = 6  #: in senior high (grades 10-12) at the county seat, after grade 9
LAST_SENIOR_GRADE = 12
STATUS_NAMES = {"preschool": PRESCHOOL, "enrolled": ENROLLED, "dropped_out": DROPPED_OUT,
                "migrated": MIGRATED, "graduated": GRADUATED, "unplaced": UNPLACED,
                "senior_high": 6}

# --- closure ranking rules ----------------------------------------------------------------
SMALLEST_FIRST = 0
LEAST_ADDED_TRAVEL = 1
RANKING_NAMES = {"smallest_first": SMALLEST_FIRST, "least_added_travel": LEAST_ADDED_TRAVEL}

# --- school choice ------------------------------------------------------------------------
CATCHMENT = 0
LOGIT = 1
CHOICE_NAMES = {"catchment": CATCHMENT, "logit": LOGIT}

# --- road classes -------------------------------------------------------------------------
COUNTY_ROAD = 0
TOWNSHIP_ROAD = 1
VILLAGE_ROAD = 2
ROAD_CLASS_NAMES = {"county": COUNTY_ROAD, "township": TOWNSHIP_ROAD, "village": VILLAGE_ROAD}
ROAD_CLASS_OF_CODE = {code: name for name, code in ROAD_CLASS_NAMES.items()}  #: code -> name

# --- indicator levels ---------------------------------------------------------------------
LEVEL_PRIMARY = 0
LEVEL_JUNIOR = 1
LEVEL_ALL = 2
INDICATOR_LEVELS = ("primary", "junior", "all")
#: indicator level name -> its column in values[..., level]
LEVELS = {name: i for i, name in enumerate(INDICATOR_LEVELS)}
