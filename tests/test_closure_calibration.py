"""The shipped closure-effects posterior is the one its targets file makes, and the defaults are
its means: a test fails when calibration/closure_effects/targets.yaml changes under the shipped
calibration/closure_effects/posterior.csv (rerun the calibration and ship it again with
`schoolflow calibrate ... --ship`), or when a default in sim/model/scenario.py drifts from the
posterior mean it is said to be (docs/parameters.md)."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import yaml

from sim.model import scenario as sc
from sim.model.posterior import load_posterior
from tests.conftest import ROOT

DIR = ROOT / "calibration" / "closure_effects"
POSTERIOR = DIR / "posterior.csv"


def _default(dotted: str) -> float:
    node = sc.Scenario.model_validate({"name": "x", "county": {"synthetic": {}}})
    for part in dotted.split("."):
        node = getattr(node, part)
    return float(node)


def test_the_shipped_posterior_was_made_from_the_current_targets():
    header = POSTERIOR.read_text(encoding="utf-8").splitlines()[0]
    digest = hashlib.sha256((DIR / "targets.yaml").read_bytes()).hexdigest()
    assert re.search(r"sha256 ([0-9a-f]{64})", header).group(1) == digest, (
        "targets.yaml changed since posterior.csv was shipped: rerun the calibration")
    priors = yaml.safe_load((DIR / "targets.yaml").read_text(encoding="utf-8"))["parameters"]
    frame = pd.read_csv(POSTERIOR, comment="#")
    assert sorted(frame.columns.drop("weight")) == sorted(priors)
    for name, prior in priors.items():  # every particle inside its prior
        assert frame[name].between(prior["low"], prior["high"]).all(), name


def test_the_defaults_are_the_posterior_means():
    frame = pd.read_csv(POSTERIOR, comment="#")
    w = frame["weight"].to_numpy() / frame["weight"].sum()
    for name in frame.columns.drop("weight"):
        mean = float(np.sum(w * frame[name]))
        assert _default(name) == float(f"{mean:.3g}"), (name, mean, _default(name))


def test_the_bundled_scenarios_draw_from_it():
    base = sc.load(ROOT / "scenarios" / "base.yaml")
    assert base.posterior == str(POSTERIOR.resolve())
    post = load_posterior(base.posterior, base)
    assert len(post.weights) >= 50 and abs(post.weights.sum() - 1) < 1e-12
    for name in ("default.yaml", "no_closure.yaml"):
        assert sc.load(ROOT / "scenarios" / name).posterior == base.posterior
