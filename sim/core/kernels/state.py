"""Named tuples of arrays handed to the kernels (struct-of-arrays). No numba code here.

Field units: times in minutes (one way), distances in km, money in yuan per year.
"""

from collections import namedtuple

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

#: school state of one replicate
Schools = namedtuple("Schools", [
    "open",          # bool
    "level",         # int8: current level (a village primary may become a teaching point)
    "lo", "hi",      # int8: grades taught
    "classes",       # int32: classes each grade may hold (plan actions may add)
    "canteen",       # int32: canteen places; -1 = not known (the capacity check skips it)
    "beds",          # int32: boarding beds
    "beds_used",     # int32
    "received",      # bool: has received a closed school's pupils
    "closed_year",   # int32: -1 while open
    "enrol",         # int32 (schools, 10): pupils by grade (column 0 unused)
    "last_enrol",    # int32: pupils at the end of last year
    "last_enrol_g",  # int32 (schools, 10)
    "base_enrol",    # int32: pupils in the base year
    "events",        # int32 (schools, years + 1): EV_* flags of what happened each year
    "receiver",      # int32: school that took this school's pupils (closed) or upper grades
                     #   (kept as a teaching point), or would have (deferred, or kept by
                     #   the travel exemption); -1 if none
    # this year's student bus service, set from sim.model.transport between closures and enrolment
    "bus_dest",      # int32 (nodes): node the village's bus line goes to, -1 if none
    "bus_grades",    # int32 (nodes): bit g set if pupils of grade g may ride the line
    "bus_door",      # float32 (nodes): door-to-school minutes by bus (walk, wait, ride)
    "bus_ride",      # float32 (nodes): minutes on the bus (morning, mean)
    "bus_yuan",      # float32 (nodes): yearly cost of the service per rider (yuan per year)
    "bus_totals",    # float64 (5,): buses, bus-km per day, cost (yuan per year), planned riders,
                     #   villages left without a line
    "version",       # int64 (1,): bumped whenever closures change what is open, taught or served
    # choice-set cache, one slot per (node, grade, family has motorbike/car): slot = choice_slot()
    "cand_school",   # int32 (slots, k): schools a pupil there may attend, nearest first
    "cand_time",     # float32 (slots, k): one-way day travel time by the fastest mode, minutes
    "cand_mode",     # int8 (slots, k): that day mode (dt.WALK / dt.BUS / dt.PRIVATE)
    "cand_n",        # int32 (slots): entries in use
    "cand_version",  # int64 (slots): `version` the slot was built for (-1: never)
])

#: households of one replicate
Households = namedtuple("Households", [
    "node",         # int32: where the household lives
    "hardship",     # bool
    "access",       # bool: motorbike or car for the school run
    "parents",      # int8: parents present (2, 1, 0); < 2 means children are left behind
    "away",         # bool: the whole household lives outside the county
    "head_age",     # int8: years
    "w_dist",       # float64: utility per minute
    "w_quality",    # float64: utility per unit quality
    "w_cost",       # float64: utility per 1000 yuan
    "income",       # float64: yuan per year
    "first_child",  # int32: head of the household's list of children, -1 if none
    "far",          # bool: a child travelled over 45 minutes last year
])

#: children of one replicate (space reserved for births)
Children = namedtuple("Children", [
    "hh",            # int32
    "next_sibling",  # int32: next child of the same household, -1 at the end
    "age",           # int8: years
    "female",        # bool
    "grade",         # int8: 1-9 while in school
    "school",        # int32: -1 when none
    "mode",          # int8: dt travel mode
    "status",        # int8: dt status code
    "travel",        # float32: one-way minutes to school
    "cost",          # float32: family cost of schooling, yuan per year
    "achievement",   # float32: achievement relative to staying in the school it had (SD
                     #   units, either sign: sim/core/kernels/achievement.py)
    "schooling",     # float32: years of schooling completed
    "moved_from",    # int32: the school the plan closed or downgraded under the pupil this
                     #   year (-1: none)
    "n_used",        # int64 (1,): children records in use
])
