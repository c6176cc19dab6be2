"""The reference model: SchoolFlow's behaviour as Mesa 3 agents, written for reading.

Households, pupils (children of every age) and schools are Mesa agents; one `step()` is one
school year. Each rule of the annual cycle is one short method of `SchoolFlowModel`, in the order
`step` calls them. The numba core (`sim/core/kernels/`) implements the same rules for speed; the two
engines read the same scenario file and the same county, draw the same counter-based random
numbers (keyed by replicate seed, year, agent and decision), and are checked against each other
(`tests/test_engines.py`, `benchmarks/engines.py`).

Units: minutes (one-way travel), km, pupils, yuan per year.
"""

from __future__ import annotations

import math
import time

import mesa
import numpy as np

from sim.core import dtypes as dt
from sim.core import rng, rules
from sim.core.indicators import N_INDICATORS, ROW
from sim.core.kernels import counter_rng
from sim.core.kernels import state as ev
from sim.core.kernels.record import N_BINS
from sim.model import build, engine, transport
from sim.model.affected import Affected, ChildYear, SchoolTrack, SchoolYear, tally
from sim.model.arrays import school_pupils_by_level
from sim.model.scenario import Scenario

#: levels a village school merges out of (its receiving school is of another level)
VILLAGE_LEVELS = (1 << dt.TEACHING_POINT) | (1 << dt.VILLAGE_PRIMARY)

#: series the data collector keeps each year (chart label: indicator, level), for the web view
LIVE_CHARTS = {
    "dropout rate": ("dropout_rate", "all"),
    "classes over the cap": ("share_classes_over_standard", "all"),
    "classes 56+ / 61+": ("share_classes_very_large", "all"),
    "travel p95, primary (min)": ("travel_time_p95_min", "primary"),
}


def cap_for(grade: int, p) -> float:
    """Class-size cap of a grade (pupils): the primary or the junior cap."""
    return rules.class_cap(grade, p.cap_primary, p.cap_junior)


class School(mesa.Agent):
    """A school: where it stands, the grades it teaches, its classes, beds and pupils."""

    def __init__(self, model: SchoolFlowModel, sid: int):
        super().__init__(model)
        w = model.world
        self.sid = sid
        self.node = int(w.school_node[sid])
        self.level = int(w.school_level[sid])
        self.lo, self.hi = dt.LEVEL_GRADES[self.level]
        self.classes = int(w.school_classes_per_grade[sid])  # per grade; plan actions may add
        self.beds = int(w.school_beds[sid])
        self.canteen = int(w.school_canteen[sid])  # -1: not known (the capacity check skips it)
        self.quality = float(w.school_quality[sid])
        self.open = not w.planned()[sid]  # a school the plan opens starts closed
        self.received = False       # has taken in a closed school's pupils
        self.closed_year = -1
        self.receiver: School | None = None  # who took its pupils (or its upper grades)
        self.enrol = np.zeros(dt.N_GRADES + 1, np.int64)  # pupils by grade this year
        self.beds_used = 0
        self.last_enrol_g = np.zeros(dt.N_GRADES + 1, np.int64)  # at the end of last year
        self.base_enrol = -1        # pupils in the base year
        #: what the plan did to it each year (EV_* flags of sim/core/kernels/state.py)
        self.events = np.zeros(model.scenario.years + 1, np.int32)

    def teaches(self, grade: int) -> bool:
        return self.open and self.lo <= grade <= self.hi

    @property
    def last_enrol(self) -> int:
        return int(self.last_enrol_g.sum())

    def seats(self, grade: int, p) -> int:
        return rules.grade_seats(grade, self.classes, p.cap_primary, p.cap_junior)


class Household(mesa.Agent):
    """A family: where it lives, whether parents are away, its means and school preferences."""

    def __init__(self, model: SchoolFlowModel, hid: int):
        super().__init__(model)
        pop = model.population
        self.hid = hid
        self.node = int(pop.hh_node[hid])
        self.hardship = bool(pop.hh_hardship[hid])
        self.access = bool(pop.hh_access[hid])     # motorbike or car for the school run
        self.parents = int(pop.hh_parents[hid])    # parents at home: 2, 1 or 0
        self.away = bool(pop.hh_away[hid])         # the whole family lives outside the county
        self.head_age = int(pop.hh_head_age[hid])
        self.w_dist = float(pop.hh_w_dist[hid])    # utility per minute
        self.w_quality = float(pop.hh_w_quality[hid])
        self.w_cost = float(pop.hh_w_cost[hid])    # utility per 1000 yuan
        self.income = float(pop.hh_income[hid])
        self.children: list[Pupil] = []            # youngest first
        self.far = False                           # a day pupil travelled over rules.FAR_MIN last year


class Pupil(mesa.Agent):
    """A child of the household, from birth to grade 9: status, grade, school, mode of travel."""

    def __init__(self, model: SchoolFlowModel, cid: int, household: Household, age: int,
                 female: bool):
        super().__init__(model)
        self.cid = cid
        self.household = household
        self.age = age
        self.female = female
        if age < dt.SCHOOL_ENTRY_AGE:
            self.status, self.grade = dt.PRESCHOOL, 0
        elif age <= rules.LAST_SCHOOL_AGE_AT_START:
            self.status, self.grade = dt.ENROLLED, rules.grade_for_age(age)
        else:
            self.status, self.grade = dt.GRADUATED, 0
        self.school: School | None = None
        self.mode = dt.MODE_NONE
        self.travel = 0.0  # one-way minutes
        self.cost = 0.0    # family cost, yuan per year
        self.achievement = 0.0  # SD units against staying in the school it had (either sign)
        #: years of schooling completed: a base-year pupil aged a has completed a - 6
        self.schooling = float(min(max(age - dt.SCHOOL_ENTRY_AGE, 0), dt.N_GRADES))
        self.moved_from = None  # the school the plan closed or downgraded under it this year

    def leave_school(self) -> None:
        self.school = None
        self.mode = dt.MODE_NONE


class SchoolFlowModel(mesa.Model):
    """One replicate of a scenario. `step()` simulates one school year; the base year (year 0)
    is simulated on construction. `indicators[year]` is that year's (indicator, level) array,
    in the order of `sim.outputs.metrics.INDICATORS`."""

    def __init__(self, scenario: Scenario, replicate: int = 0, built: build.Model | None = None):
        super().__init__(rng=int(scenario.seed) + replicate)
        built = built or build.build_model(scenario)
        self.scenario, self.world, self.population = scenario, built.world, built.population
        self.p, self.w, self.rules, self.bus = (built.replicate_params(replicate), built.W,
                                                built.R, built.bus)
        self.actions = built.A
        self.bus_from = built.bus_years()
        self.seed = rng.replicate_seeds(scenario.seed, replicate, replicate + 1)[0]
        self.year = 0
        self.closed = self.deferred_total = self.exempted = 0  # cumulative counts
        self.aged_out = 0  # this year: unplaced children past compulsory-school age
        self.graduates = self.senior_entries = 0  # this year: grade-9 finishers, of them entrants
        self.returned = 0  # this year: dropouts brought back to school
        self.schools = [School(self, s) for s in range(self.world.n_schools)]
        self.households = [Household(self, h) for h in range(self.population.n_households)]
        self.pupils: list[Pupil] = []  # every child record, by id (births append)
        pop = self.population
        for c in range(pop.n_children):
            hh = self.households[int(pop.child_hh[c])]
            kid = Pupil(self, c, hh, int(pop.child_age[c]), bool(pop.child_female[c]))
            if pop.child_school is not None and pop.child_school[c] >= 0:  # on a school roll
                kid.school = self.schools[int(pop.child_school[c])]
                kid.mode = int(pop.child_mode[c])
                kid.travel = float(pop.child_travel[c])
                kid.cost = float(np.float32(self.family_cost(kid.mode, hh, kid.school)))
            self.pupils.append(kid)
            hh.children.append(kid)
        self.bus_network = self.bus.empty()
        self.bus_network_ids: list[int] = []  # per year: index in built.bus.networks, -1 none
        self.indicators: list[np.ndarray] = []
        self.at_risk = np.zeros(dt.N_GRADES + 1, np.int64)
        self.dropped = np.zeros(dt.N_GRADES + 1, np.int64)
        self.datacollector = mesa.DataCollector(model_reporters={
            label: (lambda m, name=name, lv=lv: m.indicator(name, lv))
            for label, (name, lv) in LIVE_CHARTS.items()})
        self.school_year()

    # --- the annual cycle ------------------------------------------------------------------
    def step(self) -> None:
        """One school year after the base year."""
        self.year += 1
        self.age_and_progress()
        self.household_events()
        self.close_schools()  # named plan actions first, then the closure rules
        self.set_up_bus_lines()
        self.school_year()

    def school_year(self) -> None:
        """The part of a year every year has: seats, placement, dropout, what next year's rules
        need, indicators."""
        self.keep_or_release_pupils()
        self.place_pupils()
        self.achievement()
        self.dropouts()
        self.remember_year()
        self.record()

    def draw(self, agent_id: int, decision: int) -> float:
        """The counter-based uniform draw of this replicate, year, agent and decision."""
        return counter_rng.uniform(self.seed, self.year, agent_id, decision)

    def age_and_progress(self) -> None:
        """Everyone ages; pupils complete a year of schooling and move up a grade; grade-9
        finishers enter senior high at the county seat (`enters_senior_high`) or leave school;
        senior-high students complete a year (three grades); six-year-olds start school; pupils
        whose school does not teach their new grade need a new one, and families choose again
        when boarding opens and at the start of junior grades (`rules.chooses_again`); a child still without a
        place past compulsory-school age leaves as out of school."""
        self.aged_out = self.graduates = self.senior_entries = self.returned = 0
        for kid in self.pupils:
            kid.age += 1
            if kid.status == dt.ENROLLED:
                kid.schooling += 1.0
                kid.grade += 1
                if kid.grade > dt.N_GRADES:
                    kid.leave_school()
                    self.graduates += 1
                    if self.enters_senior_high(kid):
                        kid.status = dt.SENIOR_HIGH
                        self.senior_entries += 1
                    else:
                        kid.status = dt.GRADUATED
                elif kid.school is not None and (kid.grade > kid.school.hi or (
                        self.p.choose_at_stages > 0
                        and rules.chooses_again(kid.grade, int(self.p.board_min_grade)))):
                    kid.school = None  # a new school, or the family chooses again
            elif kid.status == dt.SENIOR_HIGH:
                kid.schooling += 1.0
                kid.grade += 1
                if kid.grade > dt.LAST_SENIOR_GRADE:
                    kid.status = dt.GRADUATED
            elif kid.status == dt.PRESCHOOL and kid.age >= dt.SCHOOL_ENTRY_AGE:
                kid.status, kid.grade = dt.ENROLLED, 1
            elif kid.status == dt.UNPLACED and kid.age > rules.COMPULSORY_AGE_LIMIT:
                kid.status = dt.DROPPED_OUT
                self.aged_out += 1
            elif (kid.status == dt.DROPPED_OUT and self.p.return_share > 0
                  and kid.age <= rules.COMPULSORY_AGE_LIMIT
                  and self.draw(kid.cid, counter_rng.BACK_TO_SCHOOL) < self.p.return_share):
                kid.status, kid.school = dt.ENROLLED, None  # back at the grade it left
                self.returned += 1

    def enters_senior_high(self, kid: Pupil) -> bool:
        """A grade-9 finisher enters senior high with a logistic probability in achievement,
        sex and one-way minutes to the county seat."""
        p = self.p
        z = p.logit_senior_entry + p.b_senior_achievement * float(np.float32(kid.achievement))
        z += p.b_senior_female if kid.female else 0.0
        z += p.b_senior_per_10min * float(self.w.seat_min[kid.household.node]) / 10.0
        return self.draw(kid.cid, counter_rng.SENIOR_ENTRY) < 1.0 / (1.0 + math.exp(-z))

    def household_events(self) -> None:
        """Per household, in order: absent parents return; a parent leaves to work (children
        left behind), or the family leaves the county with its children; a village family moves
        to its township centre or the county seat (likelier when a child travels far); a birth,
        with fertility falling each year (and scaled to the county's births projection)."""
        p = self.p
        trend = (1.0 - p.fertility_decline) ** self.year * self.w.birth_scale[self.year]
        for hh in self.households:
            if hh.away:
                self.family_away(hh)
            else:
                self.parents_move(hh) or self.family_moves(hh)
                if not hh.away:
                    self.birth(hh, trend)
            hh.head_age += 1

    def family_away(self, hh: Household) -> None:
        """A family outside the county may come back; its children return to school."""
        if self.draw(hh.hid, counter_rng.RETURN) >= self.p.return_prob:
            return
        hh.away, hh.parents = False, 2
        for kid in hh.children:
            if kid.status != dt.MIGRATED:
                continue
            if kid.age < dt.SCHOOL_ENTRY_AGE:
                kid.status = dt.PRESCHOOL
            elif kid.age <= rules.LAST_SCHOOL_AGE_AT_START:
                kid.status, kid.school = dt.ENROLLED, None
                kid.grade = min(rules.grade_for_age(kid.age), dt.N_GRADES)

    def parents_move(self, hh: Household) -> bool:
        """Absent parents return, or a parent leaves; returns True if the family left with its
        children (nothing else happens to it this year)."""
        p = self.p
        if hh.parents < 2 and self.draw(hh.hid, counter_rng.RETURN) < p.return_prob:
            hh.parents = 2
        elif hh.parents > 0 and self.draw(hh.hid, counter_rng.OUT_MIGRATION) < p.out_migration:
            if self.draw(hh.hid, counter_rng.TAKE_CHILDREN) < p.take_children:
                hh.away = True
                for kid in hh.children:
                    if kid.status in (dt.ENROLLED, dt.UNPLACED, dt.PRESCHOOL):
                        kid.status = dt.MIGRATED
                        kid.leave_school()
                return True
            hh.parents -= 1
        return False

    def family_moves(self, hh: Household) -> None:
        """A village family moves to town or to the county seat; its pupils change school."""
        p = self.p
        if self.w.node_kind[hh.node] != 0:
            return
        u = self.draw(hh.hid, counter_rng.MOVE)
        if u >= p.move_town + p.move_seat + (p.move_if_far if hh.far else 0.0):
            return
        if u < p.move_seat:
            hh.node = int(self.w.seat_node[0])
        else:
            hh.node = int(self.w.township_centre[self.w.node_township[hh.node]])
        for kid in hh.children:
            if kid.status == dt.ENROLLED:
                kid.school = None

    def birth(self, hh: Household, trend: float) -> None:
        """A baby is born with the head's age-specific probability, falling by `trend`."""
        p, age = self.p, hh.head_age
        (a, b), (c, d) = rules.BIRTH_AGES_HIGH, rules.BIRTH_AGES_LOW
        pb = p.birth_20_34 if a <= age <= b else (p.birth_35_44 if c <= age <= d else 0.0)
        if pb > 0.0 and self.draw(hh.hid, counter_rng.BIRTH) < pb * trend:
            cid = len(self.pupils)
            girl = self.draw(cid, counter_rng.SEX) < rules.FEMALE_SHARE_AT_BIRTH
            kid = Pupil(self, cid, hh, 0, girl)
            self.pupils.append(kid)
            hh.children.insert(0, kid)

    def close_schools(self) -> None:
        """This year's named plan actions (`apply_actions`), then its closure rules
        (`close_by_rule`); schools with a deferred closure are counted once."""
        reserved = {"seats": {}, "beds": {}, "canteen": {}}
        self.apply_actions(reserved)
        for r in range(len(self.rules.year)):
            if self.rules.year[r] == self.year:
                self.close_by_rule(r, reserved)
        self.deferred_total += sum(bool(s.events[self.year] & ev.EV_DEFERRED) for s in self.schools)

    def apply_actions(self, reserved: dict) -> None:
        """The plan's named actions of this year in the order open, expand, downgrade, close:
        a school opens; gains classes per grade, beds and canteen places; keeps grades 1 to
        `hi` only (its upper grades go to the nearest school teaching them); or closes into
        the named receiving school (else the nearest, as for rules) if it has room."""
        a, y = self.actions, self.year
        for kind in (ev.ACT_OPEN, ev.ACT_EXPAND, ev.ACT_DOWNGRADE, ev.ACT_CLOSE):
            for i in range(len(a.year)):
                if a.year[i] != y or a.kind[i] != kind:
                    continue
                s = self.schools[int(a.school[i])]
                if kind == ev.ACT_OPEN:
                    s.open = True
                    s.events[y] |= ev.EV_OPENED | ev.EV_BY_ACTION
                elif kind == ev.ACT_EXPAND:
                    s.classes += int(a.classes[i])
                    s.beds += int(a.beds[i])
                    if a.canteen[i] > 0:
                        s.canteen = max(s.canteen, 0) + int(a.canteen[i])
                    s.events[y] |= ev.EV_EXPANDED
                elif not s.open:
                    continue  # closed in an earlier year
                elif kind == ev.ACT_DOWNGRADE:
                    if s.hi > a.hi[i]:
                        rs, _ = self.nearest_teaching(s, int(a.hi[i]) + 1, s.hi, 0)
                        s.hi, s.level, s.receiver = int(a.hi[i]), dt.TEACHING_POINT, rs
                    s.events[y] |= ev.EV_DOWNGRADED | ev.EV_BY_ACTION
                else:
                    if a.receiver[i] >= 0:
                        rs = self.schools[int(a.receiver[i])]
                        t = float(self.planning_times()[s.node, rs.sid])
                        if not rs.open or rs.lo > s.lo or rs.hi < s.hi:
                            rs = None
                    else:
                        village = (VILLAGE_LEVELS >> s.level) & 1
                        rs, t = self.receiving_school(s, VILLAGE_LEVELS if village else 0)
                    missing = self.try_close(s, rs, t, reserved)
                    s.events[y] |= missing | ev.EV_BY_ACTION
                    self.closed += missing == 0

    def close_by_rule(self, r: int, reserved: dict) -> None:
        """Close open schools of the rule's levels with fewer pupils than `below` last year: all
        of them, or enough to reach `share` of the base year's such schools; smallest first or
        least added pupil-minutes first; schools a named action handled this year are left
        alone. A school whose pupils would travel beyond the exemption limit keeps its lower
        grades (as a teaching point). Closing goes through `try_close` (the capacity check)."""
        p, rules = self.p, self.rules
        mask, below, share = int(rules.levels[r]), int(rules.below[r]), rules.share[r]
        cands = [s for s in self.schools if s.open and (mask >> s.level) & 1
                 and s.last_enrol < below and not s.events[self.year] & ev.EV_BY_ACTION]
        if math.isnan(share):
            target = len(cands)
        else:
            base = [s for s in self.schools
                    if (mask >> int(self.w.school_level0[s.sid])) & 1 and 0 <= s.base_enrol < below]
            target = math.ceil(share * len(base) - 1e-9) - sum(not s.open for s in base)
        if target <= 0 or not cands:
            return
        excluded = int(rules.excluded[r])  # levels that may not receive
        options = [(s, *self.receiving_school(s, excluded)) for s in cands]
        if rules.ranking[r] == dt.SMALLEST_FIRST:
            options.sort(key=lambda o: o[0].last_enrol)  # stable: school order breaks ties
        else:
            options.sort(key=lambda o: o[0].last_enrol * o[2])
        done = 0
        for s, rs, t in options:
            if done >= target:
                break
            if rs is not None and not rs.open:  # closed a moment ago: look again
                rs, t = self.receiving_school(s, excluded)
            if rs is not None and p.exempt_over_min >= 0 and t > p.exempt_over_min:
                s.receiver = rs  # where its pupils would have gone (upper grades go)
                if s.hi > p.exempt_hi_grade:  # kept for the lower grades
                    s.hi, s.level = int(p.exempt_hi_grade), dt.TEACHING_POINT
                # an event every year a rule keeps it (a teaching point too), counted once
                if not any(s.events[y] & ev.EV_EXEMPTED for y in range(self.year + 1)):
                    self.exempted += 1
                s.events[self.year] |= ev.EV_EXEMPTED
                continue
            missing = self.try_close(s, rs, t, reserved)
            if missing:
                s.events[self.year] |= missing
                continue
            self.closed += 1
            done += 1

    def planning_times(self) -> np.ndarray:
        """(nodes, schools) one-way minutes closures plan with: by bus where bus lines will
        serve closed villages, else on foot."""
        return self.w.t_bus if self.p.bus_on > 0 else self.w.t_walk

    def nearest_teaching(self, s: School, lo: int, hi: int, mask: int) -> tuple[School | None, float]:
        """The nearest open school other than s (by `planning_times`) teaching grades lo..hi
        whose level is not in the bit `mask`; and that time."""
        times = self.planning_times()
        best, best_t = None, math.inf
        for s2 in self.schools:
            if s2 is s or not s2.open or s2.lo > lo or s2.hi < hi or (mask >> s2.level) & 1:
                continue
            t = float(times[s.node, s2.sid])
            if t < best_t:
                best, best_t = s2, t
        return best, best_t

    def receiving_school(self, s: School, mask: int) -> tuple[School | None, float]:
        """The receiving school for all of s's grades, not of a level the rule closes."""
        return self.nearest_teaching(s, s.lo, s.hi, mask)

    def try_close(self, s: School, rs: School | None, t: float, reserved: dict) -> int:
        """Close s into rs if the receiving capacity check allows: seats for s's pupils,
        canteen places where the receiver's are known, and beds for its boarding-age pupils when
        the new trip is beyond the day-travel limit (all reserved for this year). Returns 0
        when closed, else the EV_DEFER_* flags of what was missing."""
        if rs is None:
            return ev.EV_DEFER_RECEIVER
        p = self.p
        pupils = s.last_enrol
        if p.capacity_check > 0:
            need_beds = 0
            if t > p.max_travel_min:
                need_beds = int(sum(s.last_enrol_g[g]
                                    for g in range(max(s.lo, int(p.board_min_grade)), s.hi + 1)))
            free_seats = sum(rs.seats(g, p) - rs.last_enrol_g[g] for g in range(s.lo, s.hi + 1))
            free_seats -= reserved["seats"].get(rs.sid, 0)
            new_beds = 0 if rs.received else int(p.beds_per_receiver)
            free_beds = rs.beds + new_beds - rs.beds_used - reserved["beds"].get(rs.sid, 0)
            free_canteen = rs.canteen - reserved["canteen"].get(rs.sid, 0)
            missing = ((ev.EV_DEFER_SEATS if free_seats < pupils else 0)
                       | (ev.EV_DEFER_BEDS if free_beds < need_beds else 0)
                       | (ev.EV_DEFER_CANTEEN if rs.canteen >= 0 and free_canteen < pupils else 0))
            if missing:
                s.receiver = rs  # the school that would have received its pupils
                return missing
            reserved["beds"][rs.sid] = reserved["beds"].get(rs.sid, 0) + need_beds
            reserved["canteen"][rs.sid] = reserved["canteen"].get(rs.sid, 0) + pupils
        reserved["seats"][rs.sid] = reserved["seats"].get(rs.sid, 0) + pupils
        s.open, s.closed_year, s.receiver = False, self.year, rs
        s.events[self.year] = (s.events[self.year] & ~ev.EV_DEFERRED) | ev.EV_CLOSED
        rs.events[self.year] |= ev.EV_RECEIVED
        if not rs.received:
            rs.received = True
            rs.beds += int(p.beds_per_receiver)
        return 0

    def set_up_bus_lines(self) -> None:
        """Every year from the plan's first, plan and simulate the student bus lines of the
        school network for this year's pupils (sim/model/transport.py: simpy school day, shared
        with the numba engine)."""
        if self.year < self.bus_from:
            return
        s = self.schools
        kids = self.pupils
        demand = transport.rider_demand(
            np.array([k.household.node for k in kids], np.int64),
            np.array([k.grade for k in kids], np.int64),
            np.array([k.status for k in kids], np.int64),
            np.array([k.household.access for k in kids], bool), self.world.n_nodes)
        idx = self.bus.network_id(np.array([x.open for x in s]), np.array([x.lo for x in s]),
                                  np.array([x.hi for x in s]),
                                  np.array([-1 if x.receiver is None else x.receiver.sid for x in s]),
                                  demand)
        self.bus_network = self.bus.networks[idx]
        self.bus_network_id = idx

    def bus_option(self, hh: Household, school: School, grade: int) -> float | None:
        """Door-to-school minutes by the village's bus line, if it goes to `school` for `grade`."""
        net, v = self.bus_network, hh.node
        if net.dest[v] == school.node and (int(net.grades[v]) >> grade) & 1:
            return float(np.float32(net.door_min[v]))
        return None

    def keep_or_release_pupils(self) -> None:
        """Pupils stay at their school if it is open and teaches their grade (bus riders also
        need their line, within the day-travel limit, and take this year's ride time and fare);
        count seats and beds."""
        for s in self.schools:
            s.enrol[:] = 0
            s.beds_used = 0
        for kid in self.pupils:
            if kid.status != dt.ENROLLED or kid.school is None:
                continue
            s = kid.school
            if not s.teaches(kid.grade):
                kid.school = None
                kid.moved_from = s  # the plan closed or downgraded its school
                continue
            if kid.mode == dt.BUS:
                door = self.bus_option(kid.household, s, kid.grade)
                if door is None or door > self.p.max_travel_min:
                    kid.school = None
                    continue
                kid.travel = door
                kid.cost = self.family_cost(dt.BUS, kid.household, s)
            s.enrol[kid.grade] += 1
            s.beds_used += kid.mode == dt.BOARDING

    def family_cost(self, mode: int, hh: Household, school: School) -> float:
        """The family's yearly cost of schooling by this mode (yuan per year)."""
        p = self.p
        if mode == dt.BUS:
            full = float(np.float32(self.bus_network.yuan_per_rider[hh.node]))
            return min(p.parent_fare_day * p.school_days, full) if p.parent_fare_day >= 0 \
                else p.parent_fare_share * full
        if mode == dt.PRIVATE:
            km = float(self.w.km[hh.node, school.sid])
            return p.private_per_km * km * rules.PRIVATE_TRIPS_PER_DAY * p.school_days
        if mode == dt.BOARDING:
            return max(p.boarding_family_share * p.boarder_cost
                       - (p.hardship_subsidy if hh.hardship else 0.0), 0.0)
        if mode == dt.RENTING:
            return p.rent
        return 0.0

    def place_pupils(self) -> None:
        """Every pupil without a school chooses one, in a random order (see `choose_school`)."""
        todo = [k for k in self.pupils if (k.status == dt.ENROLLED and k.school is None)
                or k.status == dt.UNPLACED]
        todo.sort(key=lambda k: self.draw(k.cid, counter_rng.ORDER))
        for kid in todo:
            self.choose_school(kid)

    def day_options(self, kid: Pupil) -> list[tuple[School, float, int]]:
        """Schools the pupil could attend, nearest first by car: (school, fastest day minutes,
        mode) by walking, the village's bus line, or the family's motorbike or car; kept if open,
        teaching the grade, and within the day limit or (grade and beds permitting) boardable."""
        p, w, hh, g = self.p, self.w, kid.household, kid.grade
        ranked = w.sorted_primary if g <= rules.LAST_PRIMARY_GRADE else w.sorted_junior
        out = []
        for sid in ranked[hh.node]:
            if sid < 0:
                break
            s = self.schools[sid]
            t_car = w.t_private[hh.node, sid]
            if t_car > p.max_board_trip_min or (t_car > p.max_travel_min and g < p.board_min_grade):
                break  # nothing further is reachable
            if not s.teaches(g):
                continue
            t, mode = w.t_walk[hh.node, sid], dt.WALK
            door = self.bus_option(hh, s, g)
            if door is not None and door < t:
                t, mode = np.float32(door), dt.BUS
            if hh.access and t_car < t:
                t, mode = t_car, dt.PRIVATE
            if t > p.max_travel_min and (g < p.board_min_grade or s.beds == 0):
                continue
            out.append((s, float(t), mode))
        return out

    def choose_school(self, kid: Pupil) -> None:
        """Among the first `candidates` options the pupil can take today (boarding where the
        day trip is over the limit, or over the boarding threshold, and a bed is free), take a
        school with a free seat: the least burden (catchment) or a multinomial-logit draw in
        burden, quality and family cost plus the school's constants calibrated to the rolls
        (its level's, and for a boarding place its boarding constant) (logit); burden = day
        minutes, or the boarding equivalent. If every option is full, the least burden. With no
        option, a family not in hardship may rent near the nearest school; otherwise the pupil
        waits a year."""
        p, hh, g = self.p, kid.household, kid.grade
        options = []
        for s, t, mode in self.day_options(kid):
            can_board = g >= p.board_min_grade and s.beds_used < s.beds
            if t > p.max_travel_min:
                if not can_board:
                    continue
                mode = dt.BOARDING
            elif t > p.board_over_min and can_board:
                mode = dt.BOARDING
            cost = self.family_cost(mode, hh, s)
            burden = (rules.boarding_burden(p.board_equiv_min,
                                            float(self.w.t_private[hh.node, s.sid]))
                      if mode == dt.BOARDING else t)
            # the school's constant for the grade's level, calibrated to the base-year rolls
            utility = (hh.w_dist * burden + hh.w_quality * s.quality + hh.w_cost * cost / 1000.0
                       + float(self.w.school_const[s.sid, rules.level_of_grade(g)]))
            if mode == dt.BOARDING:  # and its constant for boarding there (the rolls' boarders)
                utility += float(self.w.school_board_const[s.sid])
            options.append((s, mode, t, burden, cost, utility, s.enrol[g] < s.seats(g, p)))
            if len(options) >= p.candidates:
                break
        pick = self.pick(kid, options)
        if pick is not None:
            s, mode, t, _, cost, _, _ = pick
            kid.school, kid.mode, kid.travel, kid.cost, kid.status = s, mode, t, cost, dt.ENROLLED
            s.enrol[g] += 1
            s.beds_used += mode == dt.BOARDING
            return
        kid.leave_school()
        kid.travel, kid.cost, kid.status = 0.0, 0.0, dt.UNPLACED
        if not hh.hardship and self.draw(kid.cid, counter_rng.RENT) < p.rent_prob:
            ranked = self.w.sorted_primary if g <= rules.LAST_PRIMARY_GRADE else self.w.sorted_junior
            for sid in ranked[hh.node]:
                if sid >= 0 and self.schools[sid].teaches(g):
                    s = self.schools[sid]
                    kid.school, kid.mode, kid.travel, kid.cost = s, dt.RENTING, p.renting_min, p.rent
                    kid.status = dt.ENROLLED
                    s.enrol[g] += 1
                    break

    def pick(self, kid: Pupil, options: list) -> tuple | None:
        """The choice among options (school, mode, minutes, burden, cost, utility, has seat):
        logit: the free option of highest utility + the pupil's lasting taste for the school
        (a Gumbel draw per pupil and school, `counter_rng.taste`); catchment: least burden."""
        free = [o for o in options if o[6]]
        if self.p.choice_mode == dt.LOGIT and free:
            chosen, best = None, -math.inf
            for o in free:
                x = o[5] + counter_rng.taste(self.seed, kid.cid, o[0].sid)
                if x > best:
                    chosen, best = o, x
            return chosen
        pool = free or options
        return min(pool, key=lambda o: (o[3], o[2])) if pool else None

    def achievement(self) -> None:
        """Each placed pupil's achievement: last year's times the persistence, plus the effect
        of a move the plan forced this year (by grade at the move, and by the receiving school's
        quality against the old one's), plus the yearly boarding effect, less the toll of a day
        trip beyond 30 minutes (per 10 minutes) and of boarding below grade 4."""
        p = self.p
        for kid in self.pupils:
            old, kid.moved_from = kid.moved_from, None
            if kid.status != dt.ENROLLED or kid.school is None:
                continue
            a = float(np.float32(kid.achievement)) * p.ach_persistence
            if old is not None:
                a += (p.ach_move_young if kid.grade < rules.MOVED_YOUNG_BELOW_GRADE
                      else p.ach_move_older)
                a += p.ach_per_quality * (kid.school.quality - old.quality)
            travel = float(np.float32(kid.travel))
            if rules.is_day_pupil(kid.mode) and travel > rules.LOWER_OVER_MIN:
                a -= p.ach_per_10min * (travel - rules.LOWER_OVER_MIN) / 10.0
            if kid.mode == dt.BOARDING:
                a += p.ach_boarding
                if kid.grade < rules.YOUNG_BOARDING_BELOW_GRADE:
                    a -= p.ach_young_boarding
            kid.achievement = float(np.float32(a))

    def dropouts(self) -> None:
        """Each pupil drops out with an annual logistic hazard in travel time (steeper for
        girls), cost share of income, hardship, left-behind status, young boarding, level and
        school quality (coefficients: docs/parameters.md)."""
        p = self.p
        self.at_risk[:] = 0
        self.dropped[:] = 0
        if self.year == 0 and self.w.rolls_given[0]:
            return  # the base year of a county with rolls is the rolls as observed
        for kid in self.pupils:
            if kid.status != dt.ENROLLED or kid.school is None:
                continue
            hh, g, s = kid.household, kid.grade, kid.school
            z = p.logit_base_primary if g <= rules.LAST_PRIMARY_GRADE else p.logit_base_junior
            if kid.mode == dt.BOARDING:
                z += p.b_boarding  # boarding's own term; no daily trip
            else:
                z += ((p.b_travel_10min + (p.b_female_travel_10min if kid.female else 0.0))
                      * float(np.float32(kid.travel)) / 10.0)
            z += p.b_cost_share * (float(np.float32(kid.cost)) / hh.income)
            if hh.hardship:
                z += p.b_hardship
            if hh.parents < 2:  # left behind
                z += p.b_left_behind
            if kid.mode == dt.BOARDING and g < rules.YOUNG_BOARDING_BELOW_GRADE:
                z += p.b_young_boarding
            z += p.b_quality * (s.quality - rules.REFERENCE_QUALITY)
            z -= p.b_achievement * float(np.float32(kid.achievement))
            self.at_risk[g] += 1
            if self.draw(kid.cid, counter_rng.DROPOUT) < 1.0 / (1.0 + math.exp(-z)):
                self.dropped[g] += 1
                s.enrol[g] -= 1
                s.beds_used -= kid.mode == dt.BOARDING
                kid.status = dt.DROPPED_OUT
                kid.leave_school()

    def remember_year(self) -> None:
        """What next year's rules read: each school's pupils by grade (the closure rules' last
        year; in the base year also the closure targets' reference), and which families have a
        day pupil travelling over `rules.FAR_MIN` minutes (a move to town becomes likelier)."""
        for s in self.schools:
            s.last_enrol_g = s.enrol.copy()
            if self.year == 0:  # a school the plan opens later has no base-year count
                s.base_enrol = s.last_enrol if s.open else -1
        for hh in self.households:
            hh.far = False
        for kid in self.pupils:
            if (kid.status == dt.ENROLLED and kid.school is not None
                    and rules.is_day_pupil(kid.mode) and kid.travel > rules.FAR_MIN):
                kid.household.far = True

    def record(self) -> None:
        """This year's indicators (registry: sim/core/indicators.py); reads the agents only."""
        out = np.full((N_INDICATORS, 3), np.nan)
        Indicators(self, out).fill()
        self.indicators.append(out)
        self.bus_network_ids.append(getattr(self, "bus_network_id", -1))
        self.datacollector.collect(self)

    def indicator(self, name: str, level: str = "all") -> float:
        """The latest recorded value of an indicator (sim/core/indicators.py) at a level."""
        return float(self.indicators[-1][ROW[name], dt.LEVELS[level]])


class Indicators:
    """The indicators of one year, from the agents (names, units: sim/core/indicators.py)."""

    def __init__(self, model: SchoolFlowModel, out: np.ndarray):
        self.m, self.out = model, out

    def set(self, name: str, level: int, value: float) -> None:
        self.out[ROW[name], level] = value

    def fill(self) -> None:
        self.pupil_indicators()
        self.school_indicators()
        self.dropout_indicators()
        m, p = self.m, self.m.p
        totals = m.bus_network.totals
        self.set("schools_closed", 2, m.closed)
        self.set("closures_deferred", 2, m.deferred_total)
        self.set("closures_exempted", 2, m.exempted)
        self.set("children_aged_out_unplaced", 2, m.aged_out)
        self.set("buses_needed", 2, totals[0])
        self.set("bus_cost_yuan_per_year", 2, totals[2])
        self.set("villages_without_bus", 2, totals[4])
        open_ = [s for s in m.schools if s.open]
        boarding = self.boarding_cost + sum(s.beds for s in open_) * p.bed_cost
        public = (len(open_) * p.school_fixed + self.teachers * p.teacher + totals[2] + boarding
                  + m.returned * p.return_cost)
        self.set("dropouts_returned", 2, m.returned)
        if self.pupils_all:
            self.set("cost_per_pupil_yuan", 2, public / self.pupils_all)

    @staticmethod
    def p95(minutes: list[float]) -> float:
        """95th percentile read from 1-minute bins (the first bin holding 95% of pupils)."""
        if not minutes:
            return np.nan
        bins = np.minimum(np.array(minutes, np.float64).astype(np.int64), N_BINS - 1)
        cum = np.cumsum(np.bincount(bins, minlength=N_BINS))
        return float(np.searchsorted(cum, 0.95 * cum[-1]))

    def pupil_indicators(self) -> None:
        m, p = self.m, self.m.p
        groups = {0: [], 1: [], 2: []}  # enrolled pupils by level, in child order
        unplaced = [0, 0]
        out_of_school = [0, 0]  # without a place, or dropped out, aged 15 or under
        migrated = 0
        self.boarding_cost = 0.0
        for kid in m.pupils:
            if kid.status == dt.MIGRATED:
                migrated += 1
            elif kid.status == dt.UNPLACED:
                unplaced[rules.level_of_grade(kid.grade)] += 1
                out_of_school[rules.level_of_grade(kid.grade)] += 1
            elif kid.status == dt.DROPPED_OUT and kid.age <= rules.COMPULSORY_AGE_LIMIT:
                out_of_school[rules.level_of_grade(kid.grade)] += 1
            elif kid.status == dt.ENROLLED and kid.school is not None:
                groups[rules.level_of_grade(kid.grade)].append(kid)
                groups[2].append(kid)
                if kid.mode == dt.BOARDING:
                    self.boarding_cost += p.boarder_cost + (p.hardship_subsidy
                                                            if kid.household.hardship else 0.0)
        unplaced.append(sum(unplaced))
        out_of_school.append(sum(out_of_school))
        young = sum(k.mode == dt.BOARDING and k.grade < rules.YOUNG_BOARDING_BELOW_GRADE
                    for k in groups[0])
        intake = sum(k.age == dt.SCHOOL_ENTRY_AGE and k.status in (dt.ENROLLED, dt.UNPLACED,
                                                                   dt.DROPPED_OUT)
                     for k in m.pupils)
        if m.graduates:
            self.set("senior_high_entry_rate", 2, m.senior_entries / m.graduates)
        for name, girls in (("years_of_schooling_by_17_girls", True),
                            ("years_of_schooling_by_17_boys", False)):
            years = [k.schooling for k in m.pupils if k.age == rules.SCHOOLING_MEASURED_AT_AGE
                     and k.female == girls and k.status != dt.MIGRATED]
            if years:
                self.set(name, 2, sum(years) / len(years))
        self.set("pupils_entering_grade1", 0, intake)
        self.set("pupils_entering_grade1", 2, intake)
        self.set("young_boarders", 0, young)
        self.set("young_boarders", 2, young)
        self.pupils_all = len(groups[2])
        self.set("children_migrated", 2, migrated)
        for lv, kids in groups.items():
            self.set("pupils_enrolled", lv, len(kids))
            self.set("pupils_unplaced", lv, unplaced[lv])
            self.set("children_out_of_school", lv, out_of_school[lv])
            if out_of_school[lv] + len(kids):
                self.set("out_of_school_rate", lv, out_of_school[lv] / (out_of_school[lv] + len(kids)))
            self.set("pupils_renting", lv, sum(k.mode == dt.RENTING for k in kids))
            if not kids:
                continue
            n = len(kids)
            day = [k for k in kids if rules.is_day_pupil(k.mode)]
            bus = [k for k in kids if k.mode == dt.BUS]
            self.set("boarding_share", lv, (n - len(day)) / n)
            self.set("bus_share", lv, len(bus) / n)
            self.set("left_behind_share", lv, sum(k.household.parents < 2 for k in kids) / n)
            self.set("family_cost_yuan_per_pupil", lv, sum(float(np.float32(k.cost)) for k in kids) / n)
            if day:
                travel = [float(np.float32(k.travel)) for k in day]
                self.set("travel_time_mean_min", lv, sum(travel) / len(day))
                self.set("share_travel_over_60min", lv, sum(t > rules.OVER_60_MIN for t in travel) / len(day))
                self.set("travel_time_p95_min", lv, self.p95(travel))
            if bus:
                rides = [float(np.float32(m.bus_network.ride_min[k.household.node])) for k in bus]
                self.set("bus_ride_time_p95_min", lv, self.p95(rides))
        lower = [k for k in groups[0]
                 if k.grade <= rules.LOWER_GRADES_LAST and rules.is_day_pupil(k.mode)]
        if lower:
            share = sum(float(np.float32(k.travel)) > rules.LOWER_OVER_MIN for k in lower) / len(lower)
            self.set("share_lower_primary_over_30min", 0, share)
            self.set("share_lower_primary_over_30min", 2, share)
        paying = [k for k in groups[2] if k.mode in (dt.BUS, dt.BOARDING)]
        if paying:
            self.set("parent_cost_yuan_per_pupil", 2,
                     sum(float(np.float32(k.cost)) for k in paying) / len(paying))

    def school_indicators(self) -> None:
        m, p = self.m, self.m.p
        self.teachers = 0.0
        open_ = [0, 0, 0]
        classes = {lv: [] for lv in range(3)}  # (size, cap, very-large threshold) per class
        ratios = {lv: [] for lv in range(3)}   # teachers per 100 pupils, per school
        over_2000 = 0
        for s in m.schools:
            if not s.open:
                continue
            open_[2] += 1
            open_[0] += s.lo <= rules.LAST_PRIMARY_GRADE
            open_[1] += s.hi > rules.LAST_PRIMARY_GRADE
            over_2000 += int(s.enrol.sum()) > rules.school_size_limit(s.level)
            pupils, teachers = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
            for g in range(s.lo, s.hi + 1):
                n = int(s.enrol[g])
                if n == 0:
                    continue
                lv = rules.level_of_grade(g)
                cap = cap_for(g, p)
                nc, q, r = rules.class_split(n, cap, s.classes)
                sizes = [q + 1] * r + [q] * (nc - r)
                primary = lv == dt.LEVEL_PRIMARY
                tg = rules.grade_teachers(
                    int(n), nc, p.teachers_class_primary if primary else p.teachers_class_junior,
                    p.pupils_teacher_primary if primary else p.pupils_teacher_junior)
                self.teachers += tg
                for L in (lv, 2):
                    classes[L] += [(size, cap, rules.very_large_at(g)) for size in sizes]
                    pupils[L] += n
                    teachers[L] += tg
            for L in range(3):
                if pupils[L] > 0:
                    ratios[L].append(100.0 * teachers[L] / pupils[L])
        base = [s for s in m.schools if 0 <= s.base_enrol < rules.SMALL_SCHOOL]
        if base:
            self.set("share_under100_closed", 2, sum(not s.open for s in base) / len(base))
        self.set("schools_over_2000", 2, over_2000)
        for lv in range(3):
            self.set("schools_open", lv, open_[lv])
            if len(ratios[lv]) > 1:
                x = np.array(ratios[lv])
                self.set("teachers_per_100_pupils_cv", lv,
                         rules.coefficient_of_variation(x.mean(), x.var()))
            sizes = [size for size, _, _ in classes[lv]]
            if not sizes:
                continue
            n = len(sizes)
            self.set("mean_class_size", lv, sum(sizes) / n)
            self.set("share_classes_over_standard", lv, sum(a > c for a, c, _ in classes[lv]) / n)
            self.set("share_classes_very_large", lv, sum(a >= v for a, _, v in classes[lv]) / n)
            self.set("share_classes_super_large", lv, sum(a >= rules.SUPER_LARGE for a in sizes) / n)
            self.set("share_classes_over_51", lv, sum(a > rules.OVER_51 for a in sizes) / n)

    def dropout_indicators(self) -> None:
        m = self.m
        risk, drop = [0, 0, 0], [0, 0, 0]
        retention = completion = 1.0
        for g in range(1, dt.N_GRADES + 1):
            lv = rules.level_of_grade(g)
            for L in (lv, 2):
                risk[L] += int(m.at_risk[g])
                drop[L] += int(m.dropped[g])
            if m.at_risk[g] > 0:
                completion *= 1.0 - m.dropped[g] / m.at_risk[g]
                if g > rules.LAST_PRIMARY_GRADE:
                    retention *= 1.0 - m.dropped[g] / m.at_risk[g]
        for L in range(3):
            self.set("dropouts", L, drop[L])
            if risk[L] > 0:
                self.set("dropout_rate", L, drop[L] / risk[L])
        self.set("junior_retention_3yr", 1, retention)
        self.set("nine_year_completion", 2, completion)


def run_model(built: build.Model, start: int, stop: int, progress=None) -> engine.RunResult:
    """Replicates start..stop-1 with the Mesa engine, in the form `sim.model.engine.run_model` returns
    (indicators values[replicate, year, indicator, level], bus networks, timings)."""
    scenario = built.scenario
    t0 = time.perf_counter()
    before = built.bus.stats()
    values = np.empty((stop - start, scenario.years + 1, N_INDICATORS, 3))
    networks = np.full((stop - start, scenario.years + 1), -1, np.int64)
    pupils = np.empty((stop - start, scenario.years + 1, len(built.world.school_name), 3), np.int32)
    events = np.empty((stop - start, *built.S0.events.shape), np.int32)
    track = SchoolTrack.empty(stop - start, scenario.years, len(built.world.school_name))
    affected = Affected()
    moving_years = built.policy_years()
    steps = 0
    for i, r in enumerate(range(start, stop)):
        model = SchoolFlowModel(scenario, r, built)
        steps += len(model.pupils)
        for year in range(scenario.years + 1):
            if year in moving_years:
                last = child_year(model)
            if year > 0:
                model.step()
                steps += len(model.pupils)
            enrol = np.stack([s.enrol for s in model.schools])
            school_pupils_by_level(enrol, pupils[i, year])
            sch = model.schools
            track.put(i, year, enrol, [s.classes for s in sch], [s.beds for s in sch],
                      [s.beds_used for s in sch], [s.canteen for s in sch], [s.open for s in sch])
            if year in moving_years:
                affected.add(tally(r, year, *last, *child_year(model),
                                   np.array([s.events[year] for s in sch])))
        values[i] = np.stack(model.indicators)
        events[i] = np.stack([s.events for s in model.schools])
        networks[i] = model.bus_network_ids
        if progress is not None:
            progress(1)
    after = built.bus.stats()
    stats = {k: round(after[k] - before[k], 3) for k in after}
    return engine.RunResult(values, start, steps, time.perf_counter() - t0, networks, stats,
                            pupils, events, affected, track)


def child_year(m: SchoolFlowModel) -> tuple[ChildYear, SchoolYear]:
    """The agents as the affected-pupil tally reads them (sim/model/affected.py)."""
    kids, sch = m.pupils, m.schools
    return (ChildYear.copy_of([-1 if k.school is None else k.school.sid for k in kids],
                      [k.mode for k in kids], [k.travel for k in kids], [k.status for k in kids],
                      [k.grade for k in kids], [k.household.node for k in kids]),
            SchoolYear.copy_of([s.open for s in sch], [s.lo for s in sch], [s.hi for s in sch]))
