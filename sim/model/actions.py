"""The plan's named actions (scenario `policies.actions`), one class per kind, each in one place:
its schema (the YAML keys, pydantic), its checks against the county, its rows of the kernels'
`Actions` arrays (sim/core/kernels/state.py) and its words (`check`'s preview and the plan block
of `run` and the report). `KINDS` registers them: the scenario's `Action` type, the builder of
the kernel arrays (sim/model/plan.py) and every text read it.

A new kind: a class here (its key, kernel code, fields, `rows`, `words`), added to `KINDS`, and
its branch in `apply_actions` (sim/core/kernels/closures.py) and in the Mesa reference.

Errors name the scenario file, the action (`policies.actions[i]`) and the id.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.core.i18n import _, term
from sim.core.kernels.state import ACT_CLOSE, ACT_DOWNGRADE, ACT_EXPAND, ACT_OPEN
from sim.model.scenario_base import LevelName, Strict, grades_error

#: one row of the kernel arrays: (year, kind, school, receiver, hi, classes, beds, canteen)
Row = tuple[int, int, int, int, int, int, int, int]


def _id_list(value: Any) -> Any:
    """A school id or a list of them -> a list."""
    return [value] if isinstance(value, str | int) else value


@dataclass
class PlanContext:
    """What the checks of a plan's actions share: the county's schools, the scenario's file
    and horizon, and what earlier actions did (which schools open when, close when, and which
    school already takes an action in a year)."""

    file: str
    source: str  #: the county's source, for messages
    years: int  #: last simulated year
    names: list[str]
    level: np.ndarray  #: each school's level code
    index: dict[str, int] = field(init=False)
    lo: np.ndarray = field(init=False)
    hi: np.ndarray = field(init=False)
    opened_in: dict[int, int] = field(default_factory=dict)  #: school -> the year it opens
    closed_by: dict[int, tuple[int, int]] = field(default_factory=dict)  #: -> (action, year)
    #: (school, year) -> (action, what it does to the school, in words)
    acts: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {name: s for s, name in enumerate(self.names)}
        self.lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in self.level])
        self.hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in self.level])

    def error(self, i: int, key: str, message: str) -> InputError:
        return InputError(self.file, f"policies.actions[{i}].{key}", message)

    def school(self, i: int, key: str, sid: str) -> int:
        if sid not in self.index:
            raise self.error(i, key, _("school {school!r} is not in the county ({source}); use "
                                       "an id from its schools").format(school=sid,
                                                                        source=self.source))
        return self.index[sid]

    def exists_by(self, i: int, key: str, s: int, year: int) -> None:
        if s in self.opened_in and self.opened_in[s] > year:
            raise self.error(i, key, _("school {school!r} opens only in year {year}; act on it "
                                       "from that year").format(school=self.names[s],
                                                                year=self.opened_in[s]))

    def one_kind_a_year(self, i: int, key: str, s: int, year: int, done: str) -> None:
        """A school closed or downgraded in a year takes no other action that year (two
        expansions of one school in a year add up)."""
        if (s, year) in self.acts and not (key == "expand" and self.acts[(s, year)][1] == done):
            j, kind = self.acts[(s, year)]
            raise self.error(i, key, _(
                "school {school!r} is already to be {kind} in year {year} by "
                "policies.actions[{j}]; a school takes one action a year (expand the receiver, "
                "not the school that closes; close or downgrade, not both)").format(
                school=self.names[s], kind=term("event", kind), year=year, j=j))
        self.acts[(s, year)] = (i, done)


class PlanAction(Strict):
    """What every kind shares: the year it acts in, its key, its kernel code and its hooks."""

    key: ClassVar[str]
    code: ClassVar[int]
    year: int = Field(ge=1, description="simulated year it acts in (1 = first year)")

    def announce(self, i: int, ctx: PlanContext) -> None:
        """Before any check: what later checks must know of this action (e.g. an opening)."""

    def rows(self, i: int, ctx: PlanContext) -> list[Row]:
        """Check the action against the county and the earlier actions; its kernel rows."""
        return []

    def late_rows(self, i: int, ctx: PlanContext) -> list[Row]:
        """Checks and rows that need every other action seen first (after all `rows`)."""
        return []

    def words(self) -> str:
        """The action in words, e.g. 'close S12, S13 into S25'."""
        raise NotImplementedError


class CloseAction(PlanAction):
    """Close named schools; their pupils go to `receiver` (or the nearest as for rules)."""

    key: ClassVar[str] = "close"
    code: ClassVar[int] = ACT_CLOSE
    close: list[str] = Field(min_length=1, description="ids of the schools to close (schools.csv)")
    receiver: str | None = Field(
        None, description="id of the school that takes their pupils; omitted = the nearest open "
                          "school teaching their grades, as for rules")

    _ids = field_validator("close", mode="before")(_id_list)

    def rows(self, i: int, ctx: PlanContext) -> list[Row]:
        for sid in self.close:
            s = ctx.school(i, "close", sid)
            ctx.exists_by(i, "close", s, self.year)
            if s in ctx.closed_by:
                raise ctx.error(i, "close", _("school {school!r} is already closed by "
                                              "policies.actions[{j}]; close each school "
                                              "once").format(school=sid, j=ctx.closed_by[s][0]))
            ctx.one_kind_a_year(i, "close", s, self.year, "closed")
            ctx.closed_by[s] = (i, self.year)
        return []

    def late_rows(self, i: int, ctx: PlanContext) -> list[Row]:
        """Closes come last: their receivers must be open, teach the grades and not be closed
        by then."""
        recv = -1
        if self.receiver is not None:
            recv = ctx.school(i, "receiver", self.receiver)
            ctx.exists_by(i, "receiver", recv, self.year)
            if recv in ctx.closed_by and ctx.closed_by[recv][1] <= self.year:
                raise ctx.error(i, "receiver", _("school {school!r} is closed by "
                                                 "policies.actions[{j}] in year {year}; name an "
                                                 "open receiving school").format(
                    school=self.receiver, j=ctx.closed_by[recv][0], year=ctx.closed_by[recv][1]))
        out: list[Row] = []
        for sid in self.close:
            s = ctx.index[sid]
            if recv >= 0 and (ctx.lo[recv] > ctx.lo[s] or ctx.hi[recv] < ctx.hi[s]):
                raise ctx.error(i, "receiver", _(
                    "school {receiver!r} teaches grades {lo}-{hi} but {school!r} teaches "
                    "{slo}-{shi}; name a receiver that teaches all of them").format(
                    receiver=self.receiver, lo=ctx.lo[recv], hi=ctx.hi[recv], school=sid,
                    slo=ctx.lo[s], shi=ctx.hi[s]))
            if recv == s:
                raise ctx.error(i, "receiver", _("school {school!r} cannot receive its own "
                                                 "pupils").format(school=sid))
            out.append((self.year, ACT_CLOSE, s, recv, 0, 0, 0, 0))
        return out

    def words(self) -> str:
        return _("close {schools} into {receiver}").format(
            schools=_(", ").join(self.close), receiver=self.receiver or _("the nearest school"))


class ExpandAction(PlanAction):
    """Add classes, boarding beds and canteen places to a school (added to what it has)."""

    key: ClassVar[str] = "expand"
    code: ClassVar[int] = ACT_EXPAND
    expand: str = Field(description="id of the school to expand")
    classes_per_grade: int = Field(0, ge=0, description="classes added to each grade")
    boarding_beds: int = Field(0, ge=0, description="boarding beds added (beds)")
    canteen_places: int = Field(0, ge=0, description="canteen places added (pupils)")

    def rows(self, i: int, ctx: PlanContext) -> list[Row]:
        s = ctx.school(i, "expand", self.expand)
        ctx.exists_by(i, "expand", s, self.year)
        ctx.one_kind_a_year(i, "expand", s, self.year, "expanded")
        return [(self.year, ACT_EXPAND, s, -1, 0, self.classes_per_grade, self.boarding_beds,
                 self.canteen_places)]

    def words(self) -> str:
        adds = [_("+{n} classes per grade").format(n=self.classes_per_grade)] \
            * bool(self.classes_per_grade) \
            + [_("+{n} beds").format(n=self.boarding_beds)] * bool(self.boarding_beds) \
            + [_("+{n} canteen places").format(n=self.canteen_places)] * bool(self.canteen_places)
        return _("expand {school}: {adds}").format(
            school=self.expand, adds=_(", ").join(adds) or _("nothing added"))


class DowngradeAction(PlanAction):
    """Keep named schools for the lower grades only, as teaching points."""

    key: ClassVar[str] = "downgrade"
    code: ClassVar[int] = ACT_DOWNGRADE
    downgrade: list[str] = Field(min_length=1, description="ids of the schools to downgrade")
    grades: list[int] = Field([1, 2, 3], description="grades kept, consecutive from 1")

    _ids = field_validator("downgrade", mode="before")(_id_list)

    @model_validator(mode="after")
    def _grades(self) -> DowngradeAction:
        problem = grades_error(self.grades, dt.N_GRADES - 1)
        if problem:
            raise ValueError(problem)
        return self

    def rows(self, i: int, ctx: PlanContext) -> list[Row]:
        out: list[Row] = []
        for sid in self.downgrade:
            s = ctx.school(i, "downgrade", sid)
            ctx.exists_by(i, "downgrade", s, self.year)
            if ctx.lo[s] != 1 or ctx.hi[s] <= max(self.grades):
                raise ctx.error(i, "downgrade", _(
                    "school {school!r} is a {level} (grades {lo}-{hi}); a downgrade keeps grades "
                    "1-{top} of a school that teaches more, from grade 1").format(
                    school=sid, level=term("school_level", dt.LEVEL_OF_CODE[int(ctx.level[s])]),
                    lo=ctx.lo[s], hi=ctx.hi[s], top=max(self.grades)))
            ctx.one_kind_a_year(i, "downgrade", s, self.year, "downgraded")
            out.append((self.year, ACT_DOWNGRADE, s, -1, max(self.grades), 0, 0, 0))
        return out

    def words(self) -> str:
        return _("downgrade {schools} to grades 1-{top}").format(
            schools=_(", ").join(self.downgrade), top=max(self.grades))


class NewSchool(Strict):
    school_id: str = Field(description="id of the new school (not already in schools.csv)")
    village_id: str = Field(description="village where it stands (villages.csv)")
    level: LevelName = Field(description="its level, which sets the grades it teaches")
    classes_per_grade: int = Field(1, ge=1, description="classes each grade may hold")
    boarding_beds: int = Field(0, ge=0, description="boarding beds (beds)")
    canteen_places: int | None = Field(
        None, ge=0, description="canteen places (pupils); omitted = not known")
    quality: float = Field(0.5, ge=0, le=1, description="school quality index (0-1)")


class OpenAction(PlanAction):
    """Open a new school (sim/model/plan.py adds it to the county, closed until its year)."""

    key: ClassVar[str] = "open"
    code: ClassVar[int] = ACT_OPEN
    year: int = Field(ge=1, description="simulated year it opens in (1 = first year)")
    open: NewSchool

    def announce(self, i: int, ctx: PlanContext) -> None:
        ctx.opened_in[ctx.index[self.open.school_id]] = self.year

    def rows(self, i: int, ctx: PlanContext) -> list[Row]:
        return [(self.year, ACT_OPEN, ctx.index[self.open.school_id], -1, 0, 0, 0, 0)]

    def words(self) -> str:
        o = self.open
        return _("open {school} ({level}, {classes} classes per grade) at {village}").format(
            school=o.school_id, level=term("school_level", o.level), classes=o.classes_per_grade,
            village=o.village_id)


#: the registry of action kinds, by their YAML key
KINDS: dict[str, type[PlanAction]] = {
    cls.key: cls for cls in (CloseAction, ExpandAction, DowngradeAction, OpenAction)}
KIND_KEYS = ", ".join(list(KINDS)[:-1]) + f" or {list(KINDS)[-1]}"


def _action_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in KINDS if key in value), None)
    return getattr(value, "key", None)


#: a scenario's action: whichever registered kind its key names
Action = Annotated[
    functools.reduce(operator.or_, [Annotated[cls, Tag(key)] for key, cls in KINDS.items()]),
    Discriminator(_action_kind, custom_error_type="action_kind",
                  custom_error_message=f"an action needs one of the keys {KIND_KEYS}")]


def action_rows(actions: list[PlanAction], ctx: PlanContext) -> np.ndarray:
    """The kernel rows of a plan's actions, every action checked: (n, 8) int64."""
    for i, a in enumerate(actions):
        a.announce(i, ctx)
    rows: list[Row] = []
    for i, a in enumerate(actions):
        if a.year > ctx.years:
            raise ctx.error(i, "year", _("year {year} is after the last simulated year "
                                         "({years}); it would never act. Use a year from 1 to "
                                         "years, or raise years").format(year=a.year,
                                                                         years=ctx.years))
        rows += a.rows(i, ctx)
    for i, a in enumerate(actions):
        rows += a.late_rows(i, ctx)
    return np.array(rows, np.int64).reshape(-1, 8)
