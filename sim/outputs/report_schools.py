"""The report's school-by-school part for one plan, from its results folder: where the pupils
of each closed school went (table and flow map: closed schools -> receivers, line width =
pupils), the villages that lost their school, and the schools the plan touches by year
(classes, largest class, boarders against beds, canteen use). Every school's rows are in the
folder's school_years.csv."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.core.i18n import N_, _, term  # noqa: E402
from sim.outputs import style  # noqa: E402
from sim.outputs.per_school import destinations_words  # noqa: E402

#: columns of the affected-pupils table as the report shows them
AFFECTED_SHOWN = {"year": N_("year"), "school": N_("school"), "event": N_("what the plan did"),
                  "pupils_per_replicate": N_("pupils (median per replicate)"),
                  "destinations": N_("where they are at the end of the year"),
                  "travel": N_("one-way day travel, before -> after (median [90%], min)"),
                  "share_bus": N_("bus"), "share_boarding": N_("boarding"),
                  "out_of_school_per_replicate": N_("out of school (per replicate)")}
SCHOOL_SHOWN = {"year": N_("year"), "school": N_("school"), "events": N_("plan"),
                "pupils": N_("pupils"), "classes": N_("classes"), "mean_class": N_("mean class"),
                "largest_class": N_("largest class (grade)"), "boarders": N_("boarders / beds"),
                "pupils_per_canteen_place": N_("pupils per canteen place"), "flags": N_("over")}


def read(folder: Path | None) -> dict[str, pd.DataFrame] | None:
    """The per-school tables of a results folder (None where it has none)."""
    if folder is None:
        return None
    out = {}
    for name in ("affected_pupils", "affected_flows", "affected_villages", "school_years"):
        try:
            out[name] = pd.read_csv(Path(folder) / f"{name}.csv",
                                    keep_default_na=name != "affected_villages")
        except FileNotFoundError:
            return None
        except pd.errors.EmptyDataError:
            out[name] = pd.DataFrame()
    return out


def _minutes(x: float) -> str:
    return "-" if x != x else f"{x:.0f}"


def affected_html(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p>" + html.escape(_("The plan moves no pupils.")) + "</p>"
    t = df.assign(
        travel=[f"{_minutes(r.travel_before_p50)} -> {_minutes(r.travel_after_p50)} "
                f"[{_minutes(r.travel_after_p05)}, {_minutes(r.travel_after_p95)}]"
                for r in df.itertuples()],
        event=[term("event", r.event) + ("" if r.share_of_replicates >= 1 else
                                         _(" (in {share:.0%} of replicates)").format(
                                             share=r.share_of_replicates))
               for r in df.itertuples()],
        destinations=df["destinations"].map(destinations_words),
        share_bus=[f"{x:.0%}" for x in df["share_bus"]],
        share_boarding=[f"{x:.0%}" for x in df["share_boarding"]],
        pupils_per_replicate=[f"{x:.0f}" for x in df["pupils_per_replicate"]],
        out_of_school_per_replicate=[f"{x:.1f}" for x in df["out_of_school_per_replicate"]])
    return _table(t[list(AFFECTED_SHOWN)].rename(columns=lambda c: _(AFFECTED_SHOWN[c])))


def villages_html(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p>" + html.escape(_("No village lost its school.")) + "</p>"
    t = pd.DataFrame({
        _("year"): df["year"], _("village"): df["village"], _("school lost"): df["schools_lost"],
        _("pupils per replicate"): [f"{x:.0f}" for x in df["pupils_per_replicate"]],
        _("where they are"): df["destinations"].map(destinations_words),
        _("bus line"): [(_("yes") if s >= 1 else
                         _("in {share:.0%} of replicates").format(share=s) if s > 0 else
                         _("NO ({why})").format(why=w) if w else
                         _("no (none planned for: pupils board or ride with family)"))
                        for s, w in zip(df["bus_line_share_of_replicates"], df["no_line_why"],
                                        strict=True)],
        _("by bus"): [f"{x:.0%}" for x in df["share_bus"]],
        _("boarding"): [f"{x:.0%}" for x in df["share_boarding"]],
        _("travel after (median, min)"): [_minutes(x) for x in df["travel_after_p50"]]})
    return _table(t)


def touched(years: pd.DataFrame, affected: pd.DataFrame) -> list[str]:
    """Schools the plan acts on or sends pupils to: events in any year, or a destination."""
    acted = years.loc[years["events"].fillna("") != "", "school"]
    return list(dict.fromkeys([*acted, *affected.get("main_destination", pd.Series(dtype=str))
                               .dropna()]))


def schools_html(years: pd.DataFrame, affected: pd.DataFrame, show_years: list[int]) -> str:
    """The touched schools in `show_years`: pupils, classes, largest class, beds, canteen."""
    if years.empty:
        return ""
    names = touched(years, affected)
    t = years[years["school"].isin(names) & years["year"].isin(show_years)].copy()
    if t.empty:
        return "<p>" + html.escape(_("The plan touches no school that stays open.")) + "</p>"
    t["largest_class"] = [f"{a:.0f} ({int(g)})" for a, g in zip(t["largest_class"],
                                                              t["largest_class_grade"], strict=True)]
    t["boarders"] = [f"{a:.0f} / {b:.0f}" for a, b in zip(t["boarders"], t["beds"], strict=True)]
    t["flags"] = [_(", ").join(_(w) for w, f in ((N_("class cap"), a), (N_("beds"), b),
                                                  (N_("canteen"), c)) if f)
                  for a, b, c in zip(t["over_cap"], t["boarders_over_beds"],
                                     t["canteen_over_places"], strict=True)]
    t["events"] = [_(", ").join(_event_words(x) for x in str(v).split(",") if x.strip())
                   for v in t["events"].fillna("")]
    t["pupils_per_canteen_place"] = [style.NOT_APPLICABLE if x != x else f"{x:.2f}"
                                     for x in t["pupils_per_canteen_place"]]
    t = t.sort_values(["school", "year"], kind="mergesort")
    return _table(t[list(SCHOOL_SHOWN)].rename(columns=lambda c: _(SCHOOL_SHOWN[c])))


def _event_words(item: str) -> str:
    """'received (50%)' in the reader's language: the event's term and its share."""
    name, sep, share = item.strip().partition(" (")
    return term("event", name) + (f" ({share}" if sep else "")


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, classes="t", na_rep=style.NOT_APPLICABLE,
                      float_format=lambda x: f"{x:,.4g}")


def flow_figure(flows: pd.DataFrame, world, name: str) -> plt.Figure | None:
    """Closed (downgraded, exempted) schools -> the schools their pupils are at, line width
    proportional to pupils per replicate, on the county's villages; schools named."""
    if flows.empty:
        return None
    index = {n: i for i, n in enumerate(world.school_name)}
    x, y = world.node_x_km[world.school_node], world.node_y_km[world.school_node]
    top = float(flows["pupils_per_replicate"].max())
    with style.figure_style():
        fig, ax = plt.subplots(figsize=(8, 6.5), constrained_layout=True)
        ax.scatter(world.node_x_km, world.node_y_km, s=4, color="#bbb", zorder=1,
                   label=_("village"))
        for r in flows.itertuples():
            a, b = index[r.school], index[r.destination]
            ax.plot([x[a], x[b]], [y[a], y[b]], color="tab:orange", alpha=0.7, zorder=2,
                    lw=0.5 + 6.0 * r.pupils_per_replicate / max(top, 1e-9))
        src = sorted({index[s] for s in flows["school"]})
        dst = sorted({index[s] for s in flows["destination"]} - set(src))
        ax.scatter(x[src], y[src], marker="x", color="tab:red", s=40, zorder=3,
                   label=_("closed, downgraded or kept for the lower grades"))
        ax.scatter(x[dst], y[dst], color="tab:blue", s=30, zorder=3,
                   label=_("receiving school"))
        for s in src + dst:
            ax.annotate(world.school_name[s], (x[s], y[s]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        for k in sorted({max(round(top), 1), max(round(top / 4), 1)}):
            ax.plot([], [], color="tab:orange", lw=0.5 + 6.0 * k / max(top, 1e-9),
                    label=_("{n} pupils per replicate").format(n=k))
        ax.set_aspect("equal")
        ax.set_xlabel(_("km east"))
        ax.set_ylabel(_("km north"))
        ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
        ax.set_title(_("{name}: where the pupils of closed schools go (all plan years)").format(
            name=name))
    return fig


def section(tables: dict[str, pd.DataFrame], last_year: int) -> str:
    """The school-by-school HTML of one plan (tables from `read`), without the flow map."""
    e = html.escape
    years = sorted({1, 2, last_year})
    return "\n".join([
        "<h3>" + e(_("Pupils the plan moves, school by school")) + "</h3>",
        "<p>" + e(_("Pupils enrolled at a school the year before the plan closed it, downgraded "
                    "it or kept it for the lower grades, in the grades it no longer teaches; "
                    "where they are at the end of that year, and how far they travel (day "
                    "pupils, one way, door to school).")) + "</p>",
        affected_html(tables["affected_pupils"]),
        "<h3>" + e(_("Villages that lost their school")) + "</h3>",
        villages_html(tables["affected_villages"]),
        "<h3>" + e(_("Schools the plan touches, years {years}").format(
            years=", ".join(map(str, years)))) + "</h3>",
        "<p>" + e(_("Medians over replicates at the end of the year; every school and year is "
                    "in the results folder's school_years.csv.")) + "</p>",
        schools_html(tables["school_years"], tables["affected_pupils"], years)])
