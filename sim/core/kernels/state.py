"""Named tuples of arrays handed to the kernels (struct-of-arrays), and the agent state's
fields declared once (`Field`). No numba code here.

Field units: times in minutes (one way), distances in km, money in yuan per year.
"""

from collections import namedtuple
from typing import NamedTuple

from sim.core import dtypes as dt

#: the county, fixed for a run
WorldArrays = namedtuple("WorldArrays", [
    "node_kind",        # int8 (nodes): 0 village, 1 township centre, 2 county seat
    "node_township",    # int32 (nodes)
    "school_node",      # int32 (schools)
    "school_level0",    # int8 (schools): level in the base year (a school the plan opens:
                        #   the level it opens with)
    "school_quality",   # float64 (schools): 0-1
    "school_const",     # float64 (schools, 2): the school's choice constant for primary (0) and
                        #   junior (1) grades, utility units: calibrated to the base-year rolls
                        #   (sim/model/choice_constants.py), 0 without rolls
    "school_board_const",  # float64 (schools): added to the utility of boarding there, utility
                        #   units: calibrated to the rolls' boarders, 0 without them
    "t_walk",           # float32 (nodes, schools): minutes
    "t_bus",            # float32 (nodes, schools): minutes incl. wait, road-time estimate
                        #   the closure rules plan with (ridden times: sim/model/transport.py)
    "t_private",        # float32 (nodes, schools): minutes
    "km",               # float32 (nodes, schools): road km
    "sorted_primary",   # int32 (nodes, k): schools teaching grade 1 in the base year, nearest
                        #   first by private travel time, padded with -1
    "sorted_junior",    # int32 (nodes, k): the same for schools teaching grade 7
    "node_catchment",   # int32 (nodes): base-year nearest school teaching grade 1
    "township_centre",  # int32 (townships): centre node
    "seat_node",        # int32 (1,): county seat node
    "seat_min",         # float32 (nodes): one-way minutes by motorbike or car to the county
                        #   seat, where the senior highs are
    "birth_scale",      # float64 (years + 1): multiplies the birth probabilities each year
                        #   (1 without a births.csv; else projected / expected births)
    "rolls_given",      # bool (1,): the base year is the county's school rolls (no dropout
                        #   is drawn in year 0: the rolls are what is observed)
])

#: the policy's closure rules, one entry per rule (applied in order)
Rules = namedtuple("Rules", [
    "year",     # int32: simulated year it acts in
    "below",    # int32: pupils threshold
    "share",    # float64: target share of base-year under-`below` schools; NaN = all
    "ranking",  # int32: dt.SMALLEST_FIRST / dt.LEAST_ADDED_TRAVEL
    "levels",   # int32: bit mask of school levels the rule applies to
    "excluded", # int32: bit mask of levels that may not receive its pupils
])

#: the plan's named actions, one entry per (action, school), applied before the rules of
#: their year in the order open, expand, downgrade, close (sim/core/kernels/closures.py)
Actions = namedtuple("Actions", [
    "year",      # int32: simulated year it acts in
    "kind",      # int32: ACT_OPEN / ACT_EXPAND / ACT_DOWNGRADE / ACT_CLOSE
    "school",    # int32: the school acted on
    "receiver",  # int32: close: the named receiving school, -1 = nearest as for rules
    "hi",        # int32: downgrade: highest grade kept (from grade 1)
    "classes",   # int32: expand: classes per grade added; open: classes per grade
    "beds",      # int32: expand / open: boarding beds added
    "canteen",   # int32: expand / open: canteen places added
])
ACT_OPEN, ACT_EXPAND, ACT_DOWNGRADE, ACT_CLOSE = 0, 1, 2, 3
ACTION_NAMES = {"open": ACT_OPEN, "expand": ACT_EXPAND, "downgrade": ACT_DOWNGRADE,
                "close": ACT_CLOSE}

#: what happened to a school in a year: bit flags of S.events[school, year]
EV_CLOSED = 1             #: closed (its pupils go to S.receiver)
EV_DEFER_RECEIVER = 2     #: closure deferred: no open school teaching its grades to receive
EV_DEFER_SEATS = 4        #: closure deferred: too few free seats at the receiving school
EV_DEFER_CANTEEN = 8      #: closure deferred: too few canteen places at the receiving school
EV_DEFER_BEDS = 16        #: closure deferred: too few boarding beds at the receiving school
EV_DOWNGRADED = 32        #: kept for the lower grades only (a teaching point), by a plan action
EV_EXEMPTED = 64          #: kept for the lower grades by a rule's travel exemption
EV_EXPANDED = 128         #: classes, beds or canteen places added by a plan action
EV_OPENED = 256           #: opened by a plan action
EV_BY_ACTION = 512        #: the closure or deferral came from a named plan action
EV_RECEIVED = 1024        #: received a closed school's pupils
EV_DEFERRED = EV_DEFER_RECEIVER | EV_DEFER_SEATS | EV_DEFER_CANTEEN | EV_DEFER_BEDS
#: event name -> flag, for tables and the plan-carried-out report
EVENT_NAMES = {"closed": EV_CLOSED, "deferred_no_receiver": EV_DEFER_RECEIVER,
               "deferred_seats": EV_DEFER_SEATS, "deferred_canteen": EV_DEFER_CANTEEN,
               "deferred_beds": EV_DEFER_BEDS, "downgraded": EV_DOWNGRADED,
               "exempted": EV_EXEMPTED, "expanded": EV_EXPANDED, "opened": EV_OPENED,
               "by_action": EV_BY_ACTION, "received": EV_RECEIVED}

#: scalar parameters `P`: a named tuple of float64 generated from the scenario by
#: sim/model/params.py (KERNEL_PARAMETERS names each one and its scenario field)

#: per-replicate event counters, counts[...]: cumulative since the base year except AGED_OUT
COUNT_CLOSED = 0      #: schools closed
COUNT_DEFERRED = 1    #: closures deferred (a school counted once per year)
COUNT_EXEMPTED = 2    #: schools kept as teaching points by the travel exemption
COUNT_AGED_OUT = 3    #: this year: unplaced children who passed compulsory-school age
COUNT_GRADUATES = 4   #: this year: pupils who finished grade 9
COUNT_SENIOR_ENTRY = 5  #: this year: of them, those who entered senior high
COUNT_RETURNED = 6    #: this year: dropouts of compulsory age brought back to school
N_COUNTS = 7

#: entries of S.bus_totals (sim/model/transport.py)
TOTAL_BUSES, TOTAL_BUS_KM, TOTAL_COST, TOTAL_RIDERS, TOTAL_UNSERVED = 0, 1, 2, 3, 4
N_TOTALS = 5

class Field(NamedTuple):
    """One field of the agent state: a numpy array per replicate, one entry per agent (or per
    village, choice slot, ...: `axis`), declared once here. From these tables come the named
    tuples below, the generated kernels of sim/core/kernels/generated.py (a replicate's view
    into batch state, a newborn child's record: `python -m sim.model.codegen`), the base
    state's defaults (sim/model/build.py), the batch state (sim/model/engine.py) and the
    fields the engine-agreement test compares (sim/reference/agreement.py)."""

    name: str
    dtype: str      #: numpy dtype of one entry
    axis: str       #: what the first axis counts: school, node, slot (choice-set cache), total
                    #: (N_TOTALS), household, child, one (a single value)
    shape: str      #: further axes ("": none; e.g. "10" grades 0-9, "years+1", "k")
    fresh: float | None  #: value of a new entry (a newborn child, a default); None: no default
    unit: str       #: what one entry measures
    compare: bool = False  #: compared agent by agent between the numba and Mesa engines
    read_before_set: bool = True  #: False: a fresh batch need not copy the base state


#: school state of one replicate
SCHOOL_FIELDS = (
    Field("open", "bool", "school", "", None, "open this year", True),
    Field("level", "int8", "school", "", None,
          "current level (a village primary may become a teaching point)", True),
    Field("lo", "int8", "school", "", None, "lowest grade taught"),
    Field("hi", "int8", "school", "", None, "highest grade taught", True),
    Field("classes", "int32", "school", "", None,
          "classes each grade may hold (plan actions may add)", True),
    Field("canteen", "int32", "school", "", -1,
          "canteen places; -1 = not known (the capacity check skips it)", True),
    Field("beds", "int32", "school", "", 0, "boarding beds", True),
    Field("beds_used", "int32", "school", "", 0, "boarding beds in use"),
    Field("received", "bool", "school", "", False, "has received a closed school's pupils"),
    Field("closed_year", "int32", "school", "", -1, "year it closed; -1 while open"),
    Field("enrol", "int32", "school", "10", 0, "pupils by grade (column 0 unused)", True),
    Field("last_enrol", "int32", "school", "", 0, "pupils at the end of last year"),
    Field("last_enrol_g", "int32", "school", "10", 0, "pupils by grade at the end of last year"),
    Field("base_enrol", "int32", "school", "", -1, "pupils in the base year (-1: opened later)"),
    Field("events", "int32", "school", "years+1", 0,
          "EV_* flags of what happened each year", True),
    Field("receiver", "int32", "school", "", -1,
          "school that took this school's pupils (closed) or upper grades (kept as a teaching "
          "point), or would have (deferred, or kept by the travel exemption); -1 if none"),
    # this year's student bus service, set from sim.model.transport between closures and enrolment
    Field("bus_dest", "int32", "node", "", -1, "node the village's bus line goes to, -1 if none"),
    Field("bus_grades", "int32", "node", "", 0, "bit g set if pupils of grade g may ride the line"),
    Field("bus_door", "float32", "node", "", 0.0,
          "door-to-school minutes by bus (walk, wait, ride)"),
    Field("bus_ride", "float32", "node", "", 0.0, "minutes on the bus (morning, mean)"),
    Field("bus_yuan", "float32", "node", "", 0.0,
          "yearly cost of the service per rider (yuan per year)"),
    Field("bus_totals", "float64", "total", "", 0.0,
          "buses, bus-km per day, cost (yuan per year), planned riders, villages left without a "
          "line (TOTAL_*)"),
    Field("version", "int64", "one", "", 0,
          "bumped whenever the plan changes what is open or taught, or where beds are: every "
          "choice set is rebuilt"),
    Field("bus_version", "int64", "node", "", 0,
          "bumped when the village's bus line changes (destination, grades or door-to-school "
          "minutes): its choice sets are rebuilt"),
    # choice-set cache, one slot per (node, grade, family has motorbike/car): slot = choice_slot()
    Field("cand_school", "int32", "slot", "k", -1,
          "schools a pupil there may attend, nearest first", read_before_set=False),
    Field("cand_time", "float32", "slot", "k", 0.0,
          "one-way day travel time by the fastest mode, minutes", read_before_set=False),
    Field("cand_mode", "int8", "slot", "k", 0, "that day mode (dt.WALK / dt.BUS / dt.PRIVATE)",
          read_before_set=False),
    Field("cand_n", "int32", "slot", "", 0, "entries in use", read_before_set=False),
    Field("cand_version", "int64", "slot", "", -1,
          "`version` the slot was built for (-1: never)"),
    Field("cand_bus_version", "int64", "slot", "", -1,
          "its village's `bus_version` when the slot was built"),
)

#: households of one replicate
HOUSEHOLD_FIELDS = (
    Field("node", "int32", "household", "", None, "where the household lives", True),
    Field("hardship", "bool", "household", "", None, "in hardship", True),
    Field("access", "bool", "household", "", None, "motorbike or car for the school run"),
    Field("parents", "int8", "household", "", None,
          "parents present (2, 1, 0); < 2 means children are left behind", True),
    Field("away", "bool", "household", "", None,
          "the whole household lives outside the county", True),
    Field("head_age", "int8", "household", "", None, "years"),
    Field("w_dist", "float64", "household", "", None, "utility per minute"),
    Field("w_quality", "float64", "household", "", None, "utility per unit quality"),
    Field("w_cost", "float64", "household", "", None, "utility per 1000 yuan"),
    Field("income", "float64", "household", "", None, "yuan per year"),
    Field("first_child", "int32", "household", "", -1,
          "head of the household's list of children, -1 if none"),
    Field("far", "bool", "household", "", False,
          "a child travelled over 45 minutes last year", True),
)

#: children of one replicate (space reserved for births); `fresh` is a newborn's record
CHILD_FIELDS = (
    Field("hh", "int32", "child", "", None, "household", True),
    Field("next_sibling", "int32", "child", "", None,
          "next child of the same household, -1 at the end"),
    Field("age", "int8", "child", "", 0, "years", True),
    Field("female", "bool", "child", "", None, "female"),
    Field("grade", "int8", "child", "", 0, "1-9 while in school", True),
    Field("school", "int32", "child", "", -1, "school attended, -1 when none", True),
    Field("mode", "int8", "child", "", dt.MODE_NONE, "travel mode (dt.*)", True),
    Field("status", "int8", "child", "", dt.PRESCHOOL, "status code (dt.*)", True),
    Field("travel", "float32", "child", "", 0.0, "one-way minutes to school", True),
    Field("cost", "float32", "child", "", 0.0, "family cost of schooling, yuan per year", True),
    Field("achievement", "float32", "child", "", 0.0,
          "achievement relative to staying in the school it had (SD units, either sign: "
          "sim/core/kernels/achievement.py)", True),
    Field("schooling", "float32", "child", "", 0.0, "years of schooling completed", True),
    Field("moved_from", "int32", "child", "", -1,
          "the school the plan closed or downgraded under the pupil this year (-1: none)"),
    Field("n_used", "int64", "one", "", None, "children records in use"),
)

Schools = namedtuple("Schools", [f.name for f in SCHOOL_FIELDS])
Households = namedtuple("Households", [f.name for f in HOUSEHOLD_FIELDS])
Children = namedtuple("Children", [f.name for f in CHILD_FIELDS])
#: the three state tables by the names the kernels give them (S, H, C)
STATE_TABLES = {"S": (Schools, SCHOOL_FIELDS), "H": (Households, HOUSEHOLD_FIELDS),
                "C": (Children, CHILD_FIELDS)}
