"""Tests for model.observation: life table, Sullivan HLE, period labels, pooling, survey, rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.observation import (
    LIFE_TABLE_AGES,
    age_band_index,
    financial_year_label,
    financial_year_start,
    life_table,
    per_100k,
    pool_years,
    rolling_mean,
    sullivan,
    survey_counts,
    survey_sample,
    three_year_label,
)

# ---------------------------------------------------------------------------------------------
# A small hand-worked example: bands <1, 1-4, 5-9 and open 10+.
# ---------------------------------------------------------------------------------------------
STARTS = (0, 1, 5, 10)
DEATHS = np.array([5.0, 2.0, 10.0, 50.0])
PY = np.array([1000.0, 4000.0, 5000.0, 2500.0])
GOOD = np.array([45, 88, 70, 300])
RESP = np.array([50, 100, 80, 400])


def _hand_table():
    """The life table of the example worked step by step (no call to the code under test)."""
    # M = deaths / person-years
    m0, m1, m5, m10 = 5 / 1000, 2 / 4000, 10 / 5000, 50 / 2500  # 0.005, 0.0005, 0.002, 0.02
    # q = n M / (1 + (n - a) M); a_0 = 0.1 (n=1), a_1 = 2 (n=4), a_5 = 2.5 (n=5); open band q = 1
    q0 = 1 * m0 / (1 + (1 - 0.1) * m0)  # 0.005 / 1.0045
    q1 = 4 * m1 / (1 + (4 - 2) * m1)  # 0.002 / 1.001
    q5 = 5 * m5 / (1 + (5 - 2.5) * m5)  # 0.01 / 1.005
    q10 = 1.0
    # l, d, L
    l0 = 100000.0
    d0 = l0 * q0
    l1 = l0 - d0
    L0 = 1 * l1 + 0.1 * d0
    d1 = l1 * q1
    l5 = l1 - d1
    L1 = 4 * l5 + 2 * d1
    d5 = l5 * q5
    l10 = l5 - d5
    L5 = 5 * l10 + 2.5 * d5
    L10 = l10 / m10  # open band: L = l / M
    # T (sum of L from the band up) and e = T / l
    T10 = L10
    T5 = L5 + T10
    T1 = L1 + T5
    T0 = L0 + T1
    return {
        "qx": [q0, q1, q5, q10],
        "lx": [l0, l1, l5, l10],
        "Lx": [L0, L1, L5, L10],
        "Tx": [T0, T1, T5, T10],
        "ex": [T0 / l0, T1 / l1, T5 / l5, T10 / l10],
    }


def test_life_table_matches_hand_worked_example():
    hand = _hand_table()
    got = life_table(DEATHS, PY, starts=STARTS)
    for key in ("qx", "lx", "Lx", "Tx", "ex"):
        np.testing.assert_allclose(got[key], hand[key], rtol=1e-9, atol=1e-9, err_msg=key)
    assert got["le"] == pytest.approx(hand["ex"][0], rel=1e-9)
    # Independent anchor against a mirrored mistake: value written out to 6 decimals.
    assert got["le"] == pytest.approx(59.069773, abs=5e-7)


def test_sullivan_matches_hand_worked_example():
    hand = _hand_table()
    L0, L1, L5, L10 = hand["Lx"]
    # prevalences 45/50, 88/100, 70/80, 300/400
    hle = (0.9 * L0 + 0.88 * L1 + 0.875 * L5 + 0.75 * L10) / 100000
    var = (
        L0**2 * 0.9 * 0.1 / 50
        + L1**2 * 0.88 * 0.12 / 100
        + L5**2 * 0.875 * 0.125 / 80
        + L10**2 * 0.75 * 0.25 / 400
    ) / 100000**2
    got = sullivan(DEATHS, PY, GOOD, RESP, starts=STARTS)
    assert got["le"] == pytest.approx(hand["ex"][0], rel=1e-9)
    assert got["hle"] == pytest.approx(hle, rel=1e-9)
    assert got["hle_se"] == pytest.approx(math.sqrt(var), rel=1e-9)


def test_sullivan_borrows_nearest_band_and_pools_its_variance():
    hand = _hand_table()
    L0, L1, L5, L10 = hand["Lx"]
    resp = RESP.copy()
    good = GOOD.copy()
    resp[2] = good[2] = 0  # band 5-9 unsurveyed: bands 1-4 and 10+ are equally near; younger wins
    got = sullivan(DEATHS, PY, good, resp, starts=STARTS)
    hle = (0.9 * L0 + 0.88 * (L1 + L5) + 0.75 * L10) / 100000
    # The borrowed prevalence is band 1-4's estimate, so its weight is L1 + L5.
    var = (L0**2 * 0.09 / 50 + (L1 + L5) ** 2 * 0.88 * 0.12 / 100 + L10**2 * 0.1875 / 400) / 1e10
    assert got["hle"] == pytest.approx(hle, rel=1e-9)
    assert got["hle_se"] == pytest.approx(math.sqrt(var), rel=1e-9)
    assert list(got["donor"]) == [0, 1, 1, 3]

    resp0 = RESP.copy()
    good0 = GOOD.copy()
    resp0[0] = good0[0] = 0  # infants unsurveyed: borrow from 1-4 (the only nearest band)
    got0 = sullivan(DEATHS, PY, good0, resp0, starts=STARTS)
    assert got0["hle"] == pytest.approx((0.88 * (L0 + L1) + 0.875 * L5 + 0.75 * L10) / 1e5, rel=1e-9)


def test_constant_hazard_gives_e0_equal_to_one_over_m():
    # With M_x = m everywhere, the Chiang formulas give L_x = d_x / M_x exactly in every band
    # (and L = l/M in the open band), so T_x = l_x / m and e_x = 1/m at every age whatever the a_x.
    # The tolerance is therefore floating-point only (rtol 1e-9).
    m = 1 / 80
    widths = np.append(np.diff(LIFE_TABLE_AGES), 10.0)
    py = 1000.0 * widths
    t = life_table(m * py, py)
    assert t["le"] == pytest.approx(1 / m, rel=1e-9)
    np.testing.assert_allclose(t["ex"], 1 / m, rtol=1e-9)
    # Survivorship follows exp(-m x) only approximately: 1 - q = (1 - nm/2)/(1 + nm/2) is a Pade
    # approximation of exp(-nm) (error ~ (nm)^3/12 = 2e-5 per 5-year band; the infant band with
    # a_0 = 0.1 is off by ~6e-5), accumulating to < 1e-3 relative by age 90.
    np.testing.assert_allclose(t["lx"], 1e5 * np.exp(-m * np.array(LIFE_TABLE_AGES)), rtol=1e-3)


def _default_inputs():
    widths = np.append(np.diff(LIFE_TABLE_AGES), 10.0)
    py = 2000.0 * widths
    # Gompertz-like mortality, with a higher infant rate
    m = 0.00005 * np.exp(0.09 * np.array(LIFE_TABLE_AGES, dtype=float))
    m[0] = 0.004
    return m * py, py


def test_hle_equals_le_when_all_healthy_and_zero_when_none():
    deaths, py = _default_inputs()
    resp = np.full(len(LIFE_TABLE_AGES), 150)
    all_good = sullivan(deaths, py, resp, resp)
    none_good = sullivan(deaths, py, np.zeros_like(resp), resp)
    assert all_good["hle"] == pytest.approx(all_good["le"], rel=1e-12)
    assert 60 < all_good["le"] < 100
    assert none_good["hle"] == 0.0
    assert all_good["hle_se"] == 0.0 and none_good["hle_se"] == 0.0


def test_hle_monotone_in_prevalence():
    deaths, py = _default_inputs()
    k = len(LIFE_TABLE_AGES)
    resp = np.full(k, 200)
    hles = [sullivan(deaths, py, np.full(k, g), resp)["hle"] for g in range(0, 201, 20)]
    assert np.all(np.diff(hles) > 0)
    # raising one band's prevalence alone also raises HLE
    good = np.full(k, 100)
    base = sullivan(deaths, py, good, resp)["hle"]
    for band in (0, 10, k - 1):
        bumped = good.copy()
        bumped[band] += 10
        assert sullivan(deaths, py, bumped, resp)["hle"] > base


def test_hle_se_matches_simulated_survey_spread():
    deaths, py = _default_inputs()
    k = len(LIFE_TABLE_AGES)
    resp = np.full(k, 60)
    p = np.linspace(0.9, 0.4, k)
    se = sullivan(deaths, py, np.round(p * resp), resp)["hle_se"]
    rng = np.random.default_rng(1)
    draws = [sullivan(deaths, py, rng.binomial(resp, p), resp)["hle"] for _ in range(1500)]
    # sd of 1500 draws has ~2% relative sampling error; 10% tolerance
    assert np.std(draws, ddof=1) == pytest.approx(se, rel=0.10)


def test_life_table_guards():
    with pytest.raises(ValueError, match="no person-years"):
        life_table([1, 1, 1, 0], [10, 10, 10, 0], starts=STARTS)
    with pytest.raises(ValueError, match="no deaths"):
        life_table([1, 1, 1, 0], [10, 10, 10, 10], starts=STARTS)
    with pytest.raises(ValueError, match="zero person-years"):
        life_table([1, 1, 1, 1], [10, 0, 10, 10], starts=STARTS)
    # a band with no exposure (and no deaths) is treated as M = 0: nobody dies there
    t = life_table([5, 0, 10, 50], [1000, 0, 5000, 2500], starts=STARTS)
    assert t["qx"][1] == 0.0
    assert t["lx"][2] == t["lx"][1]
    assert t["Lx"][1] == pytest.approx(4 * t["lx"][1], rel=1e-12)
    # q is capped at 1 so l never goes negative
    t = life_table([5, 30, 10, 50], [1000, 10, 5000, 2500], starts=STARTS)
    assert t["qx"][1] == 1.0 and np.all(t["lx"] >= 0) and math.isfinite(t["le"])


def test_age_band_index_boundaries():
    ages = np.array([0.0, 0.999, 1.0, 4.99, 5.0, 9.5, 10.0, 84.9, 85.0, 89.999, 90.0, 104.0])
    expected = [0, 0, 1, 1, 2, 2, 3, 17, 18, 18, 19, 19]
    assert age_band_index(ages).tolist() == expected
    assert len(LIFE_TABLE_AGES) == 20 and LIFE_TABLE_AGES[-1] == 90
    with pytest.raises(ValueError):
        age_band_index(np.array([-0.5]))


# ---------------------------------------------------------------------------------------------
# Labels, pooling, survey, rates
# ---------------------------------------------------------------------------------------------


def test_period_labels():
    assert three_year_label(2009) == "2009-11"
    assert three_year_label(2018) == "2018-20"
    assert three_year_label(2099) == "2099-01"
    assert three_year_label(2098) == "2098-00"
    assert financial_year_label(2014, 4) == "2014/15"
    assert financial_year_label(2015, 3) == "2014/15"
    assert financial_year_label(2015, 1) == "2014/15"
    assert financial_year_label(2014, 12) == "2014/15"
    assert financial_year_label(2014, 3) == "2013/14"
    assert financial_year_label(2099, 6) == "2099/00"
    assert financial_year_start(2015, 3) == 2014
    assert financial_year_start(2015, 4) == 2015
    with pytest.raises(ValueError):
        financial_year_label(2015, 13)


def test_pool_years_sums_and_reports_missing_year():
    by_year = {2009: np.array([1, 2]), 2010: np.array([10, 20]), 2011: np.array([100, 200]), 2012: np.array([5, 5])}
    assert pool_years(by_year, 2009).tolist() == [111, 222]
    assert pool_years(by_year, 2010).tolist() == [115, 225]
    assert pool_years(by_year, 2011, n_years=2).tolist() == [105, 205]
    with pytest.raises(KeyError, match="2013"):
        pool_years(by_year, 2011)


def test_survey_sample_with_and_without_replacement():
    rng = np.random.default_rng(0)
    eligible = np.arange(100, 110)
    s = survey_sample(rng, eligible, 50, replace=True)
    assert s.size == 50 and np.isin(s, eligible).all() and np.unique(s).size < 50
    s = survey_sample(rng, eligible, 6, replace=False)
    assert s.size == 6 and np.unique(s).size == 6 and np.isin(s, eligible).all()
    s = survey_sample(rng, eligible, 50)  # fewer eligible than n: take everybody once
    assert sorted(s.tolist()) == eligible.tolist()
    assert survey_sample(rng, eligible[:0], 5, replace=True).size == 0
    # same seed, same sample
    a = survey_sample(np.random.default_rng(7), np.arange(1000), 20)
    b = survey_sample(np.random.default_rng(7), np.arange(1000), 20)
    assert a.tolist() == b.tolist()


def test_survey_counts():
    band = np.array([0, 2, 2, 1, 2, 0])
    good = np.array([True, False, True, True, True, False])
    g, n = survey_counts(band, good, n_bands=4)
    assert g.tolist() == [1, 1, 2, 0]
    assert n.tolist() == [2, 1, 3, 0]
    with pytest.raises(ValueError):
        survey_counts(np.array([4]), np.array([True]), n_bands=4)


def test_per_100k_and_rolling_mean():
    assert per_100k(378, 50_000) == pytest.approx(756.0)
    assert math.isnan(per_100k(3, 0))
    series = {"2014/15": 378.0, "2015/16": 685.0, "2016/17": 377.0, "2017/18": 400.0}
    rm = rolling_mean(series, 3)
    assert list(rm) == ["2016/17", "2017/18"]
    assert rm["2016/17"] == pytest.approx((378 + 685 + 377) / 3)
    assert rm["2017/18"] == pytest.approx((685 + 377 + 400) / 3)
    assert rolling_mean(series, 1) == series
    assert rolling_mean(series, 5) == {}
    assert math.isnan(rolling_mean({"a": 1.0, "b": float("nan"), "c": 2.0}, 2)["c"])


def test_sparse_top_band_falls_back_to_85_plus():
    """At a tiny --scale the open 90+ band can have no deaths: HLE is then measured on bands closed at 85+."""
    from model.measures import sullivan_robust
    nb = len(LIFE_TABLE_AGES)
    deaths = np.full(nb, 5.0)
    deaths[-1] = 0.0
    exposure = np.full(nb, 1000.0)
    good, resp = np.full(nb, 40.0), np.full(nb, 50.0)
    res, why = sullivan_robust(deaths, exposure, good, resp)
    assert res is not None and why == "" and 0 < res["hle"] < res["le"]
    merged = sullivan(np.r_[deaths[:-2], 5.0], np.r_[exposure[:-2], 2000.0], np.r_[good[:-2], 80.0],
                      np.r_[resp[:-2], 100.0], starts=LIFE_TABLE_AGES[:-1])
    assert res["hle"] == merged["hle"]
    none, why = sullivan_robust(np.zeros(nb), exposure, good, resp)
    assert none is None and "no deaths" in why


def test_ons_adjustment_imputes_children_and_the_oldest_from_census_ratios():
    """Bands under 15 take 15-19's survey prevalence times the census ratio to 15-19; 85-89 and 90+ take 80-84's;
    surveyed bands keep their own (ONS's census adjustment factors)."""
    from model.observation import ons_adjustment

    nb = len(LIFE_TABLE_AGES)
    resp = np.zeros(nb)
    resp[4:18] = 50.0
    resp[18:] = 7.0  # respondents in the 85+ bands are too sparse and ignored, as ONS does
    cpop = np.full(nb, 1000.0)
    cgood = np.linspace(950.0, 300.0, nb)
    donor, factor = ons_adjustment(resp, cgood, cpop)
    assert list(donor[:4]) == [4] * 4 and list(donor[18:]) == [17, 17]
    assert list(donor[4:18]) == list(range(4, 18)) and np.all(factor[4:18] == 1.0)
    assert np.allclose(factor[:4], cgood[:4] / cgood[4]) and np.allclose(factor[18:], cgood[18:] / cgood[17])
    deaths, py = np.full(nb, 5.0), np.full(nb, 1000.0)
    good = np.round(resp * 0.7)
    got = sullivan(deaths, py, good, resp, donor=donor, factor=factor)
    p = np.minimum(factor * (good / np.maximum(resp, 1))[donor], 1.0)
    assert got["hle"] == pytest.approx(float(np.sum(got["table"]["Lx"] * p) / 100_000.0))
