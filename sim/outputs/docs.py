"""Generated reference pages: docs/scenario.md from the scenario models and docs/indicators.md
from the indicator registry. `python -m sim.outputs.docs` rewrites both (tests check they are
current)."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from sim.core.indicators import INDICATORS
from sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = field.annotation
        sub = next((a for a in (ann, *typing.get_args(ann))
                    if isinstance(a, type) and issubclass(a, BaseModel)), None)
        origin_list = typing.get_origin(ann) is list and typing.get_args(ann) and isinstance(
            typing.get_args(ann)[0], type) and issubclass(typing.get_args(ann)[0], BaseModel)
        union = _list_of_union(ann)
        if union:
            rows.append(f"| `{path}` | list | [] | {field.description or ''} |")
            for cls in union:
                key = cls.key  # the key that names the action (sim/model/actions.py)
                rows += _rows(cls, f"{path}[] ({key}).")
        elif origin_list:
            rows.append(f"| `{path}` | list | | {field.description or ''} |")
            rows += _rows(typing.get_args(ann)[0], f"{path}[].")
        elif sub is not None:
            rows += _rows(sub, f"{path}.")
        else:
            default = "required" if field.is_required() else repr(field.default)
            kind = str(ann).replace("typing.", "").replace("<class '", "").replace("'>", "")
            kind = kind.replace(" | ", " or ")
            rows.append(f"| `{path}` | {kind} | {default} | {field.description or ''} |")
    return rows


def _list_of_union(ann) -> list[type[BaseModel]]:
    """The models of a list of tagged alternatives (e.g. the plan's actions); [] otherwise."""
    if typing.get_origin(ann) is not list or not typing.get_args(ann):
        return []
    item = typing.get_args(ann)[0]
    while typing.get_origin(item) is typing.Annotated:
        item = typing.get_args(item)[0]
    out = []
    for alt in typing.get_args(item):
        while typing.get_origin(alt) is typing.Annotated:
            alt = typing.get_args(alt)[0]
        if isinstance(alt, type) and issubclass(alt, BaseModel):
            out.append(alt)
    return out


def render() -> str:
    """docs/scenario.md: every scenario field with its type, default and meaning."""
    head = ["# Scenario file fields", "",
            "Generated from `sim/model/scenario.py` by `python -m sim.outputs.docs`; do not edit "
            "by hand.",
            "Units are in the descriptions. Unknown fields are rejected.", "",
            "| field | type | default | meaning |", "|---|---|---|---|"]
    return "\n".join(head + _rows(Scenario)) + "\n"


def render_indicators() -> str:
    """docs/indicators.md: every indicator of the registry with its unit, levels and meaning."""
    head = ["# Indicators", "",
            "Generated from the indicator registry `sim/core/indicators.py` by "
            "`python -m sim.outputs.docs`; do not edit by hand. Each indicator is reported per "
            "replicate, year and level (`primary`: grades 1-6, `junior`: grades 7-9, `all`) and "
            "summarised as the mean with a 90% interval over replicates. Plan thresholds and "
            "their sources: docs/parameters.md.", "",
            "| row | indicator | unit | levels | meaning |", "|---|---|---|---|---|"]
    rows = [f"| {i} | `{x.name}` | {x.unit} | {', '.join(x.levels)} | {x.description} |"
            for i, x in enumerate(INDICATORS)]
    return "\n".join(head + rows) + "\n"


PAGES = {"scenario.md": render, "indicators.md": render_indicators}


def write_all(folder: Path = ROOT / "docs") -> list[Path]:
    """Rewrite every generated page in `folder`."""
    written = []
    for name, make in PAGES.items():
        (folder / name).write_text(make(), encoding="utf-8")
        written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path}")
