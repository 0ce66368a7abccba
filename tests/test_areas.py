"""The multi-area calibration: targets, observation model, emulator, design resume and a tiny calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration.area_config import load_area_calibration
from calibration.area_targets import load_area_targets, untransform
from calibration.emulator import fit_emulator, known_values
from calibration.likelihood import block_moments, build_blocks, log_likelihood
from model.yamlfile import InputError

ROOT = Path(__file__).resolve().parents[1]
AREAS = ROOT / "calibration" / "areas.yaml"
TARGETS = ROOT / "calibration" / "targets" / "areas.yaml"
DATA = ROOT / "model" / "data"


# ----------------------------------------------------------------------------- targets
def test_targets_are_the_published_figures():
    """Every figure in targets/areas.yaml equals the one in model/data (copied from the shared observed data)."""
    t = load_area_targets(TARGETS)
    we = yaml.safe_load((DATA / "wigan_england.yaml").read_text())
    co = yaml.safe_load((DATA / "controls_outcomes.yaml").read_text())
    checked = 0
    for o in t.obs:
        if o.area in ("wigan", "england"):
            key = {"hle_original": "healthy_life_expectancy_original", "hle_revised": "healthy_life_expectancy_revised",
                   "life_expectancy": "life_expectancy"}.get(o.series)
            if key:
                s = we[key]
                v = s[f"{o.area}_{o.sex}"][s["periods"].index(o.period)]
            elif o.series == "care_home_admissions":
                s = we["care_home_admissions_65plus"]
                v = s[o.area][s["years"].index(o.period)]
            elif o.series == "still_at_home":
                s = we["still_at_home_91_days_after_reablement"]
                v = s[f"{o.area}_2b1"][s["years"].index(o.period)]
            elif o.series == "delayed_transfers":
                s = we["delayed_transfers_of_care"]
                v = s[f"{o.area}_total"][s["years"].index(o.period)]
            else:
                v = we["care_quality_good_or_outstanding"]["wigan_care_homes"][int(o.period)]
        else:
            key = {"hle_original": "hle_original", "life_expectancy": "life_expectancy_2017_19",
                   "care_home_admissions": "ascof_2a2_per_100k_65plus", "still_at_home": "ascof_2b1_percent",
                   "delayed_transfers": "delayed_transfers_per_100k"}[o.series]
            s = co[key]
            if o.series == "hle_original":
                v = s[o.area][o.sex][s["periods"].index(o.period)]
            elif o.series == "life_expectancy":
                v = s[o.area][o.sex]
            else:
                v = s[o.area][s["years"].index(o.period)]
        assert o.raw == pytest.approx(v), (o.series, o.area, o.sex, o.period)
        checked += 1
    assert checked == len(t.obs) > 100
    # The two HLE series are separate series, never one.
    assert {o.series for o in t.obs if o.kind == "hle"} == {"hle_original", "hle_revised"}
    # Nothing from 2020 on (COVID-19 is not in the model).
    assert max(o.end_year for o in t.obs) <= 2020.25


def test_targets_errors_name_the_line(tmp_path):
    bad = tmp_path / "t.yaml"
    text = TARGETS.read_text().replace("      barnsley:  {2018/19: 814.2", "      barnsley:  {2018/19: high", 1)
    bad.write_text(text)
    with pytest.raises(InputError) as e:
        load_area_targets(bad)
    assert "expected a number" in str(e.value) and ":" in str(e.value)


# ----------------------------------------------------------------------------- observation model
class _FakeEmu:
    """An emulator stand-in: names and zero error."""

    def __init__(self, names):
        self.names = names
        self.err_var = np.zeros(len(names))

    def index(self, names):
        return [self.names.index(s) for s in names]


def _wigan_block(series="hle_original", kinds=None):
    t = load_area_targets(TARGETS)
    obs = [o for o in t.obs if o.area == "wigan" and o.series == series and (kinds is None or o.kind in kinds)]
    emu = _FakeEmu([o.stat for o in obs])
    return t, obs, build_blocks(t, obs, {"wigan": "x"}, {"x": emu})[0]


def test_overlapping_periods_are_correlated_by_shared_years():
    t, obs, b = _wigan_block()
    sd2 = t.series["hle_original"].sd.borough ** 2
    i = {(o.sex, o.period): k for k, o in enumerate(b.obs)}
    assert b.base[i["male", "2009-11"], i["male", "2010-12"]] == pytest.approx(sd2 * 2 / 3)
    assert b.base[i["male", "2009-11"], i["male", "2011-13"]] == pytest.approx(sd2 / 3)
    assert b.base[i["male", "2009-11"], i["male", "2012-14"]] == 0.0
    assert b.base[i["male", "2009-11"], i["female", "2009-11"]] == 0.0
    # Seven overlapping periods carry less information than seven independent ones: a common shift of all of
    # them costs less log-likelihood than it would if they were independent.
    hyper = {h: np.zeros(1) for h in ("tau_hle_level", "tau_hle_trend")}
    shift = np.full((1, len(b.y)), 1.0)
    _, cov = block_moments(b, b.y[None, :], hyper, {})
    ll_corr = -0.5 * shift[0] @ np.linalg.solve(cov[0], shift[0])
    ll_ind = -0.5 * shift[0] @ np.linalg.solve(np.diag(np.diag(cov[0])), shift[0])
    assert ll_corr > ll_ind


def test_area_level_absorbs_a_common_shift_only_when_its_spread_allows():
    t, obs, b = _wigan_block()
    means = {"x": (b.y - 2.0)[None, :]}  # the model 2 years below every figure
    ll = [log_likelihood([b], means, {"tau_hle_level": np.array([tau]), "tau_hle_trend": np.array([0.1])}, {})[0]
          for tau in (0.1, 3.0)]
    assert ll[1] > ll[0] + 5


def test_boroughs_share_one_trend_that_england_does_not_have():
    """`trend_hle_boroughs` moves every borough's HLE by its value x (t - 2010.5)/10 and nothing else; England keeps
    the model's national trend. A rise all boroughs share is then explained by it, not by each area's trend."""
    t = load_area_targets(TARGETS)
    areas = ("england", "bolton", "barnsley", "doncaster")
    obs = [o for o in t.obs if o.series in ("hle_original", "life_expectancy") and o.area in areas]
    emus = {a: _FakeEmu([o.stat for o in obs if o.area == a]) for a in areas}
    blocks = build_blocks(t, obs, {a: a for a in areas}, emus)
    by = {b.area: b for b in blocks}
    assert not by["england"].offset["trend_hle_boroughs"].any()
    hyper = {"tau_hle_level": np.array([0.5]), "tau_hle_trend": np.array([0.5]), "tau_le_level": np.array([0.5])}
    for area in areas[1:]:
        b = by[area]
        mult = b.offset["trend_hle_boroughs"]
        for o, m in zip(b.obs, mult):
            assert m == (pytest.approx((o.t - 2010.5) / 10) if o.kind == "hle" else 0.0), (area, o.stat)
        assert mult.max() == pytest.approx(0.8)  # 2017-19: mid-point 2018.5
        mu, _ = block_moments(b, np.zeros((1, len(b.y))), hyper, {"trend_hle_boroughs": np.array([1.5])})
        assert np.allclose(mu[0], 1.5 * mult)
    # Figures that all rise 2 years a decade beyond the model: the shared trend fits them better than area trends
    # of the same prior scale, which must each be drawn that far from zero.
    means = {b.area: (b.y - 2.0 * b.offset["trend_hle_boroughs"])[None, :] for b in blocks}
    ll = [log_likelihood(blocks, means, hyper, {"trend_hle_boroughs": np.array([v])})[0] for v in (0.0, 2.0)]
    assert ll[1] > ll[0] + 1


def test_shares_stay_inside_their_bounds():
    """Bounded noise: whatever the noise, a predictive share is inside 0-100% (2B(1)) or 0-1 (quality)."""
    rng = np.random.default_rng(0)
    z = rng.normal(3.0, 5.0, 100_000)
    p = untransform("2b1", z)
    assert p.min() >= 0 and p.max() <= 100
    q = untransform("quality", z)
    assert q.min() >= 0 and q.max() <= 1
    t, obs, b = _wigan_block(kinds={"2b1"}, series="still_at_home")
    hyper = {"sigma_2b1": np.array([2.0]), "tau_2b1_level": np.array([2.0])}
    mu, cov = block_moments(b, b.y[None, :], hyper, {})
    draws = untransform("2b1", rng.multivariate_normal(mu[0], cov[0], 20_000))
    assert np.quantile(draws, 0.95) < 100.0 and np.quantile(draws, 0.05) > 0.0


# ----------------------------------------------------------------------------- emulator
def test_emulator_recovers_a_quadratic_and_measures_noise():
    rng = np.random.default_rng(3)
    lo, hi = np.array([0.0, -1.0, 2.0]), np.array([1.0, 1.0, 4.0])
    x = lo + rng.random((400, 3)) * (hi - lo)
    truth = 1.0 + 2.0 * x[:, 0] - x[:, 1] ** 2 + 0.5 * x[:, 0] * x[:, 2]
    noisy = truth + rng.normal(0, 0.3, len(x))
    e = fit_emulator(["a", "b", "c"], lo, hi, x, {"exact": truth, "noisy": noisy})
    xt = lo + rng.random((50, 3)) * (hi - lo)
    tt = 1.0 + 2.0 * xt[:, 0] - xt[:, 1] ** 2 + 0.5 * xt[:, 0] * xt[:, 2]
    assert np.max(np.abs(e.mean(xt, ["exact"])[:, 0] - tt)) < 1e-2
    # The noisy fit's mean is close to the truth (noise averaged out) and its CV RMSE is the noise sd (+-15%).
    assert np.sqrt(np.mean((e.mean(xt, ["noisy"])[:, 0] - tt) ** 2)) < 0.1
    assert e.cv_rmse[e.names.index("noisy")] == pytest.approx(0.3, rel=0.15)


def test_emulator_keeps_the_parameters_a_statistic_depends_on():
    """A noisy statistic of 2 of 6 parameters (noise sd 1, 400 points; seeds 0-5): selection keeps both, its
    expected value is nearer the truth than the full quadratic's (the noise of 28 coefficients against 6),
    and its stated error is not below half the true one (selection is optimistic: the experiment in
    docs/calibration.md found the multi-area posterior overconfident with it, so it is not the default)."""
    for seed in range(6):
        rng = np.random.default_rng(seed)
        d, n = 6, 400
        lo, hi = np.zeros(d), np.ones(d)
        x = rng.random((n, d))

        def f(z):
            return 2 * z[:, 0] - 1.5 * z[:, 1] ** 2

        y = {"s": f(x) + rng.normal(0, 1.0, n)}
        xt = rng.random((4000, d))
        keys = [f"p{i}" for i in range(d)]
        full = fit_emulator(keys, lo, hi, x, y, select_parameters=False)
        sel = fit_emulator(keys, lo, hi, x, y, select_parameters=True)
        rmse = {k: float(np.sqrt(np.mean((e.mean(xt, ["s"])[:, 0] - f(xt)) ** 2))) for k, e in (("full", full),
                                                                                                 ("sel", sel))}
        assert {"p0", "p1"} <= set(sel.active[0]), seed
        assert rmse["sel"] < rmse["full"], (seed, rmse)
        assert np.sqrt(sel.err_var[0]) >= 0.5 * rmse["sel"], (seed, rmse, sel.err_var)


def test_emulator_selection_is_one_for_all_periods_of_a_series():
    """The periods of one series share one parameter set (a set chosen per period followed each period's noise in
    the multi-area experiment); another series chooses its own."""
    rng = np.random.default_rng(7)
    d, n = 6, 400
    x = rng.random((n, d))
    y = {f"s[{t}]": 2 * x[:, 0] + 0.3 * t * x[:, 2] + rng.normal(0, 1.0, n) for t in range(4)}
    y["other[0]"] = 3 * x[:, 4] + rng.normal(0, 1.0, n)
    e = fit_emulator([f"p{i}" for i in range(d)], np.zeros(d), np.ones(d), x, y, select_parameters=True)
    sets = {name: tuple(a) for name, a in zip(e.names, e.active)}
    assert len({sets[f"s[{t}]"] for t in range(4)}) == 1 and "p0" in sets["s[0]"]
    assert "p4" in sets["other[0]"] and "p0" not in sets["other[0]"]


# ----------------------------------------------------------------------------- config
def test_config_errors_name_file_key_and_line(tmp_path):
    text = AREAS.read_text().replace("    prior: {uniform: [2.2, 2.8]}\n    design: [2.0, 3.0]",
                                     "    prior: {uniform: [2.2, 3.8]}\n    design: [2.0, 3.0]", 1)
    p = tmp_path / "areas.yaml"
    p.write_text(text.replace("targets: targets/areas.yaml", f"targets: {TARGETS}"))
    with pytest.raises(InputError) as e:
        load_area_calibration(p)
    msg = str(e.value)
    assert "parameters.health.threshold_male" in msg and "design box" in msg and "areas.yaml:" in msg
    # Every fixed term of the observation model has its prior stated: a missing one is named.
    p.write_text(AREAS.read_text().replace("targets: targets/areas.yaml", f"targets: {TARGETS}")
                 .replace("  trend_hle_boroughs:", "  trend_hle_borough:"))
    with pytest.raises(InputError) as e:
        load_area_calibration(p)
    msg = str(e.value)
    assert "offsets" in msg and "missing trend_hle_boroughs" in msg and "unknown trend_hle_borough" in msg
    cal = load_area_calibration(AREAS)
    assert cal.offsets["trend_hle_boroughs"].normal_sd == 1.0 and cal.offsets["trend_hle_boroughs"].reason


# ----------------------------------------------------------------------------- a tiny calibration
def _tiny(tmp_path: Path, size: int = 12) -> Path:
    data = yaml.safe_load(AREAS.read_text())
    data["targets"] = str(TARGETS)
    data["design"].update(scale=0.02, size=size)
    data["design"]["refine"]["size"] = size
    for arm in data["arms"].values():
        arm["scenario"] = str((AREAS.parent / arm["scenario"]).resolve())
    keep = ("health.threshold_male", "health.w_self_help")
    data["parameters"] = {k: v for k, v in data["parameters"].items() if k in keep}
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def test_design_resumes_after_an_interruption(tmp_path):
    from calibration.area_design import load_design, run_design

    cal = load_area_calibration(_tiny(tmp_path, size=3))
    cal = type(cal)(**{**cal.__dict__, "arms": {k: cal.arms[k] for k in ("wigan", "england")}})
    a = run_design(cal, tmp_path / "a", workers=1, say=lambda s: None)
    full = a.read_text().splitlines()
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    b = b_dir / a.name
    # Interrupted mid-line after three runs.
    b.write_text("\n".join(full[:4]) + "\n" + full[4][: len(full[4]) // 2])
    run_design(cal, b_dir, workers=1, say=lambda s: None)
    lines = b.read_text().splitlines()
    assert len(lines) == len(full)
    da, db = load_design(cal, a), load_design(cal, b)
    assert da.size == db.size == 3
    for arm in da.stats:
        for s, v in da.stats[arm].items():
            np.testing.assert_array_equal(v, db.stats[arm][s])
    # A file made under other settings is refused, not mixed in.
    other = type(cal)(**{**cal.__dict__, "scale": 0.03})
    with pytest.raises(InputError, match="other design settings"):
        run_design(other, b_dir, workers=1, say=lambda s: None)


def test_a_design_made_under_another_hash_is_kept_only_if_its_runs_recheck_identically(tmp_path):
    """--recheck: a parameter added at a default that changes nothing gives the scenarios another hash; the stored
    runs are kept (header rehashed, the check recorded) when they rerun identically, and refused when they do not."""
    from calibration.area_design import design_hash, run_design

    cal = load_area_calibration(_tiny(tmp_path, size=3))
    cal = type(cal)(**{**cal.__dict__, "arms": {k: cal.arms[k] for k in ("wigan", "england")}})
    path = run_design(cal, tmp_path / "d", workers=1, say=lambda s: None)
    runs = path.read_text().splitlines()[1:]
    changed = type(cal)(**{**cal.__dict__, "arms": {
        k: type(a)(**{**a.__dict__, "overrides": {**a.overrides, "staff.reversion_rate": 0.02}})
        for k, a in cal.arms.items()}})
    with pytest.raises(InputError, match="--recheck"):
        run_design(changed, tmp_path / "d", workers=1, say=lambda s: None)
    with pytest.raises(InputError, match="rechecked runs differ"):
        run_design(changed, tmp_path / "d", workers=1, recheck=2, say=lambda s: None)
    assert path.read_text().splitlines()[1:] == runs  # left as it was
    # Rehash by hand to another value (as if the code had added a default): the recheck restores this hash.
    head = json.loads(path.read_text().splitlines()[0])
    path.write_text("\n".join([json.dumps({**head, "design_hash": "0" * 64}), *runs]) + "\n")
    run_design(cal, tmp_path / "d", workers=1, recheck=2, say=lambda s: None)
    lines = path.read_text().splitlines()
    new = json.loads(lines[0])
    assert new["design_hash"] == design_hash(cal) and lines[1:] == runs
    assert new["rechecked"][0]["from"] == "0" * 64 and new["rechecked"][0]["identical"] == 4


def test_tiny_multi_area_calibration(tmp_path):
    """The whole pipeline at a tiny size: 2 free parameters, 12 + 12 points x 10 arms, short chains.
    The numbers mean nothing; the files' shape and the machinery are what is tested."""
    from calibration.areas_pipeline import calibrate_areas

    written = calibrate_areas(_tiny(tmp_path), out=tmp_path / "design", results=tmp_path / "res", workers=2,
                              seeds=(1,), quick=True, recovery_scale=0.02, say=lambda s: None)
    placebo = json.loads(written["experiments/placebo.json"].read_text())
    assert set(placebo) >= {"placebos"}
    kinds = {p["kind"] for p in placebo["placebos"]}
    assert kinds == {"control area", "pre-Deal window"}
    for p in placebo["placebos"]:
        assert set(p) >= {"area", "kind", "outcome", "period", "q05", "q50", "q95"}
        assert p["q05"] <= p["q50"] <= p["q95"]
    assert {p["area"] for p in placebo["placebos"] if p["kind"] == "control area"} == {"barnsley", "doncaster", "bolton"}
    att = json.loads(written["experiments/attribution.json"].read_text())
    for series in ("original", "revised"):
        e = att[series]["effects"]["hle_male_true[2017-19]"]
        assert e["q05"] <= e["q50"] <= e["q95"] and 0 <= e["p_positive"] <= 1
        assert "trend_hle_boroughs" in att[series]["offsets"]
    # The prior's own answer, to set the posterior's beside (emulated from the stage-1 design).
    pr = att["prior"]["effects"]["hle_male_true[2017-19]"]
    assert pr["q05"] < pr["q50"] < pr["q95"] and att["prior"]["draws"] == 4000
    val = json.loads(written["validation/areas.json"].read_text())
    rows = val["original"]["rows"]
    assert rows and all("crps" in r["model"] and "interval_score" in r["model"] for r in rows)
    assert any("persistence" in r and "linear_trend" in r for r in rows)
    for r in rows:  # shares inside their bounds
        if r["stat"].startswith("still_at_home"):
            assert 0 <= r["model"]["q05"] <= r["model"]["q95"] <= 100
    # Leave one area out (issue 12): each control projected from its baseline only, scored on its later figures.
    loao = json.loads(written["validation/leave_one_area_out.json"].read_text())["original"]
    assert set(loao["areas"]) == {"barnsley", "doncaster", "bolton"}
    for area, a in loao["areas"].items():
        assert [b["stat"] for b in a["baseline"]] == ["hle_male_true[2009-11]", "hle_female_true[2009-11]"]
        assert {r["stat"] for r in a["rows"]} >= {"hle_male_true[2015-17]", "hle_female_true[2017-19]",
                                                  "le_male_true[2017-19]"}
        assert all(r["area"] == area and r["model"]["width90"] >= 0 for r in a["rows"])
        assert all("persistence" in r for r in a["rows"] if r["stat"].startswith("hle_"))  # 2009-11 carried forward
    cells = loao["summary"]["hle_2015_17_and_2017_19"]
    assert cells["n"] == 12 and 0 <= cells["inside90"] <= 12 and set(loao["summary"]["goal_met"]) >= {"hle_inside"}
    post = written["areas"]
    assert post.read_text().splitlines()[0] == "weight,health.threshold_male,health.w_self_help"


def test_a_zero_count_in_the_design_does_not_break_the_emulator():
    """A year with no care-home admission in one design run (it happens at scale 0.05) must not make the log-rate
    emulator useless: with the continuity correction its cross-validated error is the runs' noise (sd 0.4, +-25%)
    and its expected value stays near the truth; without it, neither (6 parameters, 300 runs, seeds 0-5)."""
    from calibration.area_fit import _no_zero_counts
    from calibration.area_targets import transform

    for seed in range(6):
        rng = np.random.default_rng(seed)
        n, d = 300, 6
        x = rng.random((n, d))
        rate = np.exp(6.0 + 0.8 * x[:, 0] + rng.normal(0, 0.4, n))
        rate[17] = 0.0
        fixed_col = _no_zero_counts("2a2", rate)
        assert fixed_col[17] == pytest.approx(0.5 * rate[rate > 0].min())
        assert np.array_equal(_no_zero_counts("hle", rate), rate)  # only counts' rates are corrected
        xt = rng.random((2000, d))
        truth = 6.0 + 0.8 * xt[:, 0]
        keys = [f"p{i}" for i in range(d)]
        res = {}
        for name, col in (("broken", rate), ("fixed", fixed_col)):
            e = fit_emulator(keys, np.zeros(d), np.ones(d), x, {"s": transform("2a2", col)})
            res[name] = (float(e.cv_rmse[0]), float(np.sqrt(np.mean((e.mean(xt, ["s"])[:, 0] - truth) ** 2))))
        assert res["broken"][0] > 1.0 and res["fixed"][0] == pytest.approx(0.4, rel=0.25), (seed, res)
        assert res["fixed"][1] < 0.2 and res["fixed"][1] < res["broken"][1] / 1.5, (seed, res)
    # fit_emulators applies it to the design's columns of count rates.
    from types import SimpleNamespace as NS

    from calibration.area_fit import fit_emulators

    keys = [f"p{i}" for i in range(d)]
    emus = fit_emulators(NS(keys=keys, boxes={k: (0.0, 1.0) for k in keys}),
                         NS(stats={"arm": {"s": rate}}, theta=x), NS(obs=[NS(stat="s", kind="2a2")]))
    assert emus["arm"].cv_rmse[0] == pytest.approx(res["fixed"][0])


def test_agreement_of_two_calibrations_is_measured_in_posterior_sds():
    """Issue 11: two calibrations agree when every shared parameter's medians are within 0.25 posterior SD. Draws
    shifted by a known number of SDs come out at that distance (tolerance 0.1 SD at 4,000 draws, seed 0)."""
    from types import SimpleNamespace

    from calibration.areas_pipeline import agreement

    rng = np.random.default_rng(0)
    keys = ["p0", "p1"]
    cal = SimpleNamespace(keys=keys)
    x = rng.standard_normal((4000, 2))
    emu = {"effect:wigan": known_values(keys, ["hle_male_true[2017-19]", "hle_male[2017-19]"])}
    same = agreement(cal, SimpleNamespace(draws=x), SimpleNamespace(draws=x.copy()), emu, emu, [1, 2], rng)
    assert same["all_within_0.25_sd"] and same["seeds"] == [1, 2]
    assert set(same["effects"]) == {"hle_male_true[2017-19]"}  # true-prevalence effects only
    moved = agreement(cal, SimpleNamespace(draws=x), SimpleNamespace(draws=x + [0.1, 1.0]), emu, emu, [1, 2], rng)
    d = {k: r["difference_in_sd"] for k, r in moved["parameters"].items()}
    assert d["p0"] == pytest.approx(0.1, abs=0.1) and d["p1"] == pytest.approx(1.0, abs=0.1)
    assert not moved["all_within_0.25_sd"]


def test_batch_means_ess_measures_autocorrelated_chains():
    """AR(1) chains with phi 0.9 have n (1 - phi) / (1 + phi) effective draws (2,105 of 40,000); independent
    draws have all of them. 40 chains at a fixed seed; the median estimate within 15% of the truth (one estimate's
    own relative SD is about sqrt(2/19), 32%, so the median of 40 has about 6%)."""
    from calibration.area_fit import batch_means_ess

    rng = np.random.default_rng(11)
    n, k, phi = 40_000, 40, 0.9
    e = rng.standard_normal((n, k))
    x = np.empty_like(e)
    x[0] = e[0] / np.sqrt(1 - phi ** 2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    truth = n * (1 - phi) / (1 + phi)
    assert abs(np.median(batch_means_ess(x)) / truth - 1) < 0.15
    assert abs(np.median(batch_means_ess(e)) / n - 1) < 0.15


def test_fits_are_the_same_on_one_process_and_two(tmp_path):
    """The analysis runs its independent fits in parallel; each draws only from its own seeded generators, so the
    posterior draws must be identical on one process and on two (fresh processes), in the jobs' order."""
    from calibration.area_fit import FitJob, FitSpec, run_fits

    cal = load_area_calibration(_tiny(tmp_path))
    targets = load_area_targets(cal.targets_path)
    names = sorted({o.stat for o in targets.obs if o.area == "england"})
    emus = {0: {"england": known_values(cal.keys, names)}}
    jobs = [FitJob(FitSpec(f"f{i}", {"hle_original", "life_expectancy"}, {"england": "england"}, seed=i), 0, 0,
                   (("draws", 200), ("steps", 60), ("walkers", 32))) for i in (3, 4, 5)]
    one = run_fits(jobs, {0: cal}, targets, emus, workers=1)
    two = run_fits(jobs, {0: cal}, targets, emus, workers=2)
    assert [f.spec.name for f in two] == ["f3", "f4", "f5"]
    for a, b in zip(one, two):
        assert np.array_equal(a.draws, b.draws) and np.array_equal(a.logp, b.logp)
    assert not np.array_equal(one[0].draws, one[1].draws)  # the seeds differ, so the fits do
