"""Agent-level snapshot of one replicate for the report's distributions and map: class sizes,
day travel times, dropout by group, and schools before and after (replicate 0 by default)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.i18n import N_
from sim.model import build, engine
from sim.model.scenario import Scenario

PRIMARY_GRADES = range(1, rules.LAST_PRIMARY_GRADE + 1)
JUNIOR_GRADES = range(dt.FIRST_JUNIOR_GRADE, dt.N_GRADES + 1)


@dataclass
class Snapshot:
    scenario: str
    class_sizes: dict[str, np.ndarray]     #: level -> sizes of every class in the final year (pupils)
    day_travel: dict[str, np.ndarray]      #: level -> one-way minutes of day pupils, final year
    dropout_by_group: dict[str, float]     #: group -> share of children ever enrolled who dropped out
    base_pupils: np.ndarray                #: pupils per school after the base year
    final_pupils: np.ndarray               #: pupils per school in the final year
    final_open: np.ndarray                 #: bool per school
    bus_links: list[tuple[int, int]]       #: (village node, school) of bus riders, final year
    world: object                          #: sim.model.world.World


def _class_sizes(S, W, P, grades: range) -> np.ndarray:
    """Pupils in every class of these grades in open schools (the indicators' class split)."""
    sizes = []
    for s in np.flatnonzero(S.open):
        for g in grades:
            n = int(S.enrol[s, g])
            if n == 0:
                continue
            cap = rules.class_cap(g, P.cap_primary, P.cap_junior)
            nc, q, r = rules.class_split(n, cap, int(S.classes[s]))
            sizes += [q + 1] * r + [q] * (nc - r)
    return np.array(sizes, dtype=np.int64)


def take(scenario: Scenario, replicate: int = 0) -> Snapshot:
    """Run one replicate and keep what the report's figures need."""
    model = build.build_model(scenario)
    base = None
    for state in engine.trace_replicate(model, replicate):
        if state.year == 0:
            base = state.S.enrol.sum(axis=1).copy()
    S, H, C = state.S, state.H, state.C
    n = C.n_used[0]
    st, grade, mode = C.status[:n], C.grade[:n], C.mode[:n]
    enrolled = (st == dt.ENROLLED) & (C.school[:n] >= 0)
    day = enrolled & (mode != dt.BOARDING)  # rules.is_day_pupil: renters travel from their room
    travel = C.travel[:n]
    hh = C.hh[:n]
    ever = enrolled | (st == dt.DROPPED_OUT) | (st == dt.GRADUATED)
    dropped = st == dt.DROPPED_OUT
    groups = {
        N_("all"): ever,
        N_("left-behind"): ever & (H.parents[hh] < 2),
        N_("parents at home"): ever & (H.parents[hh] >= 2),
        N_("hardship"): ever & H.hardship[hh],
        N_("girls"): ever & C.female[:n],
        N_("boys"): ever & ~C.female[:n],
        N_("primary"): ever & (grade <= rules.LAST_PRIMARY_GRADE),
        N_("junior"): ever & (grade > rules.LAST_PRIMARY_GRADE),
    }
    bus = enrolled & (mode == dt.BUS)
    links = sorted({(int(H.node[h]), int(s)) for h, s in zip(hh[bus], C.school[:n][bus], strict=True)})
    return Snapshot(
        scenario=scenario.name,
        class_sizes={"primary": _class_sizes(S, model.W, model.P, PRIMARY_GRADES),
                     "junior": _class_sizes(S, model.W, model.P, JUNIOR_GRADES)},
        day_travel={"primary": travel[day & (grade <= rules.LAST_PRIMARY_GRADE)],
                    "junior": travel[day & (grade > rules.LAST_PRIMARY_GRADE)]},
        dropout_by_group={k: float(dropped[m].sum() / max(m.sum(), 1)) for k, m in groups.items()},
        base_pupils=base, final_pupils=S.enrol.sum(axis=1).copy(), final_open=S.open.copy(),
        bus_links=links, world=model.world,
    )
