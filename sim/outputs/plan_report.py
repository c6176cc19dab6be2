"""Was the plan carried out? Per year, what the plan's named actions and closure rules did to
which schools over a run's replicates (closed, deferred and why, kept as teaching points,
expanded, opened), and each closure target met or missed.

Two tables a run's folder holds (`plan_events.csv`, `plan_targets.csv`) and the text block
`schoolflow run` and `compare` print from them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.core import i18n
from sim.core.i18n import N_, _
from sim.core.kernels import state as ev
from sim.model.build import Model
from sim.model.engine import RunResult
from sim.model.scenario import Scenario
from sim.outputs.thresholds import is_met, rule_words, status_word

#: why a closure was deferred, in words
DEFER_REASONS = {
    "deferred_no_receiver": N_("no open school teaching its grades to receive its pupils"),
    "deferred_seats": N_("too few free seats at the receiving school"),
    "deferred_canteen": N_("too few canteen places at the receiving school"),
    "deferred_beds": N_("too few boarding beds at the receiving school"),
}
_SHOWN = [k for k in ev.EVENT_NAMES if k != "by_action"]
#: terminal columns of the block's tags ("NOT DONE: "), so that the texts line up
TAG_WIDTH = 10


def events_table(model: Model, result: RunResult) -> pd.DataFrame:
    """One row per year, school and event (`closed`, `deferred_*`, `downgraded`, `exempted`,
    `expanded`, `opened`, `received`) that happened in at least one replicate: whether a named
    action did it (`by_action`; `received` and `exempted` rows say False), in how many
    replicates, and the share of replicates."""
    events = result.school_events  # (replicate, school, year)
    n_rep = events.shape[0]
    rows = []
    names = model.world.school_name
    for year in range(1, events.shape[2]):
        flags = events[:, :, year]
        for s in np.flatnonzero(flags.any(axis=0)):
            col = flags[:, s]
            for name in _SHOWN:
                hit = (col & ev.EVENT_NAMES[name]) != 0
                for by_action in (True, False):
                    if name in ("expanded", "opened"):  # only named actions do these
                        mask = hit & by_action
                    elif name in ("received", "exempted"):
                        mask = hit & (not by_action)
                    else:
                        mask = hit & (((col & ev.EV_BY_ACTION) != 0) == by_action)
                    k = int(mask.sum())
                    if k:
                        rows.append((year, names[s], name, by_action, k, k / n_rep))
    return pd.DataFrame(rows, columns=["year", "school", "event", "by_action", "replicates",
                                       "share"])


def targets_table(model: Model, result: RunResult) -> pd.DataFrame:
    """Each closure rule with a share target: the share of the base year's schools of its levels
    under `below` pupils that is closed by its year (mean, median and 90% interval over
    replicates),
    and the share of replicates that reach the target; the same counting the schools kept as
    teaching points (downgraded by the plan or the travel exemption) as closed."""
    s = model.scenario
    level0 = model.world.school_level
    planned = model.world.planned()
    base = result.school_pupils[:, 0, :, 2]  # (replicate, school) pupils in the base year
    closed_by = np.zeros_like(result.school_events[:, :, 0], dtype=bool)
    kept_by = np.zeros_like(closed_by)  # downgraded to a teaching point (plan or exemption)
    rows = []
    rules = sorted(s.policies.closures, key=lambda r: r.year)
    for year in range(1, result.school_events.shape[2]):
        closed_by |= (result.school_events[:, :, year] & ev.EV_CLOSED) != 0
        kept_by |= (result.school_events[:, :, year] & (ev.EV_DOWNGRADED | ev.EV_EXEMPTED)) != 0
        for r in (r for r in rules if r.year == year and r.share is not None):
            levels = np.isin(level0, [dt.LEVEL_NAMES[x] for x in r.levels]) & ~planned
            eligible = levels[None, :] & (base < r.below)
            n_base = eligible.sum(axis=1)
            n_closed = (eligible & closed_by).sum(axis=1)
            share = np.divide(n_closed, n_base, out=np.full(len(n_base), np.nan),
                              where=n_base > 0)
            n_either = (eligible & (closed_by | kept_by)).sum(axis=1)
            either = np.divide(n_either, n_base, out=np.full(len(n_base), np.nan),
                               where=n_base > 0)
            need = np.ceil(r.share * n_base - 1e-9)
            rows.append({"year": year, "rule": r.target_words(year),
                         "target_share": r.share, "base_schools_mean": float(n_base.mean()),
                         "closed_share_mean": float(np.nanmean(share)),
                         "closed_share_median": float(np.nanmedian(share)),
                         "closed_share_p05": float(np.nanquantile(share, 0.05)),
                         "closed_share_p95": float(np.nanquantile(share, 0.95)),
                         "replicates_met": float((n_closed >= need).mean()),
                         "with_downgrades_share_mean": float(np.nanmean(either)),
                         "with_downgrades_share_median": float(np.nanmedian(either)),
                         "with_downgrades_replicates_met": float((n_either >= need).mean())})
    return pd.DataFrame(rows, columns=["year", "rule", "target_share", "base_schools_mean",
                                       "closed_share_mean", "closed_share_median",
                                       "closed_share_p05",
                                       "closed_share_p95", "replicates_met",
                                       "with_downgrades_share_mean",
                                       "with_downgrades_share_median",
                                       "with_downgrades_replicates_met"])


def _ids(df: pd.DataFrame, limit: int = 8) -> str:
    """Schools of `df` (most frequent first), with the share of replicates where not all."""
    df = df.sort_values(["share", "school"], ascending=[False, True])
    parts = [f"{r.school}" + ("" if r.share >= 1 else f" ({r.share:.0%})" if r.share >= 0.01
                              else " (<1%)")
             for r in df.head(limit).itertuples()]
    more = len(df) - limit
    return _(", ").join(parts) + (_(" and {n} more").format(n=more) if more > 0 else "")


def _per_rep(df: pd.DataFrame, n_rep: int) -> str:
    """Events per replicate: the mean over replicates (one decimal where not whole)."""
    mean = df["replicates"].sum() / n_rep
    return f"{mean:.1f}" if mean != round(mean) else f"{int(mean)}"


def _deferrals(events: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(reason in words, its rows) for each deferral reason present in `events`."""
    return [(_(words), events[events["event"] == reason])
            for reason, words in DEFER_REASONS.items() if (events["event"] == reason).any()]


def _action_lines(scenario: Scenario, year: int) -> list[str]:
    return [a.words() for a in scenario.policies.actions if a.year == year]


def carried_out_block(scenario: Scenario, events: pd.DataFrame, targets: pd.DataFrame,
                      n_rep: int, affected: pd.DataFrame | None = None,
                      villages: pd.DataFrame | None = None) -> str:
    """The "plan carried out" text: a loud first line when the plan did not happen as written,
    then per year the named actions and what became of them, the rules' closures (and the
    schools the travel exemption kept), deferrals with their reasons and school ids, closures
    that left pupils without a school place (`affected`: affected_pupils.csv), villages that
    lost their school with no bus line (`villages`: affected_villages.csv), and the targets met
    or missed."""
    years = sorted({a.year for a in scenario.policies.actions}
                   | {r.year for r in scenario.policies.closures})
    if not years:
        return _("Plan carried out ({name}): the scenario has no closures or actions.").format(
            name=scenario.name)
    out, problems = [], []

    def line(tag: str, text: str) -> str:  # "    done:     closed S12"
        return f"    {i18n.pad(_(tag), TAG_WIDTH)}{text}"
    for year in years:
        e = events[events["year"] == year]
        out.append(_("  year {year}:").format(year=year))
        for words in _action_lines(scenario, year):
            out.append(line(N_("plan:"), words))
        named = e[e["by_action"]]
        for name, verb in (("closed", N_("closed {schools}")),
                           ("downgraded", N_("downgraded {schools}")),
                           ("expanded", N_("expanded {schools}")),
                           ("opened", N_("opened {schools}"))):
            sel = named[named["event"] == name]
            if len(sel):
                out.append(line(N_("done:"), _(verb).format(schools=_ids(sel))))
        for words, sel in _deferrals(named):
            out.append(line(N_("NOT DONE:"), _("closing {schools} deferred: {why}").format(
                schools=_ids(sel), why=words)))
            problems.append(_("year {year}: named closure of {schools} deferred ({why})").format(
                year=year, schools=_ids(sel, 3), why=words))
        rule = e[~e["by_action"]]
        if any(r.year == year for r in scenario.policies.closures):
            closed = rule[rule["event"] == "closed"]
            exempt = rule[rule["event"] == "exempted"]
            out.append(line(N_("rules:"), _("{n} schools closed per replicate").format(
                n=_per_rep(closed, n_rep))
                + (_(" ({schools})").format(schools=_ids(closed, 6)) if len(closed) else "")
                + (_("; {n} kept for the lower grades by the travel exemption ({schools})").format(
                    n=_per_rep(exempt, n_rep), schools=_ids(exempt, 6)) if len(exempt) else "")))
            deferred = rule[rule["event"].isin(list(DEFER_REASONS))]
            if len(deferred):
                n_def = deferred.groupby("school")["replicates"].max().sum() / n_rep
                out.append(line(N_("DEFERRED:"), _("{n:.1f} rule closures per replicate:").format(
                    n=n_def)))
                for words, sel in _deferrals(deferred):
                    out.append(line("", f"{words}: {_ids(sel)}"))
                problems.append(_("year {year}: {n:.1f} rule closures deferred per "
                                  "replicate").format(year=year, n=n_def))
        if affected is not None and len(affected):
            stuck = affected[(affected["year"] == year) & (affected["share_unplaced"] > 0)]
            for r in stuck.itertuples():
                per = r.share_unplaced * r.pupils_per_replicate
                out.append(line(N_("UNPLACED:"), _(
                    "{school} {event}: {n:.1f} of its {pupils:.0f} pupils per replicate without "
                    "a school place (no school they can reach by day, board at or rent near takes "
                    "them)").format(school=r.school, event=i18n.term("event", r.event), n=per,
                                    pupils=r.pupils_per_replicate)))
                problems.append(_("year {year}: {school} {event} leaves {n:.1f} pupils per "
                                  "replicate without a school place").format(
                    year=year, school=r.school, event=i18n.term("event", r.event), n=per))
        if villages is not None and len(villages):
            alone = villages[(villages["year"] == year) & (villages["no_line_why"] != "")]
            for r in alone.itertuples():
                out.append(line(N_("NO BUS:"), _("{village} lost {schools}, no bus line "
                                                 "(replicate 0): {why}").format(
                    village=r.village, schools=r.schools_lost, why=r.no_line_why)))
            if len(alone):
                problems.append(_("year {year}: {n} village(s) lost their school with no bus "
                                  "line").format(year=year, n=len(alone)))
        for t in targets[targets["year"] == year].itertuples():
            t = t._replace(rule=rule_words(scenario, t))
            met = t.replicates_met
            ok = is_met(met)
            out.append(line(N_("target:"), _(
                "{rule}: {median:.1%} [{p05:.1%}, {p95:.1%}] closed - {verdict} (in {met:.0%} of "
                "replicates); counting schools kept as teaching points {either:.1%} (met in "
                "{either_met:.0%})").format(
                rule=t.rule, median=t.closed_share_median, p05=t.closed_share_p05,
                p95=t.closed_share_p95, verdict=status_word("met" if ok else "missed"), met=met,
                either=t.with_downgrades_share_median,
                either_met=t.with_downgrades_replicates_met)))
            if not ok:
                problems.append(_("year {year}: target {share:.0%} missed ({closed:.1%} closed, "
                                  "median)").format(year=year, share=t.target_share,
                                                    closed=t.closed_share_median))
    head = _("Plan carried out ({name}, {n} replicates; a school's share of replicates in "
             "brackets where not all):").format(name=scenario.name, n=n_rep)
    if problems:
        head = (_("!! THE PLAN WAS NOT CARRIED OUT AS WRITTEN: ") + _("; ").join(problems[:4])
                + (_("; and {n} more").format(n=len(problems) - 4) if len(problems) > 4 else "")
                + "\n" + head)
    return "\n".join([head, *out])


def plan_tables(model: Model, result: RunResult) -> dict[str, pd.DataFrame]:
    """The tables a run's folder holds about the plan (see module docstring)."""
    return {"plan_events.csv": events_table(model, result),
            "plan_targets.csv": targets_table(model, result)}


def block_for_run(model: Model, result: RunResult, written: dict | None = None) -> str:
    """The "plan carried out" text of a run just made (`written`: the run folder's tables
    already made, by file name)."""
    from sim.outputs import per_school
    tables = written if written is not None else {**plan_tables(model, result),
                                                  **per_school.tables(model, result)}
    return carried_out_block(model.scenario, tables["plan_events.csv"],
                             tables["plan_targets.csv"], result.values.shape[0],
                             tables["affected_pupils.csv"], tables["affected_villages.csv"])

