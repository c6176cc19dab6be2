"""School by school: where the pupils of each closed, downgraded or exempted school went
(`affected_pupils.csv`), the villages that lost their school (`affected_villages.csv`), and every
school's pupils, classes, boarders against beds and canteen use by year (`school_years.csv`),
over a run's replicates; and the short console lines and report tables made from them.

Affected pupils are defined in sim/model/affected.py. Counts per replicate are medians with
the 5th and 95th percentiles over replicates; travel (one-way day minutes, door to school) is
over the affected day pupils of all replicates (median, 5th and 95th percentiles); shares are of
the affected pupils of all replicates.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.core import i18n, rules
from sim.core.i18n import N_, _
from sim.core.kernels.state import EV_CLOSED, EV_DOWNGRADED, EV_EXEMPTED, EV_EXPANDED, EV_RECEIVED
from sim.model.affected import MOVING_EVENTS
from sim.model.build import Model
from sim.model.engine import RunResult

MODE_OF_CODE = {code: name for name, code in dt.MODE_NAMES.items()}
#: what happened to an affected pupil by the end of the year, from its status and school
#: ... and how `destinations` writes those that are not a school (in English, as the CSV files
#: hold them; `destinations_words` shows them in the reader's language)
OUTCOME_WORDS = {"unplaced": N_("unplaced"), "dropped_out": N_("dropped out"),
                 "left_county": N_("left county"), "other": N_("other")}
OUTCOMES = ("moved", *OUTCOME_WORDS)


def _outcome(status: np.ndarray, destination: np.ndarray) -> np.ndarray:
    out = np.full(len(status), "other", object)
    out[(status == dt.ENROLLED) & (destination >= 0)] = "moved"
    out[(status == dt.UNPLACED) | ((status == dt.ENROLLED) & (destination < 0))] = "unplaced"
    out[status == dt.DROPPED_OUT] = "dropped_out"
    out[status == dt.MIGRATED] = "left_county"
    return out


def pupils_frame(model: Model, result: RunResult) -> pd.DataFrame:
    """The affected pupils of a run, one row per pupil and replicate, with names."""
    df = pd.DataFrame(result.affected.columns())
    if df.empty:
        return df.assign(outcome=pd.Series(dtype=object))
    names = np.array(model.world.school_name, object)
    df["outcome"] = _outcome(df["status_after"].to_numpy(), df["destination"].to_numpy())
    df["school_name"] = names[df["school"].to_numpy()]
    dest = df["destination"].to_numpy()
    df["destination_name"] = np.where(dest >= 0, names[np.maximum(dest, 0)], "")
    df["village_name"] = np.array(model.world.node_name, object)[df["village"].to_numpy()]
    return df


def _event(events: np.ndarray, s: int, year: int) -> str:
    """closed / downgraded / exempted: what the plan did to school s in `year`: the first (in
    that order) in at least half the replicates, else the first in any; "" if none."""
    flags = events[:, s, year]
    shares = [(name, ((flags & bit) != 0).mean()) for name, bit in (
        ("closed", EV_CLOSED), ("downgraded", EV_DOWNGRADED), ("exempted", EV_EXEMPTED))]
    return next((name for least in (0.5, 1e-12) for name, share in shares if share >= least), "")


def _per_replicate(counts: pd.Series, replicates: int) -> tuple[float, float, float]:
    """Median, 5th and 95th percentiles over `replicates` replicates of a count (0 where
    absent)."""
    full = np.zeros(replicates)
    full[: len(counts)] = counts.to_numpy()
    return (float(np.median(full)), float(np.quantile(full, 0.05, method="lower")),
            float(np.quantile(full, 0.95, method="higher")))


def _quantiles(x: pd.Series) -> tuple[float, float, float]:
    x = x.dropna().to_numpy()
    if not len(x):
        return (np.nan, np.nan, np.nan)
    return tuple(float(v) for v in np.quantile(x, [0.5, 0.05, 0.95]))


def _destinations(sel: pd.DataFrame, top: int = 4) -> str:
    """'S03 82%, S07 15%, out of school 3%': where the pupils are at the end of the year."""
    where = np.where(sel["outcome"] == "moved", sel["destination_name"],
                     sel["outcome"].map(OUTCOME_WORDS))
    share = pd.Series(where).value_counts(normalize=True, sort=False)
    share = share.sort_values(ascending=False, kind="mergesort")
    parts = [f"{k} {v:.0%}" for k, v in share.head(top).items()]
    return ", ".join(parts) + (f" and {len(share) - top} more" if len(share) > top else "")


_MORE = re.compile(r" and (\d+) more$")


def destinations_words(text: str) -> str:
    """`destinations` of the tables ('S03 82%, dropped out 3% and 2 more', English as the CSV
    files hold it) in the reader's language."""
    if i18n.current() == "en" or not isinstance(text, str):
        return text
    more = _MORE.search(text)
    body = text[:more.start()] if more else text
    items = []
    for item in body.split(", ") if body else []:
        name, _sep, share = item.rpartition(" ")
        items.append(f"{_(name) if name in OUTCOME_WORDS.values() else name} {share}")
    return _(", ").join(items) + (_(" and {n} more").format(n=more.group(1)) if more else "")


AFFECTED_COLUMNS = [
    "year", "school", "event", "share_of_replicates", "pupils_per_replicate", "pupils_p05", "pupils_p95",
    "destinations", "main_destination", "share_moved", "share_unplaced", "share_dropped_out",
    "share_left_county", *[f"share_{m}" for m in ("walk", "bus", "private", "boarding", "renting")],
    "travel_before_p50", "travel_before_p05", "travel_before_p95",
    "travel_after_p50", "travel_after_p05", "travel_after_p95", "out_of_school_per_replicate"]


def affected_table(model: Model, result: RunResult, pupils: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """One row per year and school the plan closed, downgraded or kept for the lower grades
    whose pupils had to move (see module docstring): pupils per replicate, where they are at the
    end of the year (schools and shares), their mode after, and one-way day travel before and
    after (minutes)."""
    df = pupils_frame(model, result) if pupils is None else pupils
    reps = result.values.shape[0]
    rows = []
    if df.empty:
        return pd.DataFrame(rows, columns=AFFECTED_COLUMNS)
    moving = (result.school_events & MOVING_EVENTS) != 0
    for (year, s), sel in df.groupby(["year", "school"], sort=True):
        n = sel.groupby("replicate").size()
        acted = int(moving[:, int(s), int(year)].sum())  # replicates in which the plan acted
        p50, p05, p95 = _per_replicate(n, max(acted, len(n)))
        moved = sel[sel["outcome"] == "moved"]
        main = moved["destination_name"].value_counts()
        modes = moved["mode_after"].map(MODE_OF_CODE).value_counts(normalize=False)
        out = sel["outcome"].isin(["unplaced", "dropped_out"])
        tb, ta = _quantiles(sel["travel_before"]), _quantiles(sel["travel_after"])
        rows.append({
            "year": int(year), "school": model.world.school_name[int(s)],
            "event": _event(result.school_events, int(s), int(year)),
            "share_of_replicates": acted / reps,
            "pupils_per_replicate": p50, "pupils_p05": p05, "pupils_p95": p95,
            "destinations": _destinations(sel),
            "main_destination": main.index[0] if len(main) else "",
            **{f"share_{o}": float((sel["outcome"] == o).mean())
               for o in ("moved", "unplaced", "dropped_out", "left_county")},
            **{f"share_{m}": float(modes.get(m, 0) / len(sel))
               for m in ("walk", "bus", "private", "boarding", "renting")},
            "travel_before_p50": tb[0], "travel_before_p05": tb[1], "travel_before_p95": tb[2],
            "travel_after_p50": ta[0], "travel_after_p05": ta[1], "travel_after_p95": ta[2],
            "out_of_school_per_replicate": float(out.sum() / max(acted, 1))})
    return pd.DataFrame(rows, columns=AFFECTED_COLUMNS)


VILLAGE_COLUMNS = ["year", "village", "schools_lost", "pupils_per_replicate", "destinations",
                   "bus_line_share_of_replicates", "share_bus", "share_boarding",
                   "travel_after_p50", "travel_after_p95", "share_out_of_school", "no_line_why"]


def village_table(model: Model, result: RunResult, pupils: pd.DataFrame | None = None
                  ) -> pd.DataFrame:
    """One row per year and village that lost its school (the school in the village, or its
    base-year catchment school: the nearest teaching grade 1, on foot) with pupils the plan
    moved: the schools it lost, where its pupils went, whether a student bus line serves it
    (share of replicates) and why not where none does (replicate 0's network), bus and
    boarding shares, travel after."""
    df = pupils_frame(model, result) if pupils is None else pupils
    reps = result.values.shape[0]
    rows = []
    if df.empty:
        return pd.DataFrame(rows, columns=VILLAGE_COLUMNS)
    nets = model.bus.networks
    own = (model.W.school_node[df["school"].to_numpy()] == df["village"].to_numpy()) | (
        model.W.node_catchment[df["village"].to_numpy()] == df["school"].to_numpy())
    df = df[own]
    for (year, v), sel in df.groupby(["year", "village"], sort=True):
        lines = [nets[k].dest[v] >= 0 for k in result.bus_networks[:, int(year)] if k >= 0]
        k0 = result.bus_networks[0, int(year)]
        why = nets[k0].unserved.get(int(v), ("", 0))[0] if k0 >= 0 else ""
        moved = sel[sel["outcome"] == "moved"]
        ta = _quantiles(sel["travel_after"])
        rows.append({
            "year": int(year), "village": model.world.node_name[int(v)],
            "schools_lost": ", ".join(sorted(set(sel["school_name"]))),
            "pupils_per_replicate": float(len(sel) / reps),
            "destinations": _destinations(sel, top=3),
            "bus_line_share_of_replicates": float(np.mean(lines)) if lines else 0.0,
            "share_bus": float((moved["mode_after"] == dt.BUS).sum() / len(sel)),
            "share_boarding": float((moved["mode_after"] == dt.BOARDING).sum() / len(sel)),
            "travel_after_p50": ta[0], "travel_after_p95": ta[2],
            "share_out_of_school": float(sel["outcome"].isin(["unplaced", "dropped_out"]).mean()),
            "no_line_why": why})
    return pd.DataFrame(rows, columns=VILLAGE_COLUMNS)


def _class_shape(enrol: np.ndarray, classes: np.ndarray, model: Model) -> tuple[np.ndarray, ...]:
    """(classes taught, largest class, cap) per grade: the indicators' class split
    (`rules.class_shapes` over `rules.class_split`)."""
    p = model.P
    cap = np.array([rules.class_cap(g, p.cap_primary, p.cap_junior)
                    for g in range(dt.N_GRADES + 1)])
    n_cls, largest = rules.class_shapes(np.ascontiguousarray(enrol, np.int64),
                                        np.ascontiguousarray(classes, np.int64),
                                        float(p.cap_primary), float(p.cap_junior))
    return n_cls, largest, cap


def _median_open(a: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Median over replicates (axis 0) of the replicates in which the school is open (NaN
    where it is open in none)."""
    x = np.where(on.reshape(on.shape + (1,) * (a.ndim - on.ndim)), a, np.nan).astype(float)
    with warnings.catch_warnings():  # all-NaN slices: schools closed in every replicate
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=0)


def school_years_table(model: Model, result: RunResult) -> pd.DataFrame:
    """Every school in every year (end of the year), over the replicates in which it is open:
    pupils, classes and the mean and largest class, the grade of the largest class, classes over
    the cap, boarders against beds, canteen places and pupils per place, and per grade the
    pupils and largest class (medians; `largest_class_p95` the 95th percentile); plus what the
    plan did to it that year and the share of replicates in which it is open."""
    t = result.schools
    w = model.world
    n_cls, largest, cap = _class_shape(t.enrol, t.classes, model)
    pupils = t.enrol.sum(axis=-1)
    classes = n_cls.sum(axis=-1)
    mean_class = np.divide(pupils, classes, out=np.zeros(pupils.shape), where=classes > 0)
    biggest = largest.max(axis=-1)
    over_cap = ((largest > cap) & (n_cls > 0)).sum(axis=-1)
    canteen_use = np.divide(pupils, t.canteen, out=np.full(pupils.shape, np.nan),
                            where=t.canteen > 0)
    on = t.open  # (replicate, year, school)
    med = {k: _median_open(v, on) for k, v in (
        ("pupils", pupils), ("classes", classes), ("mean_class", mean_class),
        ("largest_class", biggest), ("classes_over_cap", over_cap), ("boarders", t.beds_used),
        ("beds", t.beds), ("canteen_places", t.canteen), ("canteen_use", canteen_use))}
    by_grade = _median_open(t.enrol, on)           # (year, school, grade)
    largest_g = _median_open(largest, on)
    big_p95 = np.where(on, biggest, -1).astype(float)
    share_open = on.mean(axis=0)
    known = np.where(on, t.canteen > 0, True).all(axis=0)
    level_name = dt.LEVEL_OF_CODE
    events = result.school_events  # (replicate, school, year)
    rows = []
    for s, name in enumerate(w.school_name):
        for year in range(t.enrol.shape[1]):
            if share_open[year, s] == 0:
                continue
            flags = events[:, s, year]
            what = []
            for k, bit in (("closed", EV_CLOSED), ("downgraded", EV_DOWNGRADED),
                           ("exempted", EV_EXEMPTED), ("expanded", EV_EXPANDED),
                           ("received", EV_RECEIVED)):
                share = ((flags & bit) != 0).mean()
                if share > 0:
                    what.append(k if share >= 1 else f"{k} ({share:.0%})")
            open_big = big_p95[on[:, year, s], year, s]
            row = {"year": year, "school": name,
                   "school_level": level_name[int(w.school_level[s])],
                   "share_open": float(share_open[year, s]), "events": ", ".join(what),
                   **{k: float(med[k][year, s]) for k in ("pupils", "classes", "mean_class",
                                                          "largest_class")},
                   "largest_class_p95": float(np.quantile(open_big, 0.95, method="higher")),
                   "largest_class_grade": int(np.argmax(largest_g[year, s])),
                   **{k: float(med[k][year, s]) for k in ("classes_over_cap", "boarders",
                                                          "beds", "canteen_places")},
                   "pupils_per_canteen_place": (float(med["canteen_use"][year, s])
                                                if known[year, s] else np.nan)}
            for g in range(1, dt.N_GRADES + 1):
                row[f"g{g}_pupils"] = float(by_grade[year, s, g])
                row[f"g{g}_largest_class"] = float(largest_g[year, s, g])
            rows.append(row)
    df = pd.DataFrame(rows)
    df["mean_class"] = df["mean_class"].round(1)
    df["pupils_per_canteen_place"] = df["pupils_per_canteen_place"].round(2)
    df["over_cap"] = df["classes_over_cap"] > 0
    df["boarders_over_beds"] = df["boarders"] > df["beds"]
    df["canteen_over_places"] = df["pupils_per_canteen_place"] > 1
    return df


FLOW_COLUMNS = ["year", "school", "destination", "pupils_per_replicate"]


def flows_table(model: Model, result: RunResult, pupils: pd.DataFrame | None = None
                ) -> pd.DataFrame:
    """Closed (downgraded, exempted) school -> school its pupils are at by the end of the year:
    pupils per replicate in which the plan acted on the school (the flow map's widths)."""
    df = pupils_frame(model, result) if pupils is None else pupils
    if df.empty:
        return pd.DataFrame(columns=FLOW_COLUMNS)
    moving = (result.school_events & MOVING_EVENTS) != 0
    moved = df[df["destination"] >= 0]
    rows = []
    for (year, s, d), sel in moved.groupby(["year", "school", "destination"], sort=True):
        acted = max(int(moving[:, int(s), int(year)].sum()), 1)
        rows.append((int(year), model.world.school_name[int(s)],
                     model.world.school_name[int(d)], len(sel) / acted))
    return pd.DataFrame(rows, columns=FLOW_COLUMNS)


def touched_schools(result: RunResult, model: Model) -> list[str]:
    """Schools the plan closes, downgrades, exempts, expands or makes receive, in county order."""
    moved = EV_CLOSED | EV_DOWNGRADED | EV_EXEMPTED | EV_EXPANDED | EV_RECEIVED
    any_ = ((result.school_events & moved) != 0).any(axis=(0, 2))
    return [model.world.school_name[s] for s in np.flatnonzero(any_)]


def tables(model: Model, result: RunResult) -> dict[str, pd.DataFrame]:
    """The per-school CSV tables of a run folder."""
    pupils = pupils_frame(model, result)
    return {"affected_pupils.csv": affected_table(model, result, pupils).round(3),
            "affected_flows.csv": flows_table(model, result, pupils).round(3),
            "affected_villages.csv": village_table(model, result, pupils).round(3),
            "school_years.csv": school_years_table(model, result).round(3)}


def _minutes(x: float) -> str:
    return "-" if x != x else f"{x:.0f}"


def console_lines(affected: pd.DataFrame, top: int = 8) -> list[str]:
    """The short console block: the largest moves first, one line per school (villages left
    without a bus line are in the plan-carried-out block)."""
    if affected.empty:
        return []
    lines = [_("Pupils the plan moves (per replicate, median; travel one way, median [90%] of "
               "day pupils; affected_pupils.csv has every school):")]
    show = affected.sort_values(["pupils_per_replicate", "year"], ascending=[False, True],
                                kind="mergesort").head(top)
    for r in show.itertuples():
        out = r.out_of_school_per_replicate
        event = i18n.term("event", r.event)
        if r.share_of_replicates < 1:
            event = _("{event} in {share:.0%} of replicates").format(
                event=event, share=r.share_of_replicates)
        lines.append(_(
            "  year {year} {school} ({event}): {pupils:.0f} pupils -> {where}; travel {before} -> "
            "{after} min [{p05}, {p95}]; bus {bus:.0%}, boarding {boarding:.0%}").format(
            year=r.year, school=r.school, event=event, pupils=r.pupils_per_replicate,
            where=destinations_words(r.destinations), before=_minutes(r.travel_before_p50),
            after=_minutes(r.travel_after_p50), p05=_minutes(r.travel_after_p05),
            p95=_minutes(r.travel_after_p95), bus=r.share_bus, boarding=r.share_boarding)
            + (_("; OUT OF SCHOOL {n:.2g} per replicate").format(n=out) if out > 0 else ""))
    if len(affected) > top:
        lines.append(_("  ... and {n} more schools").format(n=len(affected) - top))
    return lines
