"""Common random numbers that hold per resident: draws keyed to residents, not positions (model/rng.py).

Each test could fail under positional draws: a difference in one count between the arms would shift every later
draw onto another resident.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest

from runs import outputs
from model.calendar import month_of
from model.model import DealModel
from model.parameters import month_index
from model.residents import CARE_HOME, HOME, HOME_CARE, HOSPITAL
from model.scenario import apply_overrides, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCALE = 0.01


def loaded(name: str):
    return load_scenario(ROOT / "scenarios" / name)


def scenario(name: str, **over):
    lo = loaded(name)
    return apply_overrides(lo, over, source="test").scenario if over else lo.scenario


def csv_bytes(model: DealModel, tmp_path: Path, name: str) -> bytes:
    path = tmp_path / f"{name}.csv"
    outputs.write_csv(path, model.timeseries())
    return path.read_bytes()


NULL_DEAL = {"deal.enabled": True, "deal.fidelity": 0.0, "deal.tax_freeze": False}


def test_null_deal_gives_a_byte_identical_timeseries_to_no_deal(tmp_path):
    """The Deal switched on with every lever at zero is business as usual, to the byte, through 2025."""
    null = DealModel(scenario("wigan.yaml", **NULL_DEAL), seed=4, scale=SCALE).run()
    bau = DealModel(scenario("wigan_no_deal.yaml"), seed=4, scale=SCALE).run()
    assert null.timeseries()["month"][-1] == "2025-12"
    assert csv_bytes(null, tmp_path, "null") == csv_bytes(bau, tmp_path, "bau")
    assert null.outcomes() == bau.outcomes()


def test_one_and_two_threads_give_identical_results(tmp_path):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("this machine offers Numba one thread only")
    sc = scenario("wigan.yaml")
    one = DealModel(sc, seed=2, scale=SCALE, threads=1).run()
    two = DealModel(sc, seed=2, scale=SCALE, threads=2).run()
    assert csv_bytes(one, tmp_path, "one") == csv_bytes(two, tmp_path, "two")
    assert one.outcomes() == two.outcomes()
    r1, r2 = one.residents, two.residents
    for col in ("u", "prot", "age", "alive", "setting", "group"):
        assert np.array_equal(getattr(r1, col)[: r1.n], getattr(r2, col)[: r2.n]), col


def _run_until(model: DealModel, month: str) -> None:
    while model.m <= month_index(month):
        model.step()


def test_models_stepped_from_several_threads_at_once_match_one_stepped_alone(tmp_path):
    """The web app steps models from its own threads; Numba's work queue aborts the process if two threads enter
    it at once, so launches take turns (passes.LAUNCH) and each model's result is what it is alone."""
    import threading

    sc = scenario("wigan.yaml")
    alone = DealModel(sc, seed=3, scale=SCALE).run()
    models = [DealModel(sc, seed=3, scale=SCALE) for _ in range(3)]
    threads = [threading.Thread(target=m.run) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = csv_bytes(alone, tmp_path, "alone")
    assert all(csv_bytes(m, tmp_path, f"t{i}") == want for i, m in enumerate(models))


def test_a_newcomers_attributes_do_not_change_when_another_residents_fate_does():
    """Kill one resident in 2012 in one copy of a run: every newcomer after that who arrives in both copies (same
    key) has the same sex, age at arrival, deprivation, ward, area and connectedness offset."""
    sc = scenario("wigan_no_deal.yaml")
    a = DealModel(sc, seed=5, scale=SCALE)
    b = DealModel(sc, seed=5, scale=SCALE)
    _run_until(a, "2011-12")
    _run_until(b, "2011-12")
    n_before = a.residents.n
    victim = int(np.flatnonzero(b.residents.alive[: b.residents.n] & (b.residents.age[: b.residents.n] < 50))[0])
    b.residents.alive[victim] = False  # another resident's fate changes
    _run_until(a, "2016-12")
    _run_until(b, "2016-12")
    ra, rb = a.residents, b.residents
    ka = {int(k): i for i, k in enumerate(ra.key[n_before: ra.n], start=n_before)}
    kb = {int(k): i for i, k in enumerate(rb.key[n_before: rb.n], start=n_before)}
    common = sorted(set(ka) & set(kb))
    assert len(common) >= 0.95 * max(len(ka), len(kb)) > 100
    ia, ib = np.array([ka[k] for k in common]), np.array([kb[k] for k in common])
    for col in ("sex", "dep", "ward", "area", "eta"):
        assert np.array_equal(getattr(ra, col)[ia], getattr(rb, col)[ib]), col
    # Age at arrival: both copies have aged them by the same number of months.
    assert np.array_equal(ra.age[ia], rb.age[ib])


def test_residents_a_single_lever_never_reaches_keep_their_health_and_death_draws():
    """The care-home innovation fund alone: residents who are never in a care home or hospital and whose social
    life is the same in both arms have identical frailty shocks, protection and survival, month by month."""
    lever_alone = {"deal.enabled": True, "deal.practice_fidelity": 0.0, "deal.community_fidelity": 0.0,
                   "deal.citizen_fidelity": 0.0, "deal.tax_freeze": False, "deal.fund_gbp_m": 0.0,
                   "deal.home_first": 0.0, "deal.reablement_offer": 0.028, "care_market.relationship_effect": 0.0,
                   "deal.care_home_fund_gbp_m": 20.0}
    with_lever = DealModel(scenario("wigan.yaml", **lever_alone), seed=1, scale=SCALE)
    without = DealModel(scenario("wigan_no_deal.yaml", **{"care_market.relationship_effect": 0.0}), seed=1,
                        scale=SCALE)
    r = with_lever.residents
    old = np.flatnonzero(r.alive[: r.n] & (r.age[: r.n] >= 50))[:1500]
    with_lever.track(old)
    without.track(old)
    with_lever.run()
    without.run()
    assert with_lever.outcomes()["care_quality_good_or_outstanding"] != without.outcomes()["care_quality_good_or_outstanding"]
    checked = deaths = 0
    for i in old:
        ha, hb = with_lever.resident_history(int(i)), without.resident_history(int(i))
        reached = any(row["setting"] in (CARE_HOME, HOSPITAL) for h in (ha, hb) for row in h if row["alive"])
        same_social = all((x["group"], x["volunteer"], x["connect"], x["trust"]) == (y["group"], y["volunteer"],
                          y["connect"], y["trust"]) for x, y in zip(ha, hb))
        if reached or not same_social:
            continue
        checked += 1
        for x, y in zip(ha, hb):
            assert (x["u"], x["prot"], x["alive"], x["setting"]) == (y["u"], y["prot"], y["alive"], y["setting"])
        deaths += not ha[-1]["alive"]
    assert checked >= 150 and deaths >= 5


def test_survey_frame_is_private_households_aged_16_and_over():
    """ONS's frame (Annual Population Survey): no care-home residents, no inpatients, no children."""
    m = DealModel(scenario("wigan.yaml"), seed=0, scale=0.02)
    seen = 0
    while not m.done:
        m.step()
        if month_of(m.m - 1) == 7:
            r, pick = m.residents, m.last_survey
            assert pick.size == m.sc.observation.survey_per_year
            assert r.alive[pick].all() and (r.age[pick] >= 16).all()
            assert np.isin(r.setting[pick], (HOME, HOME_CARE)).all()
            assert ((r.setting[: r.n] == CARE_HOME) & r.alive[: r.n]).any()  # there were people to exclude
            seen += 1
    assert seen == 17


def test_both_arms_interview_the_same_people_until_the_deal_reaches_them():
    """In 2011, before any lever, the two arms' respondents are the same residents; in 2017 most still are."""
    deal = DealModel(scenario("wigan.yaml"), seed=3, scale=0.02)
    bau = DealModel(scenario("wigan_no_deal.yaml"), seed=3, scale=0.02)
    same = {}
    for year in (2011, 2017):
        _run_until(deal, f"{year}-07")
        _run_until(bau, f"{year}-07")
        a, b = deal.last_survey, bau.last_survey
        same[year] = np.isin(deal.residents.key[a], bau.residents.key[b]).mean()
    assert same[2011] == 1.0 and same[2017] > 0.8


def test_a_councils_own_programme_starts_at_its_share_and_goes_on_in_both_arms(tmp_path):
    """staff.existing_programme: at the start each practitioner is in it exactly when their keyed draw is below
    the share; business as usual keeps it going (the practice lever never falls below it) and the null Deal with
    the same programme is still business as usual to the byte."""
    from model.rng import uniforms
    from model.staff import staff_of

    prog = {"staff.existing_programme": 0.4}
    bau = DealModel(scenario("wigan_no_deal.yaml", **prog), seed=3, scale=0.05)
    staff = staff_of(bau)
    u = uniforms(bau.keys.month("staff", "programme", 0), np.array([a.key for a in staff], np.int64))
    assert [a.strengths_based for a in staff] == list(u < 0.4) and 0 < sum(u < 0.4) < len(staff)
    bau.run()
    none = DealModel(scenario("wigan_no_deal.yaml"), seed=3, scale=0.05).run()
    ts, ts0 = bau.timeseries(), none.timeseries()
    i = list(ts["month"]).index("2020-01")
    # Training goes on at the programme's intensity; the practice itself erodes under caseload pressure above 1
    # (reversion_pressure), as the model's staff do without the Deal's full support.
    assert ts["staff_trained_share"][i] > 0.3 and ts0["staff_trained_share"][i] == 0.0
    assert np.mean(ts["staff_strengths_based_share"]) > 0.02 and not np.any(ts0["staff_strengths_based_share"])
    null = DealModel(scenario("wigan.yaml", **NULL_DEAL, **prog), seed=3, scale=0.05).run()
    assert csv_bytes(null, tmp_path, "null") == csv_bytes(bau, tmp_path, "bau")
