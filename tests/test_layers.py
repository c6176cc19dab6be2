"""The package's layers (README "Architecture"): every `import sim...` in sim/, at module level or
inside a function, goes to the module's own layer or one below it.

    core (0) < model (1) < reference (2), outputs (2) < experiments (3) < cli (4)

reference and outputs sit side by side and do not import each other; nothing imports cli."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

RANK = {"core": 0, "model": 1, "reference": 2, "outputs": 2, "experiments": 3, "cli": 4}


def layer(module: str) -> str | None:
    """Layer of a dotted module name under sim (None for the package root, sim/__init__)."""
    parts = module.split(".")
    if parts[0] != "sim" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every sim import in a file, with `from sim import x` as sim.x."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("sim")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sim":
                out += [(node.lineno, f"sim.{a.name}") for a in node.names]
            elif node.module.startswith("sim."):
                out.append((node.lineno, node.module))
    return out


def violations(root: Path) -> list[str]:
    bad = []
    for path in sorted((root / "sim").rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        own = layer(".".join(rel.parts))
        if own is None:
            continue
        for line, target in imports_of(path):
            other = layer(target)
            if other is None:
                continue
            side_by_side = {own, other} == {"reference", "outputs"}
            if RANK[other] > RANK[own] or side_by_side or (other == "cli" and own != "cli"):
                bad.append(f"{rel}.py:{line}: {own} imports {target} ({other})")
    return bad


def test_no_upward_imports():
    bad = violations(ROOT)
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_every_module_is_in_a_layer():
    loose = [p.name for p in (ROOT / "sim").glob("*.py") if p.name not in ("__init__.py", "cli.py")]
    assert not loose, f"modules outside the layers: {loose}"


def test_the_check_catches_an_upward_import(tmp_path):
    core = tmp_path / "sim" / "core"
    core.mkdir(parents=True)
    (core / "bad.py").write_text("def f():\n    from sim.model import engine\n")
    (tmp_path / "sim" / "cli.py").write_text("from sim.core import bad\n")
    assert violations(tmp_path) == ["sim/core/bad.py:2: core imports sim.model (model)"]
