"""The comparison report: figures (matplotlib, PNG) and tables (CSV) next to one self-contained
HTML file with the figures embedded."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.core import i18n  # noqa: E402
from sim.core.i18n import N_, _  # noqa: E402
from sim.model.posterior import intervals_note  # noqa: E402
from sim.outputs import first_screen, report_schools, store, style  # noqa: E402
from sim.outputs.console import in_words  # noqa: E402
from sim.outputs.county_map import draw_scale_bar  # noqa: E402
from sim.outputs.metrics import Run  # noqa: E402
from sim.outputs.snapshot import Snapshot  # noqa: E402
from sim.outputs.thresholds import RULE_WORDS  # noqa: E402

#: (indicator, level, title) drawn as trajectories with 90% bands and as paired differences
TRAJECTORIES = [
    ("children_out_of_school", "all", N_("Children out of school, aged 6-15")),
    ("pupils_unplaced", "all", N_("Children without a school place")),
    ("dropout_rate", "all", N_("Dropout rate")),
    ("junior_retention_3yr", "junior", N_("Junior three-year retention")),
    ("mean_class_size", "primary", N_("Mean primary class size")),
    ("travel_time_p95_min", "primary", N_("Longest primary day trips (95th percentile)")),
    ("share_lower_primary_over_30min", "primary", N_("Grades 1-3 travelling over 30 minutes")),
    ("young_boarders", "all", N_("Boarders below grade 4")),
    ("cost_per_pupil_yuan", "all", N_("Cost per pupil, government and families")),
]


TITLES = {"trajectories": N_("Indicators by year"), "differences": N_("Paired differences"),
          "distributions": N_("Class sizes and travel times"),
          "dropout_by_group": N_("Dropout by group"), "map": N_("County map, final year")}


def _label(ind: str, signed: bool = False) -> str:
    unit = style.axis_label(ind)
    return (_("percentage points") if signed and style.is_percent(ind) else unit)


def _threshold_lines(ax, ind: str, level: str) -> None:
    for value, text in style.THRESHOLD_LINES.get((ind, level), []):
        y = value * style.scale(ind)
        ax.axhline(y, color="tab:red", lw=0.8, ls=":", zorder=1)
        ax.annotate(_(text), (1.0, y), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                    fontsize=7, color="tab:red")


def _not_flat(ax, axis: str = "y") -> None:
    """A flat series gets a plain axis around its value (not +-0.04 around zero)."""
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    data = [line.get_ydata() if axis == "y" else line.get_xdata() for line in ax.get_lines()]
    values = np.concatenate([np.asarray(d, float).ravel() for d in data if len(d)] or [[0.0]])
    values = values[np.isfinite(values)]
    if len(values) and np.ptp(values) < 1e-9:
        v = float(values[0])
        span = (v - 1, v + 1) if v != 0 else (-1, 1)
        (ax.set_ylim if axis == "y" else ax.set_xlim)(*span)


def informative(runs: list[Run]) -> list[tuple[str, str, str]]:
    """The TRAJECTORIES panels that show something: a value other than 0 in some scenario and
    year (a panel of all zeros is left out, and the report says which)."""
    keep = []
    for ind, level, title in TRAJECTORIES:
        values = [r.indicators.loc[(r.indicators["indicator"] == ind)
                                   & (r.indicators["level"] == level), "value"] for r in runs]
        if any(len(v) and (v.abs() > 0).any() for v in values):
            keep.append((ind, level, title))
    return keep


def trajectories_figure(runs: list[Run]) -> plt.Figure:
    """Each informative TRAJECTORIES indicator by year: median and 90% band per scenario; the
    reference (the first run) in black, dashed and on top; shares in percent; threshold
    lines."""
    panels = informative(runs) or TRAJECTORIES[:1]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    with style.figure_style():
        fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.4 * rows),
                                 constrained_layout=True, squeeze=False)
        for ax in axes.flat[len(panels):]:
            ax.set_visible(False)
        for ax, (ind, level, title) in zip(axes.flat, panels, strict=False):
            k = style.scale(ind)
            for i, r in enumerate(runs):
                df = r.indicators
                sel = df[(df["indicator"] == ind) & (df["level"] == level)]
                if sel.empty:
                    continue
                g = sel.groupby("year")["value"]
                mid, lo, hi = g.median() * k, g.quantile(0.05) * k, g.quantile(0.95) * k
                look = style.REFERENCE if i == 0 else {
                    "color": style.PLAN_COLORS[(i - 1) % len(style.PLAN_COLORS)], "zorder": 3}
                label = r.scenario.name + (_(" (reference)") if i == 0 and len(runs) > 1 else "")
                ax.plot(mid.index, mid.values, label=label, **look)
                ax.fill_between(mid.index, lo.values, hi.values, color=look["color"],
                                alpha=0.12 if i == 0 else 0.2, zorder=look["zorder"] - 1, lw=0)
            _not_flat(ax)
            _threshold_lines(ax, ind, level)
            ax.set_title(_(title))
            ax.set_xlabel(_("school year after the base year"))
            ax.set_ylabel(_label(ind))
        axes.flat[0].legend()
        fig.suptitle(_("Indicators by year: median and 90% interval over replicates"))
    return fig


def differences_figure(paired: pd.DataFrame) -> plt.Figure:
    """Final-year paired difference (plan - reference) with its 90% interval: one indicator
    per row, one marker per plan, plain titles with units."""
    last = paired[paired["year"] == paired["year"].max()]
    plans = list(dict.fromkeys(last["scenario"]))
    with style.figure_style():
        fig, axes = plt.subplots(len(TRAJECTORIES), 1, figsize=(9, 1.0 + 0.55 * len(plans)
                                                                * len(TRAJECTORIES)),
                                 constrained_layout=True)
        for ax, (ind, level, title) in zip(axes, TRAJECTORIES, strict=True):
            k = style.scale(ind)
            d = last[(last["indicator"] == ind) & (last["level"] == level)].set_index("scenario")
            d = d.reindex(plans)
            y = np.arange(len(plans))
            mid = d["p50"].to_numpy() * k
            err = np.vstack([(d["p50"] - d["p05"]).clip(lower=0), (d["p95"] - d["p50"]).clip(lower=0)]) * k
            for j in range(len(plans)):
                ax.errorbar(mid[j], y[j], xerr=err[:, [j]], fmt="o", capsize=3,
                            color=style.PLAN_COLORS[j % len(style.PLAN_COLORS)])
            if np.allclose(np.nan_to_num(np.concatenate([mid, err.ravel()])), 0):
                ax.set_xlim(-1, 1)
            ax.axvline(0, color="black", lw=0.8)
            ax.set_yticks(y, plans)
            ax.set_ylim(-0.6, len(plans) - 0.4)
            ax.set_title(_("{title} ({level}): change in {unit}").format(
                title=_(title), level=i18n.term("level", level),
                unit=_label(ind, signed=True)), loc="left")
            ax.grid(axis="y", visible=False)
        fig.suptitle(_("Final year: plan minus reference, replicate by replicate (median and 90% "
                       "interval)"))
    return fig


def distributions_figure(snaps: list[Snapshot]) -> plt.Figure:
    """Final-year class sizes and day travel (replicate 0), as % of classes or pupils."""
    with style.figure_style():
        fig, axes = plt.subplots(1, 4, figsize=(15, 4), constrained_layout=True)
        for ax, (kind, level) in zip(axes, [("class", "primary"), ("class", "junior"),
                                            ("travel", "primary"), ("travel", "junior")],
                                     strict=True):
            for i, sn in enumerate(snaps):
                x = sn.class_sizes[level] if kind == "class" else sn.day_travel[level]
                bins = np.arange(0, 71, 5) if kind == "class" else np.arange(0, 95, 5)
                look = style.REFERENCE if i == 0 else {
                    "color": style.PLAN_COLORS[(i - 1) % len(style.PLAN_COLORS)], "zorder": 3}
                weights = np.full(len(x), 100.0 / max(len(x), 1))
                ax.hist(x, bins=bins, histtype="step", weights=weights, label=sn.scenario,
                        color=look["color"], linestyle=look.get("linestyle", "-"),
                        zorder=look["zorder"], lw=1.5)
            if kind == "class":
                cap, very = (45, 56) if level == "primary" else (50, 61)
                for v, t in ((cap, _("cap {n}").format(n=cap)),
                             (very, _("very large {n}").format(n=very))):
                    ax.axvline(v, color="tab:red", ls=":", lw=0.8)
                    ax.annotate(t, (v, 1.0), xycoords=("data", "axes fraction"), fontsize=7,
                                color="tab:red", ha="right", va="top", rotation=90)
                ax.set_xlabel(_("pupils in the class"))
                ax.set_ylabel(_("% of classes"))
            else:
                for v in (30, 60):
                    ax.axvline(v, color="tab:red", ls=":", lw=0.8)
                ax.set_xlabel(_("one-way day travel (minutes)"))
                ax.set_ylabel(_("% of day pupils"))
            ax.set_title((_("{level} class sizes") if kind == "class" else
                          _("{level} day travel")).format(level=i18n.term("level", level)))
        axes[0].legend()
        fig.suptitle(_("Final year, replicate 0: class sizes and one-way day travel"))
    return fig


def dropout_groups_figure(snaps: list[Snapshot]) -> plt.Figure:
    groups = list(snaps[0].dropout_by_group)
    with style.figure_style():
        fig, ax = plt.subplots(figsize=(12, 4), constrained_layout=True)
        w = 0.8 / len(snaps)
        for i, sn in enumerate(snaps):
            color = "black" if i == 0 else style.PLAN_COLORS[(i - 1) % len(style.PLAN_COLORS)]
            ax.bar(np.arange(len(groups)) + i * w, [100 * sn.dropout_by_group[g] for g in groups],
                   w, label=sn.scenario, color=color, alpha=0.5 if i == 0 else 0.9)
        ax.set_xticks(np.arange(len(groups)) + 0.4 - w / 2, [_(g) for g in groups])
        ax.set_ylabel(_("% of children ever enrolled"))
        ax.legend()
        ax.set_title(_("Dropped out by the final year, by group (replicate 0)"))
    return fig


def map_figure(snaps: list[Snapshot]) -> plt.Figure:
    """Every scenario's county in the final year side by side: open schools sized by pupils
    (with a size key), closed schools, bus links."""
    with style.figure_style():
        fig, axes = plt.subplots(1, len(snaps), figsize=(5.2 * len(snaps), 5.6),
                                 constrained_layout=True, squeeze=False)
        top = max(float(sn.final_pupils.max()) for sn in snaps)
        for ax, sn in zip(axes[0], snaps, strict=True):
            w = sn.world
            for a, b in zip(w.road_from, w.road_to, strict=True):
                ax.plot(w.node_x_km[[a, b]], w.node_y_km[[a, b]], color="#ccc", lw=0.5, zorder=1)
            ax.scatter(w.node_x_km, w.node_y_km, s=4, color="#888", zorder=2)
            is_open = sn.final_open
            xs, ys = w.node_x_km[w.school_node], w.node_y_km[w.school_node]
            for v, s in sn.bus_links:
                ax.plot([w.node_x_km[v], xs[s]], [w.node_y_km[v], ys[s]], color="tab:orange",
                        lw=0.6, zorder=3)
            ax.scatter(xs[~is_open], ys[~is_open], marker="x", color="tab:red", s=14, zorder=4,
                       label=_("closed school"))
            ax.scatter(xs[is_open], ys[is_open], s=_size(sn.final_pupils[is_open]),
                       color="tab:blue", alpha=0.6, zorder=5, label=_("open school"))
            ax.plot([], [], color="tab:orange", lw=0.8, label=_("bus link"))
            for n in _size_key(top):
                ax.scatter([], [], s=_size(np.array([n])), color="tab:blue", alpha=0.6,
                           label=_("{n:,} pupils").format(n=n))
            draw_scale_bar(ax, w.node_x_km, w.node_y_km)
            ax.set_title(_("{name}, final year").format(name=sn.scenario))
            ax.set_aspect("equal")
            ax.set_xlabel(_("km east"))
            ax.set_ylabel(_("km north"))
            ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
        fig.suptitle(_("County map, final year: schools sized by pupils, closed schools (x), "
                       "bus links (orange)"))
    return fig


def _size(pupils: np.ndarray) -> np.ndarray:
    """Marker area for a school's pupils (points^2)."""
    return np.sqrt(np.asarray(pupils, float) + 1) * 3


def _size_key(top: float) -> list[int]:
    """Round pupil counts for the map's size key, up to the largest school."""
    return [n for n in (10, 100, 500, 2000) if n <= max(top, 10)]


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, na_rep=style.NOT_APPLICABLE, border=0, classes="t",
                      float_format=lambda x: f"{x:,.4g}")


def _save(fig: plt.Figure, stem: Path, name: str, written: list[Path]) -> str:
    """Save a figure as STEM_name.png (appended to `written`); returns it base64-encoded."""
    target = Path(f"{stem}_{name}.png")
    with store.atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    written.append(target)
    return base64.b64encode(target.read_bytes()).decode()


def plan_section(plan: Run, reference: Run | None, thresholds: pd.DataFrame,
                 block: str | None, snap: Snapshot | None, stem: Path,
                 written: list[Path]) -> str:
    """One plan's part of the report: its first screen (sim/outputs/first_screen.py) under one
    heading with its name, its plan-carried-out block with the banner, and school by school
    (sim/outputs/report_schools.py) with the flow map."""
    parts = [first_screen.render_html(plan, reference, thresholds)]
    if block:
        head, _sep, rest = block.partition("\n") if block.startswith("!!") else ("", "", block)
        parts.append("<h3>" + html.escape(_("Plan carried out: {name}").format(
            name=plan.scenario.name)) + "</h3>")
        if head:
            parts.append(f"<p class='banner'>{html.escape(head)}</p>")
        parts.append(f"<pre class='block'>{html.escape(rest)}</pre>")
    tables = report_schools.read(plan.folder)
    if tables is not None and (plan.scenario.policies.actions or plan.scenario.policies.closures):
        last = int(plan.indicators["year"].max())
        parts.append(report_schools.section(tables, last))
        fig = None if snap is None else report_schools.flow_figure(
            tables["affected_flows"], snap.world, plan.scenario.name)
        if fig is not None:
            key = f"flows_{plan.scenario.name}"
            parts.append(f'<img alt="{html.escape(key)}" src="data:image/png;base64,'
                         f'{_save(fig, stem, key, written)}">')
    return "\n".join(parts)


def write_report(path: Path, runs: list[Run], final: pd.DataFrame, paired: pd.DataFrame,
                 thresholds: pd.DataFrame, snaps: list[Snapshot] | None = None,
                 blocks: dict[str, str] | None = None) -> list[Path]:
    """Write FILE.html and, beside it, FILE_<name>.png / .csv: first each plan against the first
    run (the reference) with its plan-carried-out block (`blocks`, by scenario name) and its
    pupils school by school, then the thresholds, the figures and the final-year tables.
    Returns the files written."""
    from sim.outputs.thresholds import wide
    path = Path(path)
    stem = path.with_suffix("")
    written = []
    tables = {"final_year": final, "paired_difference": paired, "thresholds": thresholds}
    for name, df in tables.items():
        target = Path(f"{stem}_{name}.csv")
        with store.atomic_path(target) as tmp:
            df.to_csv(tmp, index=False)
        written.append(target)
    figures = {"trajectories": trajectories_figure(runs)}
    if len(paired):
        figures["differences"] = differences_figure(paired)
    if snaps:
        figures["distributions"] = distributions_figure(snaps)
        figures["dropout_by_group"] = dropout_groups_figure(snaps)
        figures["map"] = map_figure(snaps)
    images = {name: _save(fig, stem, name, written) for name, fig in figures.items()}
    names = _(", ").join(r.scenario.name for r in runs)
    n = int(runs[0].indicators["replicate"].nunique())
    status = wide(thresholds, [r.scenario.name for r in runs])
    by_name = {s.scenario: s for s in (snaps or [])}
    plans = [(r, runs[0]) for r in runs[1:]] or [(runs[0], None)]
    shown_titles = {x[2] for x in informative(runs)}
    left_out = [_(x[2]) for x in TRAJECTORIES if x[2] not in shown_titles]
    figures_html = [f'<h2>{html.escape(_(TITLES[k]))}</h2>'
                    f'<img alt="{k}" src="data:image/png;base64,{v}">' for k, v in images.items()]
    if left_out:
        figures_html.insert(1, "<p>" + html.escape(
            _("Left out of the figure, zero in every scenario and year: {panels}.").format(
                panels=_("; ").join(left_out))) + "</p>")
    body = [
        "<h1>" + html.escape(_("SchoolFlow plan comparison")) + "</h1><p>" + html.escape(_(
            "Scenarios: {names}. Reference: {reference}. {n} replicates each, with common random "
            "numbers (replicate i of every scenario has the same seed). ").format(
            names=names, reference=runs[0].scenario.name, n=n))
        + html.escape(_("{note}.").format(note=intervals_note(runs[0].scenario))) + "</p>",
        *[plan_section(p, ref, thresholds, (blocks or {}).get(p.scenario.name),
                       by_name.get(p.scenario.name), stem, written)
          for p, ref in plans],
        "<h2>" + html.escape(_("Thresholds of the plans")) + "</h2><p>" + html.escape(_(
            "Each scenario's own thresholds, checked in every simulated year; the worst year is "
            "shown; {rule}. '-': not a threshold of that scenario.").format(rule=_(RULE_WORDS)))
        + "</p>",
        _table_html(in_words(status)),
        *figures_html,
    ]
    for level in ("primary", "junior", "all"):
        t = final[final["level"] == level].pivot_table(index="indicator", columns="scenario",
                                                        values=["p50", "p05", "p95"],
                                                        observed=True)
        cells = pd.DataFrame({name: [style.interval(m, lo, hi, ind) for ind, m, lo, hi in zip(
            t.index, t["p50"][name], t["p05"][name], t["p95"][name], strict=True)]
            for name in [r.scenario.name for r in runs] if name in t["p50"]}, index=t.index)
        body += ["<h2>" + html.escape(_("Final year, {level}: median [90% interval]").format(
                     level=i18n.term("level", level))) + "</h2>",
                 _table_html(in_words(cells.reset_index()))]
    if len(paired):
        p_last = paired[(paired["year"] == paired["year"].max()) & (paired["level"] == "all")]
        shown = p_last.assign(**{"median [90% interval]": [
            style.interval(r.p50, r.p05, r.p95, r.indicator, True) for r in p_last.itertuples()]})
        body += ["<h2>" + html.escape(_("Final year, paired difference against the reference"))
                 + "</h2>",
                 _table_html(in_words(shown[["scenario", "indicator", "median [90% interval]",
                                             "paired_width", "unpaired_width"]]))]
    lang = "zh-CN" if i18n.current() == "zh" else "en"
    page = (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>"
            + html.escape(_("SchoolFlow comparison")) + "</title>"
            "<style>body{font-family:sans-serif;margin:2em auto;max-width:1200px;padding:0 1em}"
            "table.t{border-collapse:collapse;font-size:12px;max-width:100%}"
            "table.t td,table.t th{padding:2px 8px;border-bottom:1px solid #ddd;"
            "overflow-wrap:break-word}img{max-width:100%}p.headline{font-size:16px}"
            "p.banner{color:#b00;font-weight:bold}pre.block{font-size:12px;background:#f6f6f6;"
            "padding:1em;white-space:pre-wrap;overflow-wrap:break-word}"
            "li.missed{color:#b00}</style></head><body>"
            + "\n".join(body) + "</body></html>")
    with store.atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    written.append(path)
    return written


#: panels of `sweep_figure` when none are named: (indicator, level)
SWEEP_PANELS = [("dropout_rate", "all"), ("travel_time_p95_min", "primary"),
                ("bus_ride_time_p95_min", "all"), ("cost_per_pupil_yuan", "all")]
SUMMARY_COLUMNS = {"point", "indicator", "level", "year", "replicates", "mean", "p05", "p50",
                   "p95"}


def sweep_figure(summary: pd.DataFrame, path: Path, panels: list[tuple[str, str]] | None = None,
                 year: int | None = None) -> Path:
    """A sweep's indicators against its first parameter: one panel per (indicator, level), the
    mean over replicates and the 5-95% band, in the final year (or `year`); other swept
    parameters draw one line per value. Written to `path` (PNG)."""
    panels = panels or SWEEP_PANELS
    params = [c for c in summary.columns if c not in SUMMARY_COLUMNS]
    if not params:
        raise ValueError("the summary has no swept parameter to draw against")
    x, others = params[0], params[1:]
    year = int(summary["year"].max()) if year is None else year
    rows = summary[summary["year"] == year]
    cols = min(3, len(panels))
    n_rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.4 * cols, 3.4 * n_rows),
                             constrained_layout=True, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (ind, level) in zip(axes.flat, panels, strict=False):
        d = rows[(rows["indicator"] == ind) & (rows["level"] == level)]
        groups = d.groupby(others, dropna=False) if others else [("", d)]
        for key, g in groups:
            g = g.sort_values(x)
            label = ", ".join(f"{k}={v}" for k, v in zip(others, np.atleast_1d(key), strict=True)
                              ) if others else None
            line, = ax.plot(g[x], g["mean"], marker="o", label=label)
            ax.fill_between(g[x], g["p05"], g["p95"], color=line.get_color(), alpha=0.2)
        ax.set_title(f"{ind} ({level})", fontsize=9)
        ax.set_xlabel(x.split(".")[-1])
        ax.grid(alpha=0.3)
        if others:
            ax.legend(fontsize=7)
    fig.suptitle(f"Year {year}: mean and 5-95% interval over replicates", fontsize=10)
    path = Path(path)
    with store.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
