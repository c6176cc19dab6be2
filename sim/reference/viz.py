"""The web view: the Mesa reference model in Mesa's Solara visualisation.

`schoolflow viz SCENARIO` serves this page (`solara run`): the county map (villages, schools
sized by pupils, closed schools greyed, student bus lines), Step / Play / Reset by school year,
and live charts of the dropout rate, class-size shares and primary p95 travel time. The scenario
comes from the SCHOOLFLOW_SCENARIO environment variable (the command sets it); the replicate
from SCHOOLFLOW_REPLICATE (default 0).
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mesa.visualization import SolaraViz, make_plot_component  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from sim.core import dtypes as dt  # noqa: E402
from sim.model import (
    build,  # noqa: E402
)
from sim.model import scenario as sc  # noqa: E402
from sim.reference.mesa_model import LIVE_CHARTS, SchoolFlowModel  # noqa: E402

LEVEL_COLOURS = {dt.TEACHING_POINT: "#8fbc8f", dt.VILLAGE_PRIMARY: "#2e8b57",
                 dt.CENTRAL_PRIMARY: "#1f77b4", dt.JUNIOR: "#d62728", dt.NINE_YEAR: "#9467bd"}


def draw_county(model: SchoolFlowModel) -> Figure:
    """The county this year: villages (grey dots), open schools as circles sized by pupils and
    coloured by level, closed schools as grey crosses, bus lines from their first stop through
    the others to the school."""
    w = model.world
    fig = Figure(figsize=(6.4, 6.0))
    ax = fig.subplots()
    ax.scatter(w.node_x_km, w.node_y_km, s=6, c="#bbbbbb", zorder=1, label="village")
    for line in model.bus_network.lines:
        path = [*line.route.stops, line.route.dest]
        ax.plot(w.node_x_km[path], w.node_y_km[path], color="#ff9900", lw=1.2, alpha=0.8, zorder=2)
    open_ = [s for s in model.schools if s.open]
    closed = [s for s in model.schools if not s.open]
    if closed:
        ax.scatter(w.node_x_km[[s.node for s in closed]], w.node_y_km[[s.node for s in closed]],
                   marker="x", s=25, c="#999999", zorder=3, label="closed school")
    pupils = np.array([s.enrol.sum() for s in open_], float)
    ax.scatter(w.node_x_km[[s.node for s in open_]], w.node_y_km[[s.node for s in open_]],
               s=8 + 0.25 * pupils, c=[LEVEL_COLOURS[s.level] for s in open_], alpha=0.7,
               edgecolors="k", linewidths=0.3, zorder=4, label="open school (size: pupils)")
    ax.plot([], [], color="#ff9900", label="bus line")
    ax.set_title(f"{model.scenario.name}: year {model.year}, {len(open_)} schools open, "
                 f"{len(model.bus_network.lines)} bus lines", fontsize=9)
    ax.set_xlabel("km")
    ax.set_ylabel("km")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    return fig


@solara.component
def CountyMap(model: SchoolFlowModel):
    update_counter.get()  # redraw after every step
    solara.FigureMatplotlib(draw_county(model), format="png", dpi=90)


def page_for(path: str, replicate: int = 0):
    """The SolaraViz page of a scenario file."""
    scenario = sc.load(path)
    built = build.build_model(scenario)
    model = SchoolFlowModel(scenario, replicate, built)
    charts = [make_plot_component(label) for label in LIVE_CHARTS]
    return SolaraViz(
        model,
        components=[(CountyMap, 0), *charts],
        model_params={"scenario": scenario, "replicate": replicate, "built": built},
        name=f"SchoolFlow: {scenario.name} (Mesa reference model, replicate {replicate})",
        play_interval=1500,
    )


if "SCHOOLFLOW_SCENARIO" in os.environ:  # served by `schoolflow viz`
    page = page_for(os.environ["SCHOOLFLOW_SCENARIO"], int(os.environ.get("SCHOOLFLOW_REPLICATE", 0)))
