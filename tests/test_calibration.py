"""Tests of the calibration: targets and observation models, distance, settings, a tiny ABC-SMC run end to
end through the command line, resuming it, the posterior files, and the posterior predictive validation.

The tiny calibration frees 2 parameters, fits 3 statistics to 2012-12 at scale 0.02 with 8 particles, and runs in
a few seconds; it is run once for the module (1 generation, then resumed to 2) and shared by the tests after it.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from calibration import load_posterior, posterior_draws
from model.yamlfile import InputError as CalibrationError
from calibration.config import load_calibration
from calibration.simulation import seed_for
from calibration.targets import distance, load_targets, observed, sds, simulated

ROOT = Path(__file__).resolve().parents[1]
WIGAN_TARGETS = ROOT / "calibration" / "targets" / "wigan.yaml"
WIGAN_CAL = ROOT / "calibration" / "wigan.yaml"
SCENARIO = ROOT / "scenarios" / "wigan.yaml"
PNG = b"\x89PNG\r\n\x1a\n"

TINY_TARGETS = """\
targets:
  - name: hle_male
    outcome: hle_male
    source: HLE_ORIG
    unit: years
    measure: value
    sd: 1.0
    fit: {2009-11: 58.9, 2010-12: 59.5}
    holdout: {2011-13: 60.9}
  - name: savings
    outcome: cumulative_savings_gbp_m
    source: test
    unit: GBP m a year
    measure: mean
    sd: 10.0
    fit: {"2011": 10.0, "2012": 25.0}
    holdout: {"2013": 64.8}
"""


def tiny_calibration(folder: Path, generations: int) -> Path:
    (folder / "targets.yaml").write_text(TINY_TARGETS)
    path = folder / "tiny.yaml"
    path.write_text(textwrap.dedent(f"""\
        scenario: {SCENARIO}
        targets: targets.yaml
        simulation: {{scale: 0.02, end: "2012-12"}}
        abc:
          population_size: 8
          max_generations: {generations}
          min_epsilon: 0.0
          max_walltime_minutes: 10
          min_acceptance_rate: 0.0
        parameters:
          health.threshold_male:
            prior: {{uniform: [2.2, 2.8]}}
            reason: "test"
          finance.savings_required_gbp_m:
            prior: {{uniform: [120.0, 200.0]}}
            reason: "test"
        """))
    return path


def cli(*args: object, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.calibration", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


# ---------------------------------------------------------------------------------------------
# Targets and observation models
# ---------------------------------------------------------------------------------------------
def test_wigan_targets_load_with_the_split():
    t = load_targets(WIGAN_TARGETS)
    fit, hold = t.stats("fit"), t.stats("holdout")
    names = [s.name for s in fit]
    assert "hle_male[2009-11]" in names and "hle_female[2015-17]" in names
    assert "care_home_admissions_fit_mean[mean 2014/15..2017/18]" in names
    assert not any("2016-18" in n for n in names)  # HLE after 2015-17 is held out
    assert {s.role for s in fit} == {"fit"} and {s.role for s in hold} == {"holdout"}
    assert not {s.name for s in fit} & {s.name for s in hold}
    ch = next(s for s in fit if s.target == "care_home_admissions_fit_mean")
    assert ch.observed == pytest.approx(np.mean([792.6, 714.2, 616.4, 692.6]))
    assert t.end_month("fit") == "2018-03" and t.end_month("all") == "2020-12"
    assert len(t.sha256) == 64


def test_observation_models_value_and_mean(tmp_path):
    (tmp_path / "t.yaml").write_text(TINY_TARGETS)
    t = load_targets(tmp_path / "t.yaml")
    st = t.stats("fit")
    outcomes = {"hle_male": {"2009-11": 58.0, "2010-12": 60.0, "2011-13": 61.0},
                "cumulative_savings_gbp_m": {"2010": 0.0, "2011": 12.0, "2012": 30.0}}
    sim = simulated(outcomes, st)
    assert sim == {"hle_male[2009-11]": 58.0, "hle_male[2010-12]": 60.0, "savings[mean 2011..2012]": 21.0}
    assert simulated(outcomes, t.stats("holdout"))["hle_male[2011-13]"] == 61.0
    # A period the run did not reach gives NaN, and an infinite distance.
    assert math.isnan(simulated(outcomes, t.stats("holdout"))["savings[mean 2013]"])
    del outcomes["hle_male"]["2010-12"]
    sim = simulated(outcomes, st)
    assert math.isnan(sim["hle_male[2010-12]"])
    assert distance(sim, observed(st), sds(st)) == math.inf


def test_distance_is_zero_for_a_perfect_match_and_grows(tmp_path):
    (tmp_path / "t.yaml").write_text(TINY_TARGETS)
    st = load_targets(tmp_path / "t.yaml").stats("fit")
    obs, sd = observed(st), sds(st)
    assert distance(obs, obs, sd) == 0.0
    last = 0.0
    for k in (0.5, 1.0, 2.0, 4.0):  # each statistic k of its sds away: distance k * sqrt(3)
        d = distance({n: v + k * sd[n] for n, v in obs.items()}, obs, sd)
        assert d == pytest.approx(k * math.sqrt(3)) and d > last
        last = d
    # Scaled by sd: one HLE year (sd 1) weighs as much as GBP 10m of savings (sd 10).
    one = dict(obs, **{"hle_male[2009-11]": obs["hle_male[2009-11]"] + 1})
    ten = dict(obs, **{"savings[mean 2011..2012]": obs["savings[mean 2011..2012]"] + 10})
    assert distance(one, obs, sd) == pytest.approx(distance(ten, obs, sd)) == pytest.approx(1.0)


@pytest.mark.parametrize("change, key, words", [
    ("    measure: value\n    sd: 1.0", "targets[0] (hle_male).sdd", "unknown key 'sdd'"),
    ("    measure: median\n    sd: 1.0", "targets[0] (hle_male).measure", "'value' or 'mean'"),
    ("    measure: value\n    sd: -1.0", "targets[0] (hle_male).sd", "more than 0"),
])
def test_a_wrong_key_or_value_is_refused_naming_file_key_and_line(tmp_path, change, key, words):
    text = TINY_TARGETS.replace("    measure: value\n    sd: 1.0", change)
    if "sdd" in key:
        text = text.replace("    sd: 1.0", "    sdd: 1.0")
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(CalibrationError) as e:
        load_targets(f)
    assert str(e.value).startswith(f"{f}:") and key in str(e.value) and words in str(e.value)
    assert e.value.line is not None


@pytest.mark.parametrize("old, new, words", [
    ("outcome: hle_male", "outcome: hle_mael", "did you mean 'hle_male'"),
    ("{2009-11: 58.9,", "{2009/10: 58.9,", "not a 3-year period"),
    ("{2009-11: 58.9,", "{2009-12: 58.9,", "not a 3-year period"),
    ("holdout: {2011-13: 60.9}", "holdout: {2010-12: 60.9}", "in both 'fit' and 'holdout'"),
    ("  - name: savings", "  - name: hle_male", "two targets are named 'hle_male'"),
    ("targets:", "targets:\n  extra: 1\ntargetz:", "unknown key"),
    ("unit: years", "unit: !!python/object/apply:os.system [echo]", "unsafe or unknown YAML tag"),
])
def test_bad_targets_are_refused(tmp_path, old, new, words):
    f = tmp_path / "bad.yaml"
    f.write_text(TINY_TARGETS.replace(old, new, 1))
    with pytest.raises(CalibrationError) as e:
        load_targets(f)
    assert words in str(e.value) and str(f) in str(e.value)


def test_wigan_calibration_settings_load_and_bad_ones_are_refused(tmp_path):
    cal = load_calibration(WIGAN_CAL)
    assert cal.keys[0] == "health.threshold_male" and len(cal.keys) == 15
    assert cal.end == "2018-03" and cal.scale == 0.1 and cal.population_size == 150
    assert cal.transition_scaling == 3.0  # not in the file: the default (see calibration/config.py)
    text = WIGAN_CAL.read_text().replace("../scenarios/", f"{ROOT}/scenarios/").replace(
        "targets: targets/", f"targets: {ROOT}/calibration/targets/")
    for old, new, words in [
        ("health.w_group:", "health.w_grup:", "unknown key 'w_grup' (did you mean 'w_group'?"),
        ("uniform: [0.0, 0.5]", "uniform: [0.0, 1.5]", "must be at most 1"),
        ("uniform: [2.2, 2.8]", "uniform: [2.8, 2.2]", "lower bound must be below"),
        ('end: "2018-03"', 'end: "2016-03"', "must reach 2018-03"),
        ("min_acceptance_rate:", "min_acceptance:", "unknown key 'min_acceptance'"),
    ]:
        f = tmp_path / "c.yaml"
        f.write_text(text.replace(old, new, 1))
        with pytest.raises(CalibrationError) as e:
            load_calibration(f)
        assert words in str(e.value) and str(e.value).startswith(f"{f}:"), str(e.value)


def test_seed_is_determined_by_the_parameter_values():
    a = {"x.a": 0.5, "x.b": 2.0}
    assert seed_for(a) == seed_for({"x.b": 2.0, "x.a": 0.5}) == seed_for({"x.a": np.float64(0.5), "x.b": 2})
    assert seed_for(a) != seed_for({"x.a": 0.5000001, "x.b": 2.0})
    assert seed_for(a) != seed_for(a, salt=1)
    assert 0 <= seed_for(a) < 2**63


# ---------------------------------------------------------------------------------------------
# A tiny calibration, end to end, interrupted after one generation and resumed
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory, worker_id):
    """The tiny calibration, run once per test session even with pytest-xdist (the first worker runs it under a
    file lock in the session's shared temporary folder; the others read its result)."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base
    folder = shared / "tiny_calibration"
    done = folder / "fixture.json"
    with open(shared / "tiny_calibration.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.is_file():
                folder.mkdir(exist_ok=True)
                out = folder / "out"
                first = cli("calibrate", tiny_calibration(folder, 1), "--out", out, "--workers", 2)
                ok(first)
                import pyabc

                h = pyabc.History(f"sqlite:///{out / 'abc.db'}")
                eps = list(h.get_all_populations().query("t >= 0")["epsilon"])
                second = ok(cli("calibrate", tiny_calibration(folder, 2), "--out", out, "--workers", 2))
                done.write_text(json.dumps({"first": first.stderr, "second": second.stderr, "eps_first": eps}))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    rec = json.loads(done.read_text())
    return {"folder": folder, "out": folder / "out", "first": rec["first"], "second": rec["second"],
            "eps_first": rec["eps_first"]}


def test_tiny_calibration_writes_the_posterior_and_its_provenance(tiny):
    folder, out = tiny["folder"], tiny["out"]
    csv_path = folder / "posterior" / "tiny.csv"
    assert csv_path.is_file() and (folder / "posterior" / "tiny.json").is_file()
    assert {"abc.db", "state.json", "tiny.csv", "tiny.json"} <= {p.name for p in out.iterdir()}
    assert (out / "tiny.csv").read_text() == csv_path.read_text()
    with open(csv_path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["weight", "health.threshold_male", "finance.savings_required_gbp_m"]
    assert len(rows) == 1 + 8
    w = np.array([float(r[0]) for r in rows[1:]])
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    for r in rows[1:]:
        assert 2.2 <= float(r[1]) <= 2.8 and 120 <= float(r[2]) <= 200
    prov = json.loads((folder / "posterior" / "tiny.json").read_text())
    for key in ("calibration", "targets", "scenario", "scale", "abc", "generations_run", "epsilons",
                "acceptance_rates", "simulations", "wall_time_s", "package_version", "git_commit", "date"):
        assert key in prov, key
    assert len(prov["calibration"]["sha256"]) == 64 and len(prov["targets"]["sha256"]) == 64
    assert len(prov["scenario"]["sha256"]) == 64
    assert prov["scale"] == 0.02 and prov["abc"]["population_size"] == 8 and prov["generations_run"] == 2
    assert len(prov["epsilons"]) == 2 and prov["epsilons"][1] <= prov["epsilons"][0]
    assert prov["simulations"] >= 8 * 3  # calibration sample + two generations
    assert "generation 1/1" in tiny["first"] and "generation 2/2" in tiny["second"]


def test_an_interrupted_calibration_resumes_from_its_last_generation(tiny):
    import pyabc

    out = tiny["out"]
    assert "resuming from generation 1" in tiny["second"]
    assert "generation 1/2" not in tiny["second"]  # generation 1 was not run again
    h = pyabc.History(f"sqlite:///{out / 'abc.db'}")
    assert h.n_populations == 2
    pops = h.get_all_populations().query("t >= 0")
    assert list(pops["epsilon"])[:1] == tiny["eps_first"]  # the first generation is the one from the first run
    state = json.loads((out / "state.json").read_text())
    assert [s["from_generation"] for s in state["sessions"]] == [0, 1]
    # Nothing is left to do: a third run only rewrites the posterior.
    third = ok(cli("calibrate", tiny["folder"] / "tiny.yaml", "--out", out, "--quiet"))
    assert third.stdout == "" and pyabc.History(f"sqlite:///{out / 'abc.db'}").n_populations == 2
    # Different settings are refused rather than mixed into the same database.
    p = cli("calibrate", tiny["folder"] / "tiny.yaml", "--out", out, "--scale", "0.03")
    assert p.returncode == 2 and "different settings (scale)" in p.stderr and "--fresh" in p.stderr


def test_the_posterior_loads_and_drives_a_run(tiny):
    from model.model import DealModel
    from model.scenario import apply_overrides, load_scenario

    post = load_posterior(tiny["folder"] / "posterior" / "tiny.csv")
    assert post.keys == ("health.threshold_male", "finance.savings_required_gbp_m") and len(post) == 8
    assert post.weights.sum() == pytest.approx(1.0) and post.provenance["generations_run"] == 2
    draws = posterior_draws(post, 3, np.random.default_rng(5))
    assert draws == posterior_draws(post, 3, np.random.default_rng(5))
    assert all(d in post.params for d in draws)
    loaded = apply_overrides(load_scenario(SCENARIO), {**draws[0], "time.end": "2010-12"})
    m = DealModel(loaded.scenario, seed=seed_for(draws[0]), scale=0.01, base_dir=loaded.path.parent).run()
    assert m.sc.health.threshold_male == draws[0]["health.threshold_male"]
    assert m.sc.finance.savings_required_gbp_m == draws[0]["finance.savings_required_gbp_m"]
    assert len(m.timeseries()["month"]) == 24


def test_posterior_draws_follow_the_weights(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("weight,a.x\n0.9,1.0\n0.1,2.0\n0,3.0\n")
    post = load_posterior(f)
    xs = [d["a.x"] for d in posterior_draws(post, 2000, np.random.default_rng(0))]
    assert 3.0 not in xs and 0.87 < xs.count(1.0) / 2000 < 0.93
    for bad, words in [("weight,a.x\n-1,1\n", "negative"), ("w,a.x\n1,1\n", "header"), ("weight,a.x\n1,x\n", "numbers"),
                       ("weight,a.x\n0,1\n", "sum to 0")]:
        f.write_text(bad)
        with pytest.raises(CalibrationError, match=words):
            load_posterior(f)


def test_validation_does_not_depend_on_workers_and_writes_its_files(tiny, tmp_path):
    from calibration.validate import run_validation

    cal = load_calibration(tiny["folder"] / "tiny.yaml")
    post = load_posterior(tiny["folder"] / "posterior" / "tiny.csv")
    one = run_validation(cal, post, draws=3, seeds=2, workers=1, seed=3)
    two = run_validation(cal, post, draws=3, seeds=2, workers=2, seed=3)
    assert one.stats == two.stats and [r["seed"] for r in one.runs] == [r["seed"] for r in two.runs]
    assert len({r["seed"] for r in one.runs}) == 6
    assert one.settings["end"] == "2013-12"  # the holdout savings need December 2013
    rows = {r["name"]: r for r in one.stats}
    assert set(rows) == {"hle_male[2009-11]", "hle_male[2010-12]", "savings[mean 2011..2012]", "hle_male[2011-13]",
                         "savings[mean 2013]"}
    for r in rows.values():
        p = r["predictive"]
        if p["median"] is not None:
            assert p["q05"] <= p["median"] <= p["q95"]
            assert r["inside"] == (p["q05"] <= r["observed"] <= p["q95"])
    assert one.coverage["holdout"]["total"] <= 2

    out = tmp_path / "val"
    p = ok(cli("validate", "--posterior", tiny["folder"] / "posterior" / "tiny.csv", "--draws", 3, "--seeds", 1,
               "--out", out, "--workers", 2))
    assert "coverage of the 90% intervals, holdout" in p.stdout
    assert {"validation.json", "predictive_runs.json", "fan_charts.png", "provenance.json"} <= {
        f.name for f in out.iterdir()}
    assert (out / "fan_charts.png").read_bytes()[:8] == PNG
    v = json.loads((out / "validation.json").read_text())
    assert {s["role"] for s in v["statistics"]} == {"fit", "holdout"} and "holdout" in v["coverage"]


def test_bad_command_line_input_exits_2(tmp_path):
    p = cli("calibrate", tmp_path / "missing.yaml")
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "no such calibration file" in p.stderr
    p = cli("calibrate", WIGAN_CAL, "--scale", "2")
    assert p.returncode == 2 and "--scale" in p.stderr
    p = cli("validate", "--posterior", tmp_path / "none.csv")
    assert p.returncode == 2 and "posterior not found" in p.stderr


def test_simulate_py_offers_the_commands():
    p = subprocess.run([sys.executable, str(ROOT / "simulate.py"), "--help"], cwd=ROOT, capture_output=True, text=True)
    assert "calibrate" in p.stdout and "validate" in p.stdout
    for cmd in ("calibrate", "validate"):
        q = subprocess.run([sys.executable, str(ROOT / "simulate.py"), cmd, "--help"], cwd=ROOT, capture_output=True,
                           text=True)
        assert q.returncode == 0 and "--scale" in q.stdout
