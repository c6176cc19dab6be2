"""Parameter uncertainty: each replicate draws its yearly-kernel parameters from a posterior file;
the same draw for replicate i of a plan and of its reference; results that do not depend on how
replicates are batched; both engines identical under a draw; bad files named with their column."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.core.errors import InputError
from sim.experiments.run import plan_and_reference
from sim.model import build, engine
from sim.model import scenario as sc
from sim.model.posterior import intervals_note, load_posterior
from sim.reference import agreement
from tests.conftest import SMALL

SHOCK = "behaviour.achievement.move_before_grade_4"
JUNIOR = "behaviour.dropout.base_junior"


def _posterior(tmp_path, rows=None, name="posterior.csv"):
    rows = rows or {SHOCK: [-0.9, -0.1, 0.0], JUNIOR: [0.03, 0.005, 0.01],
                    "weight": [0.5, 0.3, 0.2]}
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _scenario(tmp_path, **top):
    data = copy.deepcopy(SMALL) | {"name": "post", "years": 3, "replicates": 12} | top
    return sc.validate(data)


def test_replicates_draw_particles_by_weight_and_run_with_them(tmp_path):
    s = _scenario(tmp_path, posterior=str(_posterior(tmp_path)))
    model = build.build_model(s)
    draws = [model.posterior.particle(s.seed, r) for r in range(400)]
    share = np.bincount(draws, minlength=3) / 400
    np.testing.assert_allclose(share, [0.5, 0.3, 0.2], atol=0.08)  # 400 draws: sd <= 0.025
    assert draws[:12] == [model.posterior.particle(s.seed, r) for r in range(12)]  # fixed
    k = draws[5]
    p5 = model.replicate_params(5)
    assert p5.ach_move_young == pytest.approx([-0.9, -0.1, 0.0][k])
    assert p5.logit_base_junior == pytest.approx(np.log(0.03 / 0.97) if k == 0 else
                                                 np.log([0.03, 0.005, 0.01][k]
                                                        / (1 - [0.03, 0.005, 0.01][k])))
    # replicate r under the posterior = replicate r run with fixed parameters of its particle
    mixed = engine.run_model(model, 0, 12)
    for r in (0, 5, 11):
        fixed = _scenario(tmp_path)
        over = model.posterior.values(model.posterior.particle(s.seed, r))
        data = fixed.model_dump(mode="json")
        for name, value in over.items():
            sc.set_dotted(data, name, value)
        one = engine.run_model(build.build_model(sc.validate(data)), r, r + 1)
        np.testing.assert_array_equal(mixed.values[r], one.values[0])
    # and batching does not matter
    np.testing.assert_array_equal(engine.run_model(model, 0, 12, batch=5).values, mixed.values)
    # the draws change results: replicates differ more than with fixed parameters
    plain = engine.run_model(build.build_model(_scenario(tmp_path)), 0, 12)
    assert not np.array_equal(plain.values, mixed.values)


def test_plan_and_reference_share_each_replicate_draw(tmp_path):
    post = _posterior(tmp_path)
    ref = copy.deepcopy(SMALL) | {"name": "ref", "posterior": str(post)}
    ref["policies"] = {**ref["policies"], "closures": []}
    (tmp_path / "ref.yaml").write_text(yaml.safe_dump(ref))
    plan = copy.deepcopy(SMALL) | {"name": "plan", "posterior": str(post),
                                   "compare_to": "ref.yaml"}
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    (p, _), (r, _) = plan_and_reference(tmp_path / "plan.yaml", {"replicates": 8}, tmp_path / "o")
    mp, mr = build.build_model(p), build.build_model(r)
    assert [mp.posterior.particle(p.seed, i) for i in range(8)] == \
        [mr.posterior.particle(r.seed, i) for i in range(8)]
    # the results folder records which posterior drew the parameters
    import json

    from sim.experiments.run import run_plan
    run_plan([(p, tmp_path / "o"), (r, tmp_path / "o" / "reference")])
    meta = json.loads((tmp_path / "o" / "metadata.json").read_text())
    assert meta["posterior"]["sha256"] == mp.posterior.sha256
    # `--no-posterior` reaches the reference too
    (p, _), (r, _) = plan_and_reference(tmp_path / "plan.yaml", {"posterior": None},
                                        tmp_path / "o")
    assert p.posterior is None and r.posterior is None
    assert intervals_note(p).startswith("Intervals show chance")
    assert "parameter uncertainty" in intervals_note(mp.scenario)


def test_both_engines_identical_under_a_posterior_draw(tmp_path):
    post = _posterior(tmp_path, {SHOCK: [-0.6], "behaviour.achievement.move_from_grade_4": [0.4],
                                 "weight": [1.0]})
    built = build.build_model(_scenario(tmp_path, posterior=str(post), years=2))
    assert built.replicate_params(0).ach_move_older == pytest.approx(0.4)
    diff = agreement.state_differences(agreement.numba_states(built, 0),
                                       agreement.mesa_states(built, 0))
    assert not diff, "\n".join(diff[:10])


@pytest.mark.parametrize("rows, field, words", [
    ({SHOCK: [-0.5]}, "weight", "missing column"),
    ({"behaviour.choice.quality_weight": [1.0], "weight": [1.0]},
     "behaviour.choice.quality_weight", "may vary by replicate"),
    ({"behaviour.dropout.no_such": [1.0], "weight": [1.0]}, "behaviour.dropout.no_such",
     "unknown field"),
    ({SHOCK: [-0.5, -0.2], "weight": [0.0, 0.0]}, "weight", "not all 0"),
    ({"behaviour.achievement.persistence": [1.5], "weight": [1.0]}, "persistence",
     "less than or equal to 1"),
])
def test_bad_posterior_files_are_named_with_their_column(tmp_path, rows, field, words):
    path = _posterior(tmp_path, rows)
    with pytest.raises(InputError) as err:
        load_posterior(path, _scenario(tmp_path))
    assert str(path) in str(err.value) and field in str(err.value) and words in str(err.value)


def test_sweeps_sensitivity_and_calibration_keep_fixed_parameters(tmp_path):
    s = sc.validate(copy.deepcopy(SMALL) | {"name": "x", "posterior": str(_posterior(tmp_path))})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(s.model_dump(mode="json", exclude={"extends"})))
    assert sc.load(path).posterior
    assert sc.load(path, sc.FIXED_PARAMETERS).posterior is None
