"""Results on disk: indicators.parquet (tidy), summary.csv, scenario.yaml (resolved),
metadata.json (version, git commit, scenario hash, seeds), and the bus day's safety_ledger.csv
(one row per line and year) and bus_stops.csv (one row per served village and year).
Every file is written to a temporary name in the same folder and renamed, so a crash never
leaves a half-written file."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

from sim import __version__
from sim.model.scenario import Scenario, resolved_dict, scenario_hash


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; rename it onto `path` when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


#: a folder being written: its name begins with this, beside the final folder
PARTIAL_PREFIX = ".partial-"


@contextmanager
def atomic_dir(path: Path):
    """Yield a fresh temporary folder beside `path` to write a whole run into; when the block
    succeeds, it replaces `path` (an earlier folder there is moved aside, then deleted). When
    the block fails or is interrupted (Ctrl-C), the temporary folder is deleted and `path` is
    left as it was: a results folder is a complete run, never a mix of two. A folder killed
    mid-write (kill -9) is left as `.partial-<name>-*` beside it, which no command reads."""
    import shutil
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise FileExistsError(path)
    tmp = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{path.name}-", dir=path.parent))
    os.chmod(tmp, 0o755)
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".old-{path.name}-", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_run(out_dir: Path, scenario: Scenario, indicators: pd.DataFrame, summary: pd.DataFrame,
              seeds: list[int], extra: dict | None = None,
              tables: dict[str, pd.DataFrame] | None = None) -> None:
    """Write one scenario's results into `out_dir`, with extra CSV tables by file name (the bus
    safety ledger and stops)."""
    out_dir = Path(out_dir)
    for name, table in (tables or {}).items():
        with atomic_path(out_dir / name) as tmp:
            table.to_csv(tmp, index=False)
    with atomic_path(out_dir / "indicators.parquet") as tmp:
        indicators.to_parquet(tmp, index=False)
    with atomic_path(out_dir / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    with atomic_path(out_dir / "scenario.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(resolved_dict(scenario), sort_keys=False))
    meta = {
        "schoolflow_version": __version__, "git_commit": git_commit(),
        "scenario": scenario.name, "scenario_hash": scenario_hash(scenario),
        "root_seed": scenario.seed, "replicates": len(seeds), "replicate_seeds": seeds,
        "written_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    with atomic_path(out_dir / "metadata.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
