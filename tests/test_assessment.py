"""Tests of council assessments: council files, defaults, refusals, the assessment and its command.

Everything runs at a small scale (0.02-0.05 of a borough) with few draws and seeds, so the whole file takes
about a minute and a half on 2 cores. Statistical claims use fixed seeds and state their tolerance beside the
assertion. A small fake posterior (written in tmp_path in calibration/posterior_io.py's CSV format) stands in
for the calibrated one, so the tests do not depend on a calibration having been run.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from assess import assessment as A
from assess.council import council_from_context, load_council
from model.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
COUNCILS = ROOT / "scenarios" / "councils"
CONTEXT = ROOT / "model" / "data" / "comparators_context.yaml"
OUTCOMES_DATA = yaml.safe_load((ROOT / "model" / "data" / "controls_outcomes.yaml").read_text())
COMPARATORS = ["st_helens", "barnsley", "doncaster", "rotherham", "bolton", "stockport"]
WIGAN = ROOT / "scenarios" / "wigan.yaml"


def fake_posterior(path: Path, n: int = 20, seed: int = 1) -> Path:
    """A posterior CSV like calibration/posterior/wigan.csv: a weight column and dotted parameter keys."""
    rng = np.random.default_rng(seed)
    keys = ["health.threshold_male", "health.threshold_female", "health.w_self_help",
            "front_door.strengths_community", "finance.savings_required_gbp_m", "context.devolution_frailty"]
    rows = ["weight," + ",".join(keys)]
    for _ in range(n):
        vals = [rng.uniform(0.5, 1.5), 2.53 + 0.03 * rng.standard_normal(), 2.56 + 0.03 * rng.standard_normal(),
                rng.uniform(0.05, 0.3), rng.uniform(0.3, 0.6), rng.uniform(140, 180), rng.uniform(-0.02, 0.05)]
        rows.append(",".join(repr(float(v)) for v in vals))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def fake_area_terms(posterior: Path, seed: int = 2) -> Path:
    """The companion of a multi-area posterior (calibration/posterior_io.area_terms_path): spreads of the area
    terms and the noise parameters, one row per posterior row, at about the shipped posterior's medians."""
    from calibration.likelihood import HYPER
    from calibration.posterior_io import area_terms_path

    n = len(posterior.read_text().splitlines()) - 1
    rng = np.random.default_rng(seed)
    med = {"tau_hle_level": 0.9, "tau_hle_trend": 0.45, "tau_le_level": 0.6, "tau_2a2_level": 0.12,
           "tau_2b1_level": 0.7, "tau_dtoc_level": 1.2, "sigma_2a2": 0.1, "sigma_2b1": 0.3, "sigma_dtoc": 0.13}
    keys = list(HYPER) + ["offset_2b1", "trend_hle_boroughs"]
    rows = ["weight," + ",".join(keys)]
    for _ in range(n):
        rows.append(",".join(["1.0"] + [repr(med[k] * float(rng.uniform(0.7, 1.3))) for k in HYPER] + ["-1.5", "0.9"]))
    out = area_terms_path(posterior)
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out


def council_file(folder: Path, body: str, name: str = "c.yaml") -> Path:
    p = folder / name
    p.write_text(f"extends: {WIGAN}\nname: test_council\n" + body, encoding="utf-8")
    return p


QUICK = dict(draws=2, seeds=1, scale=0.02, sensitivity=False, match_scale=0.1, match_seeds=1)


# ---------------------------------------------------------------------------------------------
# Council files
# ---------------------------------------------------------------------------------------------
def test_template_and_comparators_validate_and_use_the_context_file():
    ctx = yaml.safe_load(CONTEXT.read_text())
    t = load_council(COUNCILS / "TEMPLATE.yaml")
    assert t.loaded.scenario.population.total == 317849
    assert t.defaults_used == ["council.baseline_le.male", "council.baseline_le.female",
                               "council.asc_spend.home_care_gbp_m", "council.asc_spend.care_homes_gbp_m",
                               "council.asc_spend.reablement_gbp_m"]
    for key in COMPARATORS:
        c = load_council(COUNCILS / f"{key}.yaml")
        src = ctx["councils"][key]
        sc = c.loaded.scenario
        assert sc.population.age_sex_table is None
        assert sc.population.total == src["population"]["census_2011"]
        assert sc.population.share_lsoas_most_deprived_decile == src["lsoas_most_deprived_decile_2019"]
        assert sc.context.greater_manchester is src["greater_manchester"]
        assert c.inputs.baseline_hle.male == src["hle_2009_11"]["male"]
        assert c.inputs.baseline_hle.female == src["hle_2009_11"]["female"]
        assert sc.time.start == "2009-01" and c.baseline_period == "2009-11"
        # Money defaults scale with the population (Wigan: GBP 400m for 317,849 residents).
        assert sc.finance.baseline_budget_gbp_m == pytest.approx(400.0 * sc.population.total / 317849, rel=1e-3)
        assert c.baseline["finance.baseline_budget_gbp_m"]["default"] is True
        assert c.baseline["population.total"]["default"] is False
        # The file is exactly what council_from_context writes from the context file (nothing else added).
        assert (COUNCILS / f"{key}.yaml").read_text() == council_from_context(key, ctx, outcomes=OUTCOMES_DATA)
        assert c.inputs.present.population in (src["population"].get("census_2021"), src["population"]["mye_2020"])


def test_missing_inputs_run_and_report_defaults(tmp_path):
    p = council_file(tmp_path, "population:\n  age_sex_table: null\n  total: 120000\n  share_65_plus: 0.2\n"
                               "council:\n  asc_spend: {year: 2014/15, care_homes_gbp_m: 30.0}\n")
    c = load_council(p)
    for key in ("council.baseline_hle.male", "population.share_lsoas_most_deprived_decile",
                "council.asc_spend.home_care_gbp_m",
                "finance.baseline_budget_gbp_m", "community.groups_per_1000", "deal.launch"):
        assert key in c.defaults_used
    assert c.loaded.scenario.finance.workforce_baseline == round(5000 * 120000 / 317849)
    summary, plan = A.assess(p, A.Settings(**{**QUICK, "sensitivity": True}))
    out = A.public(summary)
    local = A.details(summary)["depends_on"]["local_inputs"]["effects"]
    assert set(local) == set(A.HEADLINE_METRICS)
    assert "reference" in local["hle_gain_years"] and any(k.startswith("deprivation") for k in local["hle_gain_years"])
    assert plan.match["offsets"] == {}  # nothing to match without a baseline HLE
    assert out["baseline"]["inputs"]["finance.baseline_budget_gbp_m"]["default"] is True
    assert "council.baseline_hle.male" in out["baseline"]["defaults_used"]
    text = A.report_markdown(summary, plan)
    assert "**default**" in text
    assert "| net revenue budget before the cuts (GBP m a year) | 151" in text
    (ck,) = out["baseline"]["spend_check"]  # the one line given, beside the business-as-usual arm's
    assert ck["line"] == "care_homes" and ck["year"] == "2014/15" and ck["model_gbp_m"]["q50"] > 0
    assert ck["ratio"] == pytest.approx(30.0 / ck["model_gbp_m"]["q50"], rel=0.01)
    assert "Your adult social care spend against the model's" in text and "| care homes | 2014/15 | 30.0 |" in text


@pytest.mark.parametrize("body, key, words", [
    ("population:\n  age_sex_table: null\n  total: -5\n  share_65_plus: 0.2\n", "population.total", "at least 1"),
    ("population:\n  age_sex_table: null\n  total: 1000\n  share_65_plus: 1.2\n", "population.share_65_plus",
     "at most 1"),
    ("population:\n  share_lsoas_most_deprived_decile: 1.5\n", "population.share_lsoas_most_deprived_decile",
     "at most 1"),
    ("council:\n  baseline_hle: {male: 80.0, female: 60.0}\n  baseline_le: {male: 77.0, female: 81.0}\n",
     "council", "must be below life expectancy"),
    ("council:\n  baseline_hle: {male: 60.0, female: 60.0, mael: 60.0}\n", "council.baseline_hle.mael", "unknown key"),
    ("council:\n  baseline_hle: {male: -3, female: 60.0}\n", "council.baseline_hle.male", "at least 30"),
    ("council:\n  display_nam: X\n", "council.display_nam", "did you mean 'display_name'"),
    ("council:\n  asc_spend: {year: 2014/16, home_care_gbp_m: 10}\n", "council.asc_spend", "financial year"),
    ("council:\n  asc_spend: {year: 2014/15}\n", "council.asc_spend", "at least one line"),
    ("council:\n  asc_spend: {year: 2014/15, care_homes_gbp_m: -2}\n", "council.asc_spend.care_homes_gbp_m",
     "at least 0"),
    ("council:\n  appraisal:\n    price_year: 2024\n    deflator: {2010: 80.0, 2024: 100.0}\n", "council.appraisal",
     "missing 2018, 2019"),  # the deflator must cover the unit costs' price years too
])
def test_impossible_inputs_are_refused_with_file_line_and_key(tmp_path, body, key, words):
    p = council_file(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        load_council(p)
    e = err.value
    assert e.key == key and words in e.message, str(e)
    assert e.file.endswith("c.yaml") and e.line is not None and e.line >= 3


def test_spend_in_a_year_not_simulated_is_refused(tmp_path):
    p = council_file(tmp_path, "council:\n  asc_spend: {year: 2030/31, home_care_gbp_m: 10.0}\n")
    with pytest.raises(ScenarioError) as err:
        A.prepare(p, A.Settings(**QUICK))
    assert err.value.key == "council.asc_spend.year" and "2030/31" in err.value.message
    assert err.value.file.endswith("c.yaml") and err.value.line == 4


def test_spend_check_against_hand_worked_financial_year_means():
    """2014/15 is April 2014 to March 2015: each run's mean of those 12 monthly rates, then quantiles over runs."""
    from types import SimpleNamespace

    from assess.council import AscSpend

    months = [f"{y}-{m:02d}" for y in (2014, 2015) for m in range(1, 13)]
    runs = []
    for level in (10.0, 20.0, 30.0):
        rates = [level + (100.0 if not ("2014-04" <= mo <= "2015-03") else (i % 3)) for i, mo in enumerate(months)]
        runs.append({"month": months, "spend_care_homes_gbp_m": rates, "spend_home_care_gbp_m": [5.0] * 24})
    council = SimpleNamespace(inputs=SimpleNamespace(asc_spend=AscSpend(year="2014/15", care_homes_gbp_m=40.0)))
    (ck,) = A.spend_check(council, runs)
    # months 2014-04..2015-03 are i = 3..14: i % 3 cycles 0, 1, 2 four times, mean 1.0
    assert ck["model_gbp_m"] == {"q05": 12.0, "q50": 21.0, "q95": 30.0}
    assert ck["line"] == "care_homes" and ck["ratio"] == pytest.approx(40.0 / 21.0, abs=0.005)  # 3 significant figures


def test_hle_above_the_models_life_expectancy_is_refused(tmp_path):
    # Without a baseline LE the check is against the model's own LE for this council (about 76-80 years).
    p = council_file(tmp_path, "council:\n  baseline_hle: {male: 90.0, female: 60.0}\n")
    with pytest.raises(ScenarioError) as err:
        A.prepare(p, A.Settings(**QUICK))
    assert err.value.key == "council.baseline_hle.male"
    assert "life expectancy" in err.value.message or "cannot reach" in err.value.message


# ---------------------------------------------------------------------------------------------
# The assessment
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def posterior(tmp_path_factory) -> Path:
    return fake_posterior(tmp_path_factory.mktemp("post") / "wigan.csv")


@pytest.mark.parametrize("key", COMPARATORS)
def test_every_comparator_runs_at_small_scale(key, posterior):
    summary, plan = A.assess(COUNCILS / f"{key}.yaml", A.Settings(posterior=posterior, **QUICK))
    out = A.public(summary)
    assert out["council"] == load_council(COUNCILS / f"{key}.yaml").name
    # The form: arms and effects by outcome and period, quantiles, p_positive in the effects.
    for name in ("hle_male", "hle_female", "le_male", "le_female", "care_home_admissions_65plus_per_100k",
                 "delayed_transfers_per_100k", "still_at_home_91d_pct", "care_quality_good_or_outstanding"):
        for arm in ("business_as_usual", "deal"):
            periods = list(out["arms"][arm][name])
            assert set(out["arms"][arm][name][periods[0]]) == {"q05", "q50", "q95"}
        # From the baseline on (at this tiny scale a year can have no 65+ reablement discharge to follow up).
        assert int(list(out["effects"][name])[0][:4]) <= (2010 if name == "still_at_home_91d_pct" else 2009)
        assert set(out["effects"][name][list(out["effects"][name])[0]]) == {"q05", "q50", "q95", "p_positive",
                                                                            "p_gain", "p_harm"}
    assert list(out["arms"]["deal"]["hle_male"])[-1] == "2023-25"  # ... to the end year
    assert "2025" in out["effects"]["cumulative_net_savings_gbp_m"]
    assert set(out["effects"]["payback_year"]["by 2025"]) == {"q05", "q50", "q95", "p_positive"}
    # Common random numbers: identical arms until the Deal's pilot (2012-01).
    assert out["effects"]["hle_male"]["2009-11"] == {"q05": 0.0, "q50": 0.0, "q95": 0.0, "p_positive": 0.0,
                                                     "p_gain": 0.0, "p_harm": 0.0}
    ap = out["appraisal"]  # the Green Book figures, from the Deal's first year (its pilot, 2012)
    assert ap["price_year"] == 2010 and ap["discount_rate"] == 0.035 and ap["base_year"] == 2012
    assert ap["npv_gbp_m"]["q05"] <= ap["npv_gbp_m"]["q50"] <= ap["npv_gbp_m"]["q95"]
    assert 0 <= ap["p_npv_positive"] <= 1 and set(ap["payback_year"]) == {"q05", "q50", "q95", "p_never"}
    assert out["effects"]["cumulative_net_savings_gbp_m"]["2011"]["q50"] == 0.0
    # The match moved the thresholds by the same offset in every draw.
    offs = plan.match["offsets"]
    assert abs(offs["health.threshold_male"]) > 0
    json.dumps(out)  # plain JSON


def _run_metrics(summary) -> dict[str, np.ndarray]:
    """Per-run summary effects: HLE gain (mean over sexes and periods from the 2014 launch), care-home admissions
    change (mean over financial years from 2014/15), cumulative net savings by 2025."""
    v, e = summary["_values"]["effect"], summary["effects"]
    hle = np.mean([v[k][p] for k in ("hle_male", "hle_female") for p in e[k] if int(p[:4]) >= 2014], axis=0)
    adm = np.mean([v["care_home_admissions_65plus_per_100k"][p] for p in e["care_home_admissions_65plus_per_100k"]
                   if int(p[:4]) >= 2014], axis=0)
    return {"hle_gain": hle, "admissions_change": adm, "net_savings_2025": v["cumulative_net_savings_gbp_m"]["2025"]}


def test_wigan_context_reproduces_wigan_within_noise(tmp_path, posterior):
    """A council file written from Wigan's own entry in comparators_context.yaml (synthetic age table, HLE
    matched, money scaled per resident) against scenarios/wigan.yaml itself, same posterior draws and seeds.

    "Within noise": for each summary effect the medians over the 10 paired runs of each must differ by less than
    3 standard errors of the difference, SE = 1.25 x SD / sqrt(n) for each median (normal approximation), with
    the SDs measured from these runs (at scale 0.04 about 0.3-0.8 years of HLE gain, 30-55 admissions per
    100,000, 40-70 GBP m of net savings). The baseline offset must be small: Wigan's own HLE is what the
    thresholds were set on (tolerance 0.1 SD of frailty, about 2 years of HLE)."""
    ctx = yaml.safe_load(CONTEXT.read_text())
    p = tmp_path / "wigan_context.yaml"
    p.write_text(council_from_context("wigan", ctx).replace("extends: ../wigan.yaml", f"extends: {WIGAN}"))
    s = A.Settings(draws=5, seeds=2, scale=0.04, posterior=posterior, sensitivity=False, match_scale=0.3)
    (sc, pc), (sw, pw) = A.assess(p, s), A.assess(WIGAN, s)
    assert all(abs(v) < 0.1 for v in pc.match["offsets"].values()), pc.match["offsets"]
    assert pc.seeds == pw.seeds  # the same seeds...
    for a, b in zip(pc.draws, pw.draws):  # ... and the same draws, apart from the baseline offsets
        assert {k: v for k, v in a.items() if "threshold" not in k} == {k: v for k, v in b.items() if "threshold" not in k}
    mc, mw = _run_metrics(sc), _run_metrics(sw)
    for k in mc:
        n = mc[k].size
        se = 1.25 * math.sqrt((np.var(mc[k], ddof=1) + np.var(mw[k], ddof=1)) / n)
        diff = float(np.median(mc[k]) - np.median(mw[k]))
        assert abs(diff) < 3 * se, (k, diff, se)
    # And the Deal's effect itself is clearly there in both (not two equal zeros).
    assert np.median(mc["hle_gain"]) > 0 and np.median(mw["hle_gain"]) > 0


def test_business_as_usual_intervals_include_the_published_noise(posterior):
    """Arms are widened to at least the targets' observation noise (calibration/targets/wigan.yaml: HLE sd 1.0,
    care quality 0.08): a 5-95% interval of a normal with that SD is 3.29 SD wide; 0.8 of that allows for the
    quantile estimate from 4 runs x 20 noise replicates."""
    # One seed per draw: the model's own seed-to-seed spread is then unknown, so the full noise is added.
    summary, _ = A.assess(COUNCILS / "bolton.yaml", A.Settings(posterior=posterior, draws=4, seeds=1, scale=0.02,
                                                                 sensitivity=False, match_scale=0.1, match_seeds=1))
    assert summary["settings"]["observation_noise_added_sd"]["hle_male"] == 1.0
    bau = summary["arms"]["business_as_usual"]
    for name, sd in (("hle_male", 1.0), ("care_quality_good_or_outstanding", 0.08), ("le_female", 0.4)):
        for p, q in bau[name].items():
            assert q["q95"] - q["q05"] >= 0.8 * 3.29 * sd, (name, p, q)
    # Effects carry no added noise: before the Deal acts they are exactly 0.
    assert summary["effects"]["care_quality_good_or_outstanding"]["2010"]["q95"] == 0.0


def test_variants_later_start_and_no_investment(posterior):
    base = dict(posterior=posterior, draws=1, seeds=2, scale=0.02, sensitivity=False, match_scale=0.1, match_seeds=1)
    late, plan = A.assess(COUNCILS / "st_helens.yaml", A.Settings(start=2016, **base))
    d = plan.deal.scenario.deal
    assert (d.pilot_start, d.launch, d.fund_start, d.tax_freeze_from) == ("2016-01", "2018-01", "2017-01", 2018)
    e = late["effects"]
    # Common random numbers: nothing differs before the shifted Deal acts (2016-01).
    assert all(e["hle_male"][p]["q05"] == e["hle_male"][p]["q95"] == 0.0 for p in ("2009-11", "2012-14", "2013-15"))
    assert e["cumulative_net_savings_gbp_m"]["2015"]["q50"] == 0.0
    none, plan0 = A.assess(COUNCILS / "st_helens.yaml", A.Settings(investment=0.0, **base))
    assert plan0.deal.scenario.deal.fund_gbp_m == 0.0
    inv = none["effects"]["cumulative_investment_gbp_m"]["2025"]["q50"]
    assert inv < 4.0  # only the GBP 2m care-home fund and training remain (GBP 10m fund with it)
    half, plan_h = A.assess(COUNCILS / "st_helens.yaml", A.Settings(fidelity=0.5, **base))
    assert plan_h.deal.scenario.deal.fidelity == 0.5


def test_a_council_carries_the_boroughs_common_hle_trend():
    """A council is one more borough: its published HLE moves by `trend_hle_boroughs` x (t - 2010.5)/10 beyond the
    simulated value, its baseline's departure is measured net of that trend, and LE does not move with it."""
    from assess import area_terms as AT

    rng = np.random.default_rng(5)
    sim = np.full((1, 4), 60.0)                       # one draw, four seeds: the simulated HLE, every period
    spread = {"tau_hle_level": 1.0, "tau_hle_trend": 0.5, "tau_le_level": 1.0}
    b = (2018.5 - 2010.5) / 10
    a = (2016.5 - 2010.5) / 10
    for trend in (0.0, 2.0):
        th = {**spread, "trend_hle_boroughs": trend}
        # The baseline (2015-17) is exactly the simulated value plus the borough trend at its time: no area term is
        # left, and the later figure carries the trend on.
        bau, deal, info = AT.published("hle_male", "2017-19", sim, sim, [th], 60.0 + trend * a, sim, "2015-17",
                                       50_000, rng, replicates=4000)
        assert info["mean"] == pytest.approx(0.0, abs=1e-9)
        assert np.mean(bau) == pytest.approx(60.0 + trend * b, abs=0.1), trend
        le, _, _ = AT.published("le_male", "2017-19", sim + 18, sim + 18, [th], None, None, "2009-11", 50_000, rng,
                                replicates=4000)
        assert np.mean(le) == pytest.approx(78.0, abs=0.1), trend
    # A baseline 1 year above the simulated value with a borough trend of 2: the area term is still measured
    # against the simulated value (the trend is zero at the 2009-11 origin), so it is positive.
    _, _, info = AT.published("hle_male", "2017-19", sim, sim, [{**spread, "trend_hle_boroughs": 2.0}], 61.0, sim,
                              "2009-11", 50_000, rng, replicates=10)
    assert info["mean"] > 0.3


def test_area_terms_carry_the_baseline_and_the_published_noise(tmp_path):
    """With a multi-area posterior, nothing is matched: the baseline HLE conditions the council's area term, and
    the business-as-usual intervals are those of a published figure (HLE noise sd 1 year), shares inside 0-100%."""
    post = fake_posterior(tmp_path / "areas.csv")
    fake_area_terms(post)
    s = A.Settings(posterior=post, draws=4, seeds=2, scale=0.02, sensitivity=False)
    summary, plan = A.assess(COUNCILS / "barnsley.yaml", s)
    assert plan.match["method"] == "area terms" and plan.area_terms is not None and len(plan.area_terms) == 4
    terms = summary["baseline"]["area_terms"]
    assert terms["hle_male"]["conditioned_on_baseline"] and not terms["le_male"]["conditioned_on_baseline"]
    # Barnsley's 2009-11 HLE (57.5) is below what the model gives its context: the conditioned term is negative,
    # and shrunk: smaller than the whole gap.
    bau = summary["arms"]["business_as_usual"]["hle_male"]
    gap = 57.5 - float(np.mean([r["outcomes"]["hle_male_true"]["2009-11"] for r in A.run_serial(plan.jobs[::2], 0.02)]))
    assert terms["hle_male"]["q05"] < terms["hle_male"]["mean"] < terms["hle_male"]["q95"]
    assert abs(terms["hle_male"]["mean"]) < abs(gap) and np.sign(terms["hle_male"]["mean"]) == np.sign(gap)
    for p, q in bau.items():  # at least the published noise's 90% width (2 x 1.645 x 1.0)
        assert q["q95"] - q["q05"] > 3.2, (p, q)
    for p, q in summary["arms"]["business_as_usual"]["still_at_home_91d_pct"].items():
        assert 0 <= q["q05"] <= q["q95"] <= 100
    # A council's own ASCOF history conditions that outcome's term the same way (its earliest simulated year).
    f = tmp_path / "own.yaml"
    f.write_text(f"extends: {COUNCILS / 'barnsley.yaml'}\ncouncil:\n  ascof:\n"
                 "    care_home_admissions_65plus_per_100k: {2009/10: 1500.0, 2010/11: 1400.0}\n")
    own, plan_own = A.assess(f, s)
    t = own["baseline"]["area_terms"]["care_home_admissions_65plus_per_100k"]
    assert plan_own.baseline_figures["care_home_admissions_65plus_per_100k"] == ("2009/10", 1500.0)
    assert t["conditioned_on_baseline"] and t["period"] == "2009/10" and t["mean"] > 0  # far above the model's
    assert not terms["care_home_admissions_65plus_per_100k"]["conditioned_on_baseline"]
    # The Deal's effect is the model's: the arms share their area terms.
    e = summary["effects"]["hle_male"]["2009-11"]
    assert e["q05"] == e["q95"] == 0.0


def test_a_prospective_assessment_runs_from_the_present_to_the_horizon(tmp_path):
    """--start after the observed years: the council's present state is the baseline (Barnsley: Census 2021,
    revised HLE 2022-24), both arms run to 2040, the Deal from 2027; the report says what is extrapolated."""
    post = fake_posterior(tmp_path / "areas.csv")
    fake_area_terms(post)
    s = A.Settings(posterior=post, draws=2, seeds=1, scale=0.02, sensitivity=False, start=2027, horizon=2040)
    summary, plan = A.assess(COUNCILS / "barnsley.yaml", s)
    sc = plan.deal.scenario
    assert (sc.time.start, sc.time.end) == ("2022-01", "2040-12") and sc.population.total == 244574
    assert sc.deal.pilot_start == "2027-01" and sc.finance.savings_required_gbp_m == 0.0
    assert plan.baseline_period == "2022-24"
    assert plan.baseline_figures == {"hle_male": ("2022-24", 55.2), "hle_female": ("2022-24", 55.3)}
    assert summary["baseline"]["mode"] == "prospective"
    assert summary["baseline"]["area_terms"]["hle_male"]["conditioned_on_baseline"]
    assert list(summary["arms"]["business_as_usual"]["hle_male"])[-1] == "2038-40"
    assert summary["appraisal"]["base_year"] == 2027 and summary["appraisal"]["horizon_year"] == 2040
    assert "council.present.budget_gbp_m" in summary["baseline"]["defaults_used"]  # listed, not invented
    assert "council.baseline_hle.male" not in summary["baseline"]["inputs"]  # the 2009-11 figures play no part
    # Arms identical until the Deal (common random numbers), different after.
    e = summary["effects"]["hle_male"]
    assert e["2022-24"]["q05"] == e["2022-24"]["q95"] == 0.0
    report = A.report_markdown(summary, plan)
    assert "**Prospective.**" in report and "calibrated on 2009-2020" in report and "2022-2040" in report
    # The boroughs' common trend is stated, and said to be carried on in a straight line.
    assert "share beyond England's: +0.90 years a decade" in report and "assumption, not a finding" in report


def test_a_present_le_of_an_earlier_period_is_simulated_and_conditions_its_area_term(tmp_path):
    """The simulation starts with the earliest present figure's period (here LE 2020-22, before HLE 2022-24), so
    the LE figure meets a simulated value of its own period and narrows the LE area term (a test input, not data)."""
    f = tmp_path / "c.yaml"
    f.write_text(f"extends: {COUNCILS / 'barnsley.yaml'}\ncouncil:\n  present:\n"
                 "    le: {male: 77.0, female: 81.0, period: 2020-22}\n")
    post = fake_posterior(tmp_path / "areas.csv")
    fake_area_terms(post)
    s = A.Settings(posterior=post, draws=2, seeds=1, scale=0.02, sensitivity=False, start=2027, horizon=2030)
    summary, plan = A.assess(f, s)
    assert plan.deal.scenario.time.start == "2020-01" and plan.baseline_period == "2022-24"
    assert plan.baseline_figures["le_male"] == ("2020-22", 77.0)
    terms = summary["baseline"]["area_terms"]
    assert terms["le_male"]["conditioned_on_baseline"] and terms["le_male"]["period"] == "2020-22"
    assert terms["hle_male"]["conditioned_on_baseline"] and terms["hle_male"]["period"] == "2022-24"


@pytest.mark.parametrize("start, horizon, key, words", [
    (2027, 2026, "--horizon", "must be after the Deal's start"),
    (2027, 2061, "--horizon", "2060 or before"),
    (2024, None, "council.present.hle", "must end before the Deal starts"),
])
def test_contradictory_prospective_inputs_are_refused(tmp_path, start, horizon, key, words):
    s = A.Settings(posterior=fake_posterior(tmp_path / "p.csv"), draws=1, seeds=1, scale=0.02, sensitivity=False,
                   start=start, horizon=horizon)
    with pytest.raises(ScenarioError) as e:
        A.prepare(COUNCILS / "barnsley.yaml", s)
    assert words in str(e.value) and key in str(e.value)


def test_present_hle_above_le_is_refused(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(f"extends: {COUNCILS / 'barnsley.yaml'}\ncouncil:\n  present:\n"
                 "    hle: {male: 80.0, female: 60.0, period: 2022-24}\n    le: {male: 78.0, female: 82.0, period: 2022-24}\n")
    with pytest.raises(ScenarioError) as e:
        load_council(f)
    assert "must be below life expectancy" in str(e.value) and (e.value.key, e.value.line) == ("council.present", 3)


def _money_runs(care_home: list[list[float]], home_care: list[list[float]], invest: list[float],
                tax: list[float]) -> list[dict[str, dict[str, float]]]:
    """Cumulative money series (from 2012) of runs whose annual flows are written out."""
    cum = lambda xs: {str(2012 + i): float(sum(xs[:i + 1])) for i in range(len(xs))}  # noqa: E731
    return [{"cumulative_care_savings_gbp_m": cum([a + b for a, b in zip(ch, hc)]),
             "care_savings:spend_care_homes_gbp_m": cum(ch), "care_savings:spend_home_care_gbp_m": cum(hc),
             "care_savings:spend_reablement_gbp_m": cum([0.0] * len(ch)),
             "cumulative_investment_gbp_m": cum(invest), "cumulative_tax_forgone_gbp_m": cum(tax)}
            for ch, hc in zip(care_home, home_care)]


def _plan_with(ai):
    from types import SimpleNamespace

    return SimpleNamespace(council=SimpleNamespace(inputs=SimpleNamespace(appraisal=ai)),
                           deal=SimpleNamespace(scenario=SimpleNamespace(deal=SimpleNamespace(
                               pilot_start="2012-01", pilot_share=0.1, launch="2014-04", fund_start="2014-04"))))


def test_the_appraisal_of_runs_matches_a_hand_worked_npv_and_payback():
    """Two runs whose money series are written out: NPV and payback by hand, in 2024 prices with a deflator; each
    care line is restated from its own unit cost's price year (care homes 2019, home care 2018), the Deal's
    spending and the tax from the model's 2010/11."""
    from assess.council import AppraisalInputs

    runs = _money_runs([[0, 1, 1, 2], [0, 0, 1, 0]], [[0, 0, 1, 1], [0, 0, 0, 1]], [2, 1, 0, 0], [0.5, 0, 0, 0])
    ai = AppraisalInputs(price_year=2024, deflator={2010: 80.0, 2018: 90.0, 2019: 92.0, 2024: 100.0},
                         discount_rate=0.035, optimism_bias=0.2)
    ap = A.appraise(_plan_with(ai), runs)
    f_ch, f_hc, f_model, d = 100.0 / 92.0, 100.0 / 90.0, 100.0 / 80.0, [1 / 1.035 ** t for t in range(4)]
    npv = [sum((f_ch * a + f_hc * b - 1.2 * f_model * c) * w for a, b, c, w in zip(ch, hc, [2.5, 1, 0, 0], d))
           for ch, hc in (([0, 1, 1, 2], [0, 0, 1, 1]), ([0, 0, 1, 0], [0, 0, 0, 1]))]
    assert npv[0] > 0 > npv[1]
    assert ap["npv_gbp_m"]["q50"] == pytest.approx(sum(npv) / 2)
    assert ap["p_npv_positive"] == 0.5 and ap["base_year"] == 2012 and ap["horizon_year"] == 2015
    # Run 1's discounted cumulative: -3.75, -4.15, -2.10, +0.87 (2024 prices): pays back in 2015; run 2 never does.
    assert ap["payback_year"] == {"q05": 2015, "q50": 2015, "q95": None, "p_never": 0.5}
    assert ap["prices"].startswith("2024/25 prices (every line restated") and ap["mixed_price_years"] == {}


def test_without_a_deflator_the_unit_costs_stay_in_their_own_years_and_the_appraisal_says_so():
    from assess.council import AppraisalInputs

    runs = _money_runs([[0, 1, 1, 2], [0, 0, 1, 0]], [[0, 0, 1, 1], [0, 0, 0, 1]], [2, 1, 0, 0], [0.5, 0, 0, 0])
    ap = A.appraise(_plan_with(AppraisalInputs()), runs)
    d = [1 / 1.035 ** t for t in range(4)]
    npv = [sum((a + b - c) * w for a, b, c, w in zip(ch, hc, [2.5, 1, 0, 0], d))
           for ch, hc in (([0, 1, 1, 2], [0, 0, 1, 1]), ([0, 0, 1, 0], [0, 0, 0, 1]))]
    assert ap["npv_gbp_m"]["q50"] == pytest.approx(sum(npv) / 2)
    assert ap["mixed_price_years"] == {"home_care": 2018, "care_home": 2019}
    assert "mixed price years, not converted" in ap["prices"] and "care home (2019/20 prices)" in ap["prices"]


def test_a_price_year_without_a_deflator_is_refused(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(f"extends: {COUNCILS / 'stockport.yaml'}\ncouncil:\n  appraisal:\n    price_year: 2024\n")
    with pytest.raises(ScenarioError) as e:
        load_council(f)
    assert "deflator" in str(e.value) and e.value.key == "council.appraisal" and e.value.line == 3


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------
def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "simulate.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)


def test_assess_command_writes_the_folder(tmp_path, posterior):
    out = tmp_path / "a"
    p = cli("assess", COUNCILS / "stockport.yaml", "--posterior", posterior, "--draws", 2, "--seeds", 1,
            "--scale", 0.02, "--out", out, "--investment", 5, "--no-sensitivity")
    assert p.returncode == 0, p.stderr
    names = sorted(x.name for x in out.iterdir())
    assert names == ["assessment.json", "assessment_details.json", "fan_effects.png", "fan_outcomes.png", "provenance.json", "report.md",
                     "scenario_business_as_usual.yaml", "scenario_deal.yaml"]
    a = json.loads((out / "assessment.json").read_text())
    assert list(a) == ["council", "baseline", "arms", "effects", "appraisal"]
    assert {"price_year", "discount_rate", "npv_gbp_m", "p_npv_positive", "payback_year"} <= set(a["appraisal"])
    assert a["council"] == "Stockport" and set(a["arms"]) == {"business_as_usual", "deal"}
    det = json.loads((out / "assessment_details.json").read_text())
    assert det["settings"]["variant"] == {"deal.fund_gbp_m": 5.0}
    assert det["depends_on"]["local_inputs"] == {}  # --no-sensitivity
    report = (out / "report.md").read_text()
    assert "Would the Deal work in Stockport?" in report and "![Both arms](fan_outcomes.png)" in report
    assert report.index("## The decision figures") < report.index("## The plan assessed")  # decision figures lead
    assert "Net present value" in report and "chance of harm" in report
    assert "## Cost and payback" in report and "The investment pays back" in report
    pb = a["effects"]["payback_year"]
    assert len(pb) == 1 and 0.0 <= next(iter(pb.values()))["p_positive"] <= 1.0


@pytest.mark.parametrize("args, words", [
    (["--scale", "2"], "--scale"),
    (["--fidelity", "1.5"], "--fidelity"),
    (["--set", "deal.fidelty=0.5"], "deal.fidelty"),
    (["--posterior", "/nonexistent/post.csv"], "posterior not found"),
])
def test_assess_bad_input_is_one_line_exit_2(tmp_path, args, words):
    p = cli("assess", COUNCILS / "bolton.yaml", "--out", tmp_path / "x", "--quiet", *args)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert not (tmp_path / "x").exists()


def test_assess_check_lists_defaults(tmp_path):
    bad = council_file(tmp_path, "population:\n  age_sex_table: null\n  total: 0\n  share_65_plus: 0.2\n")
    p = cli("assess", bad, "--check")
    assert p.returncode == 2 and "c.yaml:5: population.total: must be at least 1" in p.stderr
    p = cli("assess", COUNCILS / "barnsley.yaml", "--check")
    assert p.returncode == 0 and "default" in p.stdout and "valid council file (Barnsley)" in p.stdout
