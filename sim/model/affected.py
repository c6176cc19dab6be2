"""The pupils a plan moves, followed pupil by pupil, and each school's classes, beds and canteen
by year: what `schoolflow run` reports per school (sim/outputs/per_school.py).

A pupil is *affected* in year y when, at the end of year y - 1, it was enrolled at a school that
the plan closed, downgraded or kept only for the lower grades in year y (S.events), and its
grade in year y is one the school taught before and no longer teaches (a grade-6 pupil of a
village primary moves up to a junior school anyway and is not counted). For each affected pupil
the tally keeps its home village, grade, the school it was moved from, where it is at the end
of year y (school, mode, status) and its one-way day travel before and after (minutes; NaN for
boarders and pupils without a school).

Both engines hand the same arrays (`ChildYear`, `SchoolYear`) to `tally`, once per replicate
and simulated year, so the tables do not depend on the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.core import dtypes as dt
from sim.core.kernels.state import EV_CLOSED, EV_DOWNGRADED, EV_EXEMPTED

#: events that move a school's pupils (in the grades it no longer teaches)
MOVING_EVENTS = EV_CLOSED | EV_DOWNGRADED | EV_EXEMPTED


@dataclass
class ChildYear:
    """Per child record at the end of a year: school (-1 none), mode, one-way travel (minutes),
    status, grade and home node."""

    school: np.ndarray
    mode: np.ndarray
    travel: np.ndarray
    status: np.ndarray
    grade: np.ndarray
    node: np.ndarray

    @classmethod
    def copy_of(cls, school, mode, travel, status, grade, node) -> ChildYear:
        """Copies as arrays (travel in float32, as the kernels keep it)."""
        return cls(np.array(school, np.int64), np.array(mode, np.int64),
                   np.array(travel, np.float32), np.array(status, np.int64),
                   np.array(grade, np.int64), np.array(node, np.int64))


@dataclass
class SchoolYear:
    """Per school at the end of a year: open, lowest and highest grade taught."""

    open: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def copy_of(cls, open_, lo, hi) -> SchoolYear:
        return cls(np.array(open_, bool), np.array(lo, np.int64), np.array(hi, np.int64))


#: columns of the affected-pupil table (one row per affected pupil and replicate)
COLUMNS = ("replicate", "year", "school", "village", "grade", "destination", "mode_before",
           "mode_after", "status_after", "travel_before", "travel_after")


@dataclass
class Affected:
    """Affected pupils of a run, as columns (see COLUMNS); `add` appends one replicate-year."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=lambda: {c: [] for c in COLUMNS})

    def add(self, rows: dict[str, np.ndarray]) -> None:
        for c in COLUMNS:
            self.parts[c].append(rows[c])

    def extend(self, other: Affected) -> None:
        for c in COLUMNS:
            self.parts[c] += other.parts[c]

    def columns(self) -> dict[str, np.ndarray]:
        """The rows in (replicate, year, child) order, however replicates were batched."""
        cols = {c: (np.concatenate(v) if v else np.empty(0)) for c, v in self.parts.items()}
        order = np.lexsort((cols["year"], cols["replicate"]))
        return {c: v[order] for c, v in cols.items()}


def _day_travel(mode: np.ndarray, travel: np.ndarray, placed: np.ndarray) -> np.ndarray:
    return np.where(placed & (mode != dt.BOARDING), travel, np.nan).astype(np.float64)


def tally(replicate: int, year: int, before: ChildYear, before_schools: SchoolYear,
          after: ChildYear, after_schools: SchoolYear, events: np.ndarray) -> dict[str, np.ndarray]:
    """The affected pupils of one replicate in `year` (see module docstring): `before` and
    `before_schools` at the end of year - 1, `after` and `after_schools` at the end of `year`,
    `events` the schools' EV_* flags of `year`."""
    n = len(before.school)
    moved = (events & MOVING_EVENTS) != 0
    old = before.school
    was = (before.status == dt.ENROLLED) & (old >= 0)
    was &= moved[np.where(old >= 0, old, 0)]
    s = np.where(was, old, 0)
    g = after.grade[:n]
    taught_before = (before_schools.lo[s] <= g) & (g <= before_schools.hi[s])
    taught_now = after_schools.open[s] & (after_schools.lo[s] <= g) & (g <= after_schools.hi[s])
    pick = np.flatnonzero(was & taught_before & ~taught_now)
    placed_before = np.ones(len(pick), bool)
    placed_after = (after.status[pick] == dt.ENROLLED) & (after.school[pick] >= 0)
    return {
        "replicate": np.full(len(pick), replicate, np.int32),
        "year": np.full(len(pick), year, np.int16),
        "school": old[pick].astype(np.int32),
        "village": after.node[pick].astype(np.int32),
        "grade": g[pick].astype(np.int8),
        "destination": np.where(placed_after, after.school[pick], -1).astype(np.int32),
        "mode_before": before.mode[pick].astype(np.int8),
        "mode_after": np.where(placed_after, after.mode[pick], dt.MODE_NONE).astype(np.int8),
        "status_after": after.status[pick].astype(np.int8),
        "travel_before": _day_travel(before.mode[pick], before.travel[pick], placed_before),
        "travel_after": _day_travel(after.mode[pick], after.travel[pick], placed_after),
    }


@dataclass
class SchoolTrack:
    """Each school's state at the end of every year, per replicate: pupils by grade
    (replicate, year, school, grade 0-9), classes per grade, beds, beds used, canteen places
    (-1 not known) and whether it is open."""

    enrol: np.ndarray
    classes: np.ndarray
    beds: np.ndarray
    beds_used: np.ndarray
    canteen: np.ndarray
    open: np.ndarray

    @classmethod
    def empty(cls, replicates: int, years: int, schools: int) -> SchoolTrack:
        shape = (replicates, years + 1, schools)
        return cls(np.zeros((*shape, dt.N_GRADES + 1), np.int32), np.zeros(shape, np.int32),
                   np.zeros(shape, np.int32), np.zeros(shape, np.int32),
                   np.zeros(shape, np.int32), np.zeros(shape, bool))

    def put(self, i: int, year: int, enrol, classes, beds, beds_used, canteen, open_) -> None:
        """Replicate position i's schools at the end of `year`."""
        self.enrol[i, year] = enrol
        self.classes[i, year] = classes
        self.beds[i, year] = beds
        self.beds_used[i, year] = beds_used
        self.canteen[i, year] = canteen
        self.open[i, year] = open_
