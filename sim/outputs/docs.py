"""Writes docs/scenario.md from the scenario models: `python -m sim.outputs.docs > docs/scenario.md`."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from sim.model.scenario import Scenario


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = field.annotation
        sub = next((a for a in (ann, *typing.get_args(ann))
                    if isinstance(a, type) and issubclass(a, BaseModel)), None)
        origin_list = typing.get_origin(ann) is list and typing.get_args(ann) and isinstance(
            typing.get_args(ann)[0], type) and issubclass(typing.get_args(ann)[0], BaseModel)
        if origin_list:
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


def render() -> str:
    head = ["# Scenario file fields", "",
            "Generated from `sim/scenario.py` by `python -m sim.outputs.docs`; do not edit by hand.",
            "Units are in the descriptions. Unknown fields are rejected.", "",
            "| field | type | default | meaning |", "|---|---|---|---|"]
    return "\n".join(head + _rows(Scenario)) + "\n"


if __name__ == "__main__":
    print(render(), end="")
