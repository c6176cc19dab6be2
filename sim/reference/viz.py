"""The web view: the Mesa reference model in a Solara page.

`schoolflow viz SCENARIO` serves this page (`solara run`, in a child process that dies with the
command): the county map (villages, schools sized by pupils and coloured by level with a
legend, closed schools, student bus lines; each school's name and numbers on hover),
Reset / Play / Next year, and live charts by school year of the dropout rate, class-size shares
and primary p95 travel time. Each browser session gets its own model. The scenario comes from
the SCHOOLFLOW_SCENARIO environment variable (the command sets it); the replicate from
SCHOOLFLOW_REPLICATE (default 0).
"""

from __future__ import annotations

import html
import io
import os
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import solara  # noqa: E402
import solara.lab  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.core import dtypes as dt  # noqa: E402
from sim.core.indicators import BY_NAME  # noqa: E402
from sim.model import build  # noqa: E402
from sim.model import scenario as sc  # noqa: E402
from sim.reference.mesa_model import LIVE_CHARTS, SchoolFlowModel  # noqa: E402

LEVEL_COLOURS = {dt.TEACHING_POINT: "#8fbc8f", dt.VILLAGE_PRIMARY: "#2e8b57",
                 dt.CENTRAL_PRIMARY: "#1f77b4", dt.JUNIOR: "#d62728", dt.NINE_YEAR: "#9467bd"}
PLAY_SECONDS = 1.5  #: pause between school years while playing


LEVEL_OF_CODE = {code: name.replace("_", " ") for name, code in dt.LEVEL_NAMES.items()}


def school_label(s) -> str:
    """What hovering over a school says: name, level, village, pupils, classes, beds."""
    w = s.model.world
    if not s.open:
        return (f"{w.school_name[s.sid]}: closed in year {s.closed_year}"
                + (f", pupils to {w.school_name[s.receiver.sid]}" if s.receiver else ""))
    return (f"{w.school_name[s.sid]} ({LEVEL_OF_CODE[s.level]}, grades {s.lo}-{s.hi}) at "
            f"{w.node_name[s.node]}: {int(s.enrol.sum())} pupils, {s.classes} classes per grade, "
            f"{s.beds_used} of {s.beds} beds used")


def draw_county(model: SchoolFlowModel) -> Figure:
    """The county this year: villages (grey dots), open schools as circles sized by pupils and
    coloured by level (with a legend of the levels), closed schools as grey crosses, bus lines
    from their first stop through the others to the school. Each school is its own artist
    with the id `school-<index>`, so `county_svg` can label it for hovering."""
    w = model.world
    fig = Figure(figsize=(6.4, 6.0), layout="constrained")
    ax = fig.subplots()
    ax.scatter(w.node_x_km, w.node_y_km, s=6, c="#bbbbbb", zorder=1, label="village")
    for line in model.bus_network.lines:
        path = [*line.route.stops, line.route.dest]
        ax.plot(w.node_x_km[path], w.node_y_km[path], color="#ff9900", lw=1.2, alpha=0.8, zorder=2)
    open_ = [s for s in model.schools if s.open]
    closed = [s for s in model.schools if not s.open and s.closed_year >= 0]
    for s in closed:
        ax.scatter(w.node_x_km[s.node], w.node_y_km[s.node], marker="x", s=25, c="#999999",
                   zorder=3, gid=f"school-{s.sid}")
    for s in open_:
        ax.scatter(w.node_x_km[s.node], w.node_y_km[s.node], s=8 + 0.25 * float(s.enrol.sum()),
                   c=LEVEL_COLOURS[s.level], alpha=0.7, edgecolors="k", linewidths=0.3,
                   zorder=4, gid=f"school-{s.sid}")
    for level, colour in LEVEL_COLOURS.items():
        if any(s.level == level for s in open_):
            ax.scatter([], [], c=colour, alpha=0.7, edgecolors="k", linewidths=0.3, s=30,
                       label=LEVEL_OF_CODE[level])
    if closed:
        ax.scatter([], [], marker="x", s=25, c="#999999", label="closed school")
    ax.plot([], [], color="#ff9900", label="bus line")
    ax.set_title(f"{model.scenario.name}: school year {model.year}, {len(open_)} schools open, "
                 f"{len(model.bus_network.lines)} bus lines", fontsize=9)
    ax.set_xlabel("km east")
    ax.set_ylabel("km north")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, title="schools (size: pupils)",
              title_fontsize=7)
    return fig


def county_svg(model: SchoolFlowModel) -> str:
    """The county map as SVG, each school carrying a <title> (shown on hover by browsers)."""
    fig = draw_county(model)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # labels stay text
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    for s in model.schools:
        tag = f'<g id="school-{s.sid}">'
        svg = svg.replace(tag, f"{tag}<title>{html.escape(school_label(s))}</title>", 1)
    return svg[svg.index("<svg"):]


def draw_chart(model: SchoolFlowModel, label: str) -> Figure:
    """One live chart by school year; shares and rates in percent; a flat series gets a plain
    axis around its value."""
    indicator = LIVE_CHARTS[label][0]
    unit = BY_NAME[indicator].unit
    k = 100.0 if unit in ("share", "per year") else 1.0
    values = model.datacollector.get_model_vars_dataframe()[label].to_numpy(float) * k
    fig = Figure(figsize=(4.6, 2.3), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(len(values)), values, marker="o", ms=3)
    finite = values[np.isfinite(values)]
    if len(finite) and np.ptp(finite) < 1e-9:
        v = float(finite[0])
        ax.set_ylim(v - 1, v + 1) if v else ax.set_ylim(0, 1)
    ax.set_xlim(-0.2, max(model.scenario.years, 1) + 0.2)
    ax.set_xlabel("school year")
    ax.set_ylabel("%" if k == 100 else unit)
    ax.set_title(label, fontsize=9)
    ax.grid(alpha=0.3)
    return fig


@solara.component
def Page():
    """One model per browser session: built when the session's page is first rendered."""
    path = os.environ["SCHOOLFLOW_SCENARIO"]
    replicate = int(os.environ.get("SCHOOLFLOW_REPLICATE", 0))
    built = solara.use_memo(lambda: build.build_model(sc.load(path)), [])
    generation = solara.use_reactive(0)  # bumped by Reset: a new model
    model = solara.use_memo(lambda: SchoolFlowModel(built.scenario, replicate, built),
                            [generation.value])
    year = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    years = built.scenario.years

    def next_year() -> None:
        if model.year < years:
            model.step()
        year.set(model.year)

    def play() -> None:
        while playing.value and model.year < years:
            time.sleep(PLAY_SECONDS)
            if playing.value:
                next_year()
        playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)

    def reset() -> None:
        playing.set(False)
        generation.set(generation.value + 1)
        year.set(0)

    title = f"SchoolFlow: {built.scenario.name} (Mesa reference model, replicate {replicate})"
    with solara.AppBar():
        solara.AppBarTitle(title)
    with solara.Sidebar():
        with solara.Card("School year"):
            solara.Text(f"School year: {year.value} of {years}")
            with solara.Row():
                solara.Button("Reset", color="primary", on_click=reset)
                solara.Button("Pause" if playing.value else "Play", color="primary",
                              on_click=lambda: playing.set(not playing.value),
                              disabled=year.value >= years)
                solara.Button("Next year", color="primary", on_click=next_year,
                              disabled=playing.value or year.value >= years)
        with solara.Card("Scenario"):
            solara.Markdown(f"**{built.scenario.name}**: {built.scenario.description or ''}\n\n"
                            f"{len(model.schools)} schools, {len(model.households):,} households; "
                            f"year 0 is the base year, {years} school years simulated.")
    with solara.Columns([3, 2]):
        with solara.Column():
            svg = solara.use_memo(lambda: county_svg(model), [year.value, generation.value])
            solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["county-map"])
        with solara.Column():
            for label in LIVE_CHARTS:
                solara.FigureMatplotlib(draw_chart(model, label), format="png", dpi=90,
                                        dependencies=[year.value, generation.value])
