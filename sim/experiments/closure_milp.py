"""Exact closure plans by mixed-integer programming (HiGHS through `scipy.optimize.milp`).

Decision y[i, j, k] = 1: candidate school i closes in closure year k and its pupils go to
receiver j (a capacitated p-median over the plan's years, `ClosureProblem` says what each
constraint carries over from the simulation). Constraints:

- each candidate closes at most once, only into a receiver allowed for it (levels, grades, the
  travel exemption) and not before the first year a rule covers it;
- quotas: by each rule's year, at least its number of the schools it covers are closed;
- seats: for every receiver, closure year and grade, the pupils received so far fit the free
  seats (seats minus base-year pupils); and, for the simulation's own check, the pupils a
  receiver takes in one year fit the free seats over the grades of each school it takes
  (a binary z per receiver, year and grade span says whether a school of that span arrives);
- beds: the boarding-age pupils of schools beyond `max_travel_min` fit the receiver's free beds
  plus the beds it gets when it first receives;
- canteen: the pupils a receiver takes in one year fit its canteen places (where known).

The objective is the closed schools' pupil-minute-years: pupils x one-way minutes to the
receiver on a school day, summed over the years from its closure to the horizon
(`travel_cost`), so a closure is put off to the last year its quota allows.

`largest_closures` answers how many of a rule's schools can be closed at most, and
`binding_constraints` which constraints stop a quota from being met (the largest number with
each relaxed in turn).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import coo_array

from sim.experiments.closure_problem import ClosureProblem, Quota

#: constraint families `binding_constraints` relaxes, one at a time
FAMILIES = ("exemption", "seats", "beds", "canteen")
TIME_LIMIT_S = 600.0  #: per solve (seconds)


@dataclass
class Solution:
    """A closure plan: candidate i closes in year `year[i]` into receiver school `into[i]`
    (school indices; -1: stays open)."""

    year: np.ndarray
    into: np.ndarray
    cost: float  #: pupil-minute-years: the objective (`travel_cost`)
    status: str  #: "optimal", or what HiGHS said

    def closed(self) -> np.ndarray:
        return self.into >= 0


def travel_cost(p: ClosureProblem, year: np.ndarray, into: np.ndarray) -> float:
    """Pupil-minute-years of a plan: each closed candidate's pupils x its one-way minutes to
    its receiver on a school day x the simulated years from its closure year to the horizon."""
    return _pupil_minutes(p, into, p.horizon - year + 1)


def daily_minutes(p: ClosureProblem, into: np.ndarray) -> float:
    """Pupil-minutes one way on a school day once every closure of the plan has happened."""
    return _pupil_minutes(p, into, np.ones(len(into)))


def _pupil_minutes(p: ClosureProblem, into: np.ndarray, weight: np.ndarray) -> float:
    j_of = {int(s): j for j, s in enumerate(p.receiver)}
    return float(sum(p.pupils[i] * p.minutes[i, j_of[int(into[i])]] * weight[i]
                     for i in np.flatnonzero(into >= 0)))


class _Model:
    """Variables and constraint rows of one problem, some constraint families relaxed."""

    def __init__(self, p: ClosureProblem, relax: frozenset[str] = frozenset()):
        self.p = p
        allowed = p.allowed(exemption="exemption" not in relax)
        vars_ = [(i, j, k) for i in range(len(p.school)) for j in np.flatnonzero(allowed[i])
                 for k, y in enumerate(p.years) if y >= p.first_year[i]]
        self.vi = np.array([v[0] for v in vars_], np.int64)
        self.vj = np.array([v[1] for v in vars_], np.int64)
        self.vk = np.array([v[2] for v in vars_], np.int64)
        self.n_y = len(vars_)
        self.rows: list[tuple[np.ndarray, np.ndarray, float, float]] = []
        self.n_z = 0
        self._zcols: list[int] = []
        self._once()
        check = p.capacity_check
        if check and "seats" not in relax:
            self._seats()
        if check and "beds" not in relax:
            self._beds()
        if check and "canteen" not in relax:
            self._canteen()

    def add(self, cols, vals, lb: float, ub: float) -> None:
        cols = np.asarray(cols, np.int64)
        if cols.size:
            self.rows.append((cols, np.asarray(vals, float), lb, ub))

    def _once(self) -> None:
        for i in range(len(self.p.school)):
            self.add(np.flatnonzero(self.vi == i), np.ones(int((self.vi == i).sum())), -np.inf, 1)

    def _seats(self) -> None:
        p = self.p
        pg = p.pupils_g
        free = p.seats - p.enrolled[:, None, :]  # (receivers, years, grades)
        for j in range(len(p.receiver)):
            into = self.vj == j
            if not into.any():
                continue
            for k in range(len(p.years)):
                upto = np.flatnonzero(into & (self.vk <= k))
                for g in range(1, pg.shape[1]):
                    need = pg[self.vi[upto], g]
                    if need.any():
                        self.add(upto, need, -np.inf, max(0, int(free[j, k, g])))
                # the simulation's check: this year's pupils fit the free seats over the
                # grades of each school it takes (grades taken earlier count where they are)
                this = np.flatnonzero(into & (self.vk == k))
                if this.size == 0:
                    continue
                before = np.flatnonzero(into & (self.vk < k))
                spans = sorted({(int(p.grade_lo[i]), int(p.grade_hi[i])) for i in self.vi[this]})
                total = float(p.pupils[self.vi[np.flatnonzero(into)]].sum())
                for lo, hi in spans:
                    z = self.n_y + self.n_z
                    self.n_z += 1
                    span_free = float(free[j, k, lo:hi + 1].sum())
                    big = total + max(0.0, -span_free)
                    in_span = pg[self.vi[before], lo:hi + 1].sum(axis=1)
                    self.add(np.concatenate([this, before, [z]]),
                             np.concatenate([p.pupils[self.vi[this]], in_span, [big]]),
                             -np.inf, span_free + big)
                    for v in this:
                        i = self.vi[v]
                        if (p.grade_lo[i], p.grade_hi[i]) == (lo, hi):
                            self.add([v, z], [1.0, -1.0], -np.inf, 0)

    def _beds(self) -> None:
        p = self.p
        far = p.minutes[self.vi, self.vj] > p.max_travel_min
        need = p.boarding_age[self.vi] * far
        for j in range(len(p.receiver)):
            for k in range(len(p.years)):
                upto = np.flatnonzero((self.vj == j) & (self.vk <= k) & (need > 0))
                self.add(upto, need[upto], -np.inf, max(0, int(p.beds_free[j, k]) + p.new_beds))

    def _canteen(self) -> None:
        p = self.p
        for j in range(len(p.receiver)):
            for k in range(len(p.years)):
                if p.canteen[j, k] < 0:
                    continue
                this = np.flatnonzero((self.vj == j) & (self.vk == k))
                self.add(this, p.pupils[self.vi[this]], -np.inf, int(p.canteen[j, k]))

    def by_year(self, members: np.ndarray, year: int) -> np.ndarray:
        """Variables that close one of `members` (candidate indices) by `year`."""
        yrs = np.array(self.p.years)[self.vk]
        return np.flatnonzero(np.isin(self.vi, members) & (yrs <= year))

    def solve(self, c: np.ndarray, extra: list[tuple[np.ndarray, np.ndarray, float, float]]
              ) -> tuple[np.ndarray | None, str]:
        n = self.n_y + self.n_z
        rows = self.rows + extra
        r_idx = np.concatenate([np.full(len(r[0]), k) for k, r in enumerate(rows)]) if rows else \
            np.zeros(0, int)
        cols = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, int)
        vals = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
        A = coo_array((vals, (r_idx, cols)), shape=(len(rows), n)).tocsr()
        lb = np.array([r[2] for r in rows])
        ub = np.array([r[3] for r in rows])
        cost = np.zeros(n)
        cost[:len(c)] = c
        res = milp(cost, integrality=np.ones(n), bounds=(0, 1),
                   constraints=LinearConstraint(A, lb, ub) if rows else None,
                   options={"time_limit": TIME_LIMIT_S, "mip_rel_gap": 0.0})
        if res.x is None:
            return None, "infeasible" if res.status == 2 else res.message
        return np.round(res.x[:self.n_y]).astype(np.int64), (
            "optimal" if res.status == 0 else res.message)


def required(p: ClosureProblem, q: Quota) -> int:
    """Schools a quota asks for: its share of the base-year count, or (no share) every covered
    school the exemption lets close."""
    if q.share is None:
        return int(p.closable()[q.covered].sum())
    return q.need


def largest_closures(p: ClosureProblem, targets: list[int],
                     relax: frozenset[str] = frozenset()) -> list[int]:
    """For each quota in order, the most of its schools that can be closed by its year, given
    that each earlier quota closes `targets` of its own (or its own most, if fewer)."""
    m = _Model(p, relax)
    extra: list = []
    best = []
    for q, want in zip(p.quotas, targets, strict=True):
        cols = m.by_year(q.covered, q.year)
        c = np.zeros(m.n_y)
        c[cols] = -1.0
        x, _ = m.solve(c, extra)
        most = 0 if x is None else int(x[cols].sum())
        best.append(most)
        extra.append((cols, np.ones(len(cols)), float(min(want, most)), np.inf))
    return best


def binding_constraints(p: ClosureProblem, targets: list[int], most: list[int]
                        ) -> list[dict[str, int]]:
    """For each quota that cannot be met, the most closures with each constraint family relaxed
    alone and with all relaxed ({} for a quota that can be met)."""
    out: list[dict[str, int]] = [{} for _ in p.quotas]
    short = [q for q, (t, b) in enumerate(zip(targets, most, strict=True)) if b < t]
    if not short:
        return out
    for fam in FAMILIES + ("all",):
        relax = frozenset(FAMILIES) if fam == "all" else frozenset([fam])
        alt = largest_closures(p, targets, relax)
        for q in short:
            out[q][fam] = alt[q]
    return out


def plan_is_feasible(p: ClosureProblem, year: np.ndarray, into: np.ndarray) -> bool:
    """Whether a given plan (candidate i closes in `year[i]` into school `into[i]`, -1: open)
    keeps every constraint of the problem (the quotas aside)."""
    m = _Model(p)
    key = {(int(i), int(j), int(k)): v for v, (i, j, k) in enumerate(zip(m.vi, m.vj, m.vk,
                                                                              strict=True))}
    j_of = {int(s): j for j, s in enumerate(p.receiver)}
    chosen = []
    for i in np.flatnonzero(into >= 0):
        v = key.get((int(i), j_of.get(int(into[i]), -1),
                     p.years.index(int(year[i])) if int(year[i]) in p.years else -1))
        if v is None:
            return False  # a receiver or a year the problem does not allow
        chosen.append(v)
    on = np.zeros(m.n_y, bool)
    on[chosen] = True
    extra = [(np.flatnonzero(on), np.ones(int(on.sum())), float(on.sum()), np.inf),
             (np.flatnonzero(~on), np.ones(int((~on).sum())), -np.inf, 0.0)]
    x, _ = m.solve(np.zeros(m.n_y), extra)
    return x is not None


def best_plan(p: ClosureProblem, targets: list[int] | None = None,
              counts_by_year: dict[int, int] | None = None) -> Solution:
    """The plan of least pupil-minutes (`travel_cost`) that closes, by each quota's year, at
    least `targets[q]` of its schools (default: what each quota asks, `required`), or, given
    `counts_by_year`, exactly that many candidates by each year (to compare with another plan
    at the same closures)."""
    m = _Model(p)
    years = np.array(p.years)[m.vk]
    c = p.pupils[m.vi] * p.minutes[m.vi, m.vj] * (p.horizon - years + 1) + 1e-6
    extra: list = []
    if counts_by_year is None:
        targets = targets if targets is not None else [required(p, q) for q in p.quotas]
        for q, t in zip(p.quotas, targets, strict=True):
            cols = m.by_year(q.covered, q.year)
            extra.append((cols, np.ones(len(cols)), float(t), np.inf))
    else:
        everyone = np.arange(len(p.school))
        for y, n in counts_by_year.items():
            cols = m.by_year(everyone, y)
            extra.append((cols, np.ones(len(cols)), float(n), float(n)))
    x, status = m.solve(c, extra)
    year = np.zeros(len(p.school), np.int64)
    into = np.full(len(p.school), -1, np.int64)
    if x is None:
        return Solution(year, into, np.nan, status)
    for v in np.flatnonzero(x):
        year[m.vi[v]] = p.years[m.vk[v]]
        into[m.vi[v]] = p.receiver[m.vj[v]]
    return Solution(year, into, travel_cost(p, year, into), status)
