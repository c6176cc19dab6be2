"""Cold start: a run on a machine whose numba cache lacks the core says it is compiling, and how
long it took, instead of sitting silent (sim/model/compile_core.py); `schoolflow compile` does
it ahead."""

from __future__ import annotations

from sim.cli import main
from sim.model import compile_core


def test_a_missing_cache_is_announced_and_filled(monkeypatch, tmp_path):
    monkeypatch.setattr(compile_core, "cache_dir", lambda: tmp_path / "empty")
    assert not compile_core.core_is_cached()
    said: list[str] = []
    compile_core.ensure_compiled(said.append)
    assert len(said) == 2
    assert said[0].startswith("schoolflow: compiling the numba core for this machine")
    assert "schoolflow compile" in said[0]
    assert said[1].startswith("schoolflow: compiled in ") and str(tmp_path / "empty") in said[1]


def test_a_filled_cache_is_silent(monkeypatch, tmp_path):
    folder = tmp_path / "cache" / "kernels_x"
    folder.mkdir(parents=True)
    (folder / "annual.year_batch-58.py311.nbi").write_bytes(b"")
    monkeypatch.setattr(compile_core, "cache_dir", lambda: tmp_path / "cache")
    said: list[str] = []
    compile_core.ensure_compiled(said.append)
    assert said == []


def test_compile_command(capsys):
    assert main(["compile"]) == 0
    out = capsys.readouterr().out
    assert "numba core" in out and "cached in" in out
