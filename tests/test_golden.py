"""Golden regression: the published measures of Wigan with and without the Deal, two seeds at scale 0.05, must
equal the stored ones within per-unit tolerances (tests/golden/golden.py). A change that moves a number fails
here until `python tests/golden/refresh.py` rewrites the file, so every such change is seen and committed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))

import golden  # noqa: E402

from model.scenario import load_scenario  # noqa: E402
from runs.single import run_one  # noqa: E402


@pytest.fixture(scope="module")
def fresh():
    return golden.compute()


def test_outcomes_equal_the_stored_golden_values(fresh):
    changed = golden.differences(golden.load(), fresh)
    assert not changed, ("outcomes moved beyond tolerance (run tests/golden/refresh.py if the change is meant):\n"
                         + "\n".join(changed[:40]))


def test_every_registered_outcome_is_pinned():
    from model.outcomes import REGISTRY

    stored = golden.load()
    assert stored["scale"] == golden.SCALE and stored["seeds"] == list(golden.SEEDS)
    for run, oc in stored["runs"].items():
        assert set(oc) == set(REGISTRY), run
        assert all(oc[name] for name in oc), run  # every outcome has at least one period


def test_a_ten_percent_change_in_the_age_slope_of_frailty_fails_the_comparison():
    """The review found that a 10% smaller age slope in the survey's frailty passed the whole suite; the golden
    comparison must catch it (the survey and the rules share one frailty formula, health.frailty)."""
    loaded = load_scenario(golden.ROOT / "scenarios" / "wigan.yaml")
    slope = loaded.scenario.health.age_slope_per_decade
    res = run_one(loaded, golden.SEEDS[0], golden.SCALE, overrides={"health.age_slope_per_decade": slope * 0.9})
    stored = golden.load()
    one = {"scale": golden.SCALE, "seeds": [golden.SEEDS[0]],
           "runs": {f"wigan.yaml/{golden.SEEDS[0]}": stored["runs"][f"wigan.yaml/{golden.SEEDS[0]}"]}}
    changed = golden.differences(one, {**one, "runs": {f"wigan.yaml/{golden.SEEDS[0]}": res.outcomes}})
    assert any(line.split()[1] == "hle_male" for line in changed)
    assert any(line.split()[1] == "hle_female" for line in changed)
