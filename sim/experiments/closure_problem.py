"""The closure-planning problem of a scenario, as numbers: which schools the plan's closure rules
may close, which schools may receive each one's pupils, how far (minutes), with what pupils
(by grade), and the receivers' seats, beds and canteen places year by year.

Everything is read from a built model after the base year (year 0) of replicate 0: the rolls
the closure rules of year 1 see and the base-year count their shares refer to. The rules'
constraints carried over (sim/core/kernels/closures.py says how the simulation applies them):

- a rule covers the open schools of its levels with fewer than `below` pupils in the base year;
  its share is of those schools (`share` omitted: all of them);
- a school's pupils go to one open school of a level the rule does not exclude that teaches all
  its grades, by bus where bus lines serve closed villages, else on foot (minutes from the
  school's village, as the rules measure it);
- the travel exemption: no school closes into a receiver further than
  `exemptions.keep_teaching_points_if_travel_over_min` minutes;
- the receiver's seats (classes per grade x the class cap, `rules.grade_seats`) and, over the
  pupils received in the same year, the simulation's own check of seats over the closing
  school's grades; beds for its boarding-age pupils when the receiver is beyond
  `policies.max_travel_min` (the first time a school receives it gets
  `boarding.beds_per_receiving_school` beds); canteen places where known. The plan's
  expansions add classes, beds and canteen places from their year.

Pupils are taken as they are in the base year in every year (a stationary roll: no ageing or
migration between closure years); `optimise` runs the chosen plan to see what the simulation
makes of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.errors import InputError
from sim.core.i18n import _
from sim.core.kernels.state import ACT_CLOSE, ACT_DOWNGRADE, ACT_EXPAND, ACT_OPEN
from sim.model.build import Model
from sim.model.engine import trace_replicate

#: receivers per candidate when the exemption is relaxed (`ClosureProblem.allowed`)
NEAREST_WITHOUT_EXEMPTION = 4


@dataclass(frozen=True)
class Quota:
    """One closure rule as a quota: by `year`, at least `need` of the base-year schools in
    `covered` are closed (`share` None: every one of them that can close)."""

    year: int
    below: int  #: pupils: the rule covers schools with fewer
    share: float | None
    covered: np.ndarray  #: candidate indices (into ClosureProblem.school) the rule covers
    base_count: int  #: base-year schools under the limit, closable or not (the share's base)

    @property
    def need(self) -> int:
        """Schools the rule asks to be closed by its year (the simulation's rounding)."""
        if self.share is None:
            return self.base_count
        return int(np.ceil(self.share * self.base_count - 1e-9))

    def words(self) -> str:
        what = "all" if self.share is None else f"{self.share:.0%}"
        return f"year {self.year}: {what} of the {self.base_count} schools under {self.below} pupils"


@dataclass
class ClosureProblem:
    """Candidates i (schools a rule may close) x receivers j x closure years k."""

    names: list[str]  #: every school's id (the county's order)
    school: np.ndarray  #: candidate i -> school index
    receiver: np.ndarray  #: receiver j -> school index
    years: list[int]  #: years a rule acts in, ascending
    first_year: np.ndarray  #: candidate i: the first year a rule covers it
    pupils_g: np.ndarray  #: (candidates, 10) base-year pupils by grade (column 0 unused)
    boarding_age: np.ndarray  #: candidate i: pupils of a grade allowed to board
    grade_lo: np.ndarray  #: candidate i: its lowest grade
    grade_hi: np.ndarray  #: candidate i: its highest grade
    minutes: np.ndarray  #: (candidates, receivers) one-way minutes, inf where it cannot go
    teaches: np.ndarray  #: (candidates, receivers) receiver teaches its grades, level allowed
    exempt_over_min: float  #: minutes; inf without the exemption
    max_travel_min: float  #: minutes: beyond it boarding-age pupils need beds
    seats: np.ndarray  #: (receivers, years, 10) seats by grade in each closure year
    enrolled: np.ndarray  #: (receivers, 10) base-year pupils by grade
    beds_free: np.ndarray  #: (receivers, years) beds minus base-year boarders
    new_beds: int  #: beds a school gets the first time it receives
    canteen: np.ndarray  #: (receivers, years) canteen places, -1 where not known
    quotas: list[Quota]
    horizon: int  #: last simulated year
    capacity_check: bool  #: policies.receiving_capacity_check: seats, beds, canteen apply
    exempt_grades: int  #: highest grade a school kept by the exemption teaches
    notes: list[str] = field(default_factory=list)

    @property
    def pupils(self) -> np.ndarray:
        return self.pupils_g.sum(axis=1)

    def allowed(self, exemption: bool = True) -> np.ndarray:
        """(candidates, receivers): where a candidate may close into; with the exemption, only
        receivers within its limit; without it, its NEAREST_WITHOUT_EXEMPTION nearest receivers
        (what a relaxed exemption could use, kept small so that the problem stays quick)."""
        ok = self.teaches & np.isfinite(self.minutes)
        if exemption:
            return ok & (self.minutes <= self.exempt_over_min)
        t = np.where(ok, self.minutes, np.inf)
        rank = np.argsort(np.argsort(t, axis=1, kind="stable"), axis=1, kind="stable")
        return ok & ((rank < NEAREST_WITHOUT_EXEMPTION) | (t <= self.exempt_over_min))

    def closable(self) -> np.ndarray:
        """Candidates with at least one receiver within the exemption limit."""
        return self.allowed().any(axis=1)


def _refuse_named_actions(model: Model) -> None:
    kinds = set(model.A.kind.tolist())
    if kinds & {ACT_CLOSE, ACT_DOWNGRADE, ACT_OPEN}:
        raise InputError(model.scenario.file, "policies.actions",
                         _("optimise chooses the closures itself and keeps only the plan's "
                           "expansions; remove the named close, downgrade and open actions (or "
                           "run the plan as it is with `schoolflow run`)"))
    if model.R.year.size == 0:
        raise InputError(model.scenario.file, "policies.closures",
                         _("the plan has no closure rules, so there is nothing to optimise; "
                           "give the rules whose targets the optimiser must meet (e.g. `year: 1, "
                           "at_most: 100, share: 0.6`)"))


def closure_problem(model: Model) -> ClosureProblem:
    """The scenario's closure problem (module docstring), from the base year of replicate 0."""
    _refuse_named_actions(model)
    base = next(iter(trace_replicate(model, 0)))  # year 0
    S, W, P, R, A = base.S, model.W, model.P, model.R, model.A
    n_s = S.open.shape[0]
    base_enrol = S.base_enrol.copy()
    level0 = W.school_level0
    years = sorted(set(R.year.tolist()))
    first = np.full(n_s, 1 << 30)
    excluded = np.zeros(n_s, np.int64)  # levels that may not receive a candidate's pupils
    covers: list[tuple[int, int, float | None, np.ndarray, int]] = []
    for r in range(R.year.shape[0]):
        in_rule = np.array([(R.levels[r] >> int(level0[s])) & 1 and 0 <= base_enrol[s] < R.below[r]
                            for s in range(n_s)], bool)
        first[in_rule] = np.minimum(first[in_rule], R.year[r])
        excluded[in_rule] |= R.excluded[r]
        share = None if np.isnan(R.share[r]) else float(R.share[r])
        covers.append((int(R.year[r]), int(R.below[r]), share, np.flatnonzero(in_rule),
                       int(in_rule.sum())))
    cand = np.flatnonzero(first < (1 << 30))
    pos = {int(s): i for i, s in enumerate(cand)}
    rules_mask = int(np.bitwise_or.reduce(R.levels))
    recv = np.array([s for s in range(n_s) if S.open[s] and not (rules_mask >> int(level0[s])) & 1],
                    np.int64)
    lo = S.lo.astype(int)
    hi = S.hi.astype(int)
    t_all = W.t_bus if P.bus_on > 0 else W.t_walk
    nodes = W.school_node[cand]
    minutes = t_all[nodes][:, recv].astype(float)
    teaches = np.array([[lo[r] <= lo[s] and hi[r] >= hi[s] and not (excluded[s] >> int(level0[r])) & 1
                         for r in recv] for s in cand], bool).reshape(len(cand), len(recv))
    pupils_g = S.last_enrol_g[cand].astype(np.int64)
    board_min = int(P.board_min_grade)
    boarding_age = pupils_g[:, board_min:].sum(axis=1)
    # receivers' capacity by closure year, with the plan's expansions
    ky = {y: k for k, y in enumerate(years)}
    n_r, n_k = len(recv), len(years)
    classes = np.repeat(S.classes[recv].astype(np.int64)[:, None], n_k, axis=1)
    beds = np.repeat(S.beds[recv].astype(np.int64)[:, None], n_k, axis=1)
    canteen = np.repeat(S.canteen[recv].astype(np.int64)[:, None], n_k, axis=1)
    rpos = {int(s): j for j, s in enumerate(recv)}
    for a in range(A.year.shape[0]):
        if A.kind[a] != ACT_EXPAND or int(A.school[a]) not in rpos:
            continue
        j = rpos[int(A.school[a])]
        ks = [ky[y] for y in years if y >= A.year[a]]
        classes[j, ks] += A.classes[a]
        beds[j, ks] += A.beds[a]
        if A.canteen[a] > 0:
            canteen[j, ks] = np.maximum(canteen[j, ks], 0) + A.canteen[a]
    seats = np.zeros((n_r, n_k, dt.N_GRADES + 1), np.int64)
    for j in range(n_r):
        for k in range(n_k):
            for g in range(lo[recv[j]], hi[recv[j]] + 1):
                seats[j, k, g] = rules.grade_seats(g, int(classes[j, k]), P.cap_primary,
                                                   P.cap_junior)
    quotas = [Quota(y, below, share, np.array([pos[int(s)] for s in inr], np.int64), count)
              for y, below, share, inr, count in covers]
    exempt = float(P.exempt_over_min) if P.exempt_over_min >= 0 else np.inf
    return ClosureProblem(
        names=list(model.world.school_name), school=cand, receiver=recv, years=years,
        first_year=first[cand].astype(np.int64), pupils_g=pupils_g, boarding_age=boarding_age,
        grade_lo=lo[cand], grade_hi=hi[cand], minutes=minutes, teaches=teaches,
        exempt_over_min=exempt, max_travel_min=float(P.max_travel_min),
        seats=seats, enrolled=S.last_enrol_g[recv].astype(np.int64),
        beds_free=beds - S.beds_used[recv].astype(np.int64)[:, None],
        new_beds=int(P.beds_per_receiver), canteen=canteen, quotas=quotas,
        horizon=model.scenario.years, capacity_check=bool(P.capacity_check > 0),
        exempt_grades=int(P.exempt_hi_grade))
