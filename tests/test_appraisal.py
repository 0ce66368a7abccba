"""The Green Book appraisal arithmetic (assess/appraisal.py), checked against figures worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from assess.appraisal import (Appraisal, cumulative_discounted, discount_factors, npv, npv_draws, payback_draws,
                              payback_year, summary, to_price_year)

# Costs of 10 in year 0, benefits of 4 in each of years 1-3.
COSTS = {0: 10.0}
BENEFITS = {1: 4.0, 2: 4.0, 3: 4.0}


# ------------------------------------------------------------------ NPV
def test_npv_worked_by_hand_at_the_green_book_rate():
    # 1/1.035 = 0.966183574879227, 1/1.035^2 = 0.933510700366403, 1/1.035^3 = 0.901942705668022
    # -10 + 4 * (0.966183574879227 + 0.933510700366403 + 0.901942705668022) = -10 + 11.206547923654608
    #   = 1.206547923654608
    assert npv(BENEFITS, COSTS, Appraisal(price_year=2024)) == pytest.approx(1.206547923654608, abs=1e-9)


def test_optimism_bias_uplifts_costs_only():
    # costs 10 * 1.2 = 12: -12 + 11.206547923654608 = -0.793452076345392
    a = Appraisal(price_year=2024, optimism_bias=0.2)
    assert npv(BENEFITS, COSTS, a) == pytest.approx(-0.793452076345392, abs=1e-9)


def test_zero_discount_rate_gives_the_plain_sum():
    # -10 + 4 + 4 + 4 = 2
    assert npv(BENEFITS, COSTS, Appraisal(price_year=2024, discount_rate=0.0)) == pytest.approx(2.0, abs=1e-12)


def test_npv_discounts_to_the_stated_base_year_and_counts_missing_years_as_zero():
    # base year 2020, flows in 2021 (cost 1) and 2023 (benefit 5): -1/1.035 + 5/1.035^3
    #   = -0.966183574879227 + 4.50971352834011 = 3.543529953460883
    a = Appraisal(price_year=2024, base_year=2020)
    assert npv({2023: 5.0}, {2021: 1.0}, a) == pytest.approx(3.543529953460883, abs=1e-9)


def test_discount_factors_by_hand_and_default_base_year_is_the_first_year():
    a = Appraisal(price_year=2024)
    np.testing.assert_allclose(discount_factors([2024, 2025, 2026], a),
                               [1.0, 0.966183574879227, 0.933510700366403], rtol=0, atol=1e-12)
    # the sequence's first year is not necessarily its earliest; the base year is the earliest
    np.testing.assert_allclose(discount_factors([2026, 2024], a), [0.933510700366403, 1.0], atol=1e-12)


def test_flows_before_the_base_year_or_beyond_30_years_are_refused():
    with pytest.raises(ValueError, match="before the base year"):
        discount_factors([2019, 2020], Appraisal(price_year=2024, base_year=2020))
    with pytest.raises(ValueError, match="30 years"):
        discount_factors([2000, 2031], Appraisal(price_year=2024))
    assert discount_factors([2000, 2030], Appraisal(price_year=2024))[-1] == pytest.approx(1 / 1.035 ** 30)


# ------------------------------------------------------------------ payback
def test_cumulative_discounted_and_payback_by_hand():
    # cumulative: -10, -10 + 3.864734299516908 = -6.135265700483092, -2.401222899017479, 1.206547923654608
    years, cum = cumulative_discounted(BENEFITS, COSTS, Appraisal(price_year=2024))
    assert years == [0, 1, 2, 3]
    np.testing.assert_allclose(cum, [-10.0, -6.135265700483092, -2.401222899017479, 1.206547923654608],
                               atol=1e-9)
    assert payback_year(BENEFITS, COSTS, Appraisal(price_year=2024)) == 3


def test_payback_when_the_cumulative_reaches_exactly_zero():
    # r = 0: cumulative -10, -5, 0 -> non-negative from year 2
    assert payback_year({1: 5.0, 2: 5.0}, {0: 10.0}, Appraisal(price_year=2024, discount_rate=0.0)) == 2


def test_a_dip_back_below_zero_moves_payback_later():
    # r = 0: net -10, +6, +6, -5, +10 -> cumulative -10, -4, 2, -3, 7: first crossing is year 2, but the
    # cumulative is negative again in year 3, so payback is year 4
    a = Appraisal(price_year=2024, discount_rate=0.0)
    assert payback_year({1: 6.0, 2: 6.0, 4: 10.0}, {0: 10.0, 3: 5.0}, a) == 4
    # without the dip it pays back at the first crossing
    assert payback_year({1: 6.0, 2: 6.0, 4: 10.0}, {0: 10.0}, a) == 2


def test_never_paying_back_is_none_and_never_negative_is_the_first_year():
    a = Appraisal(price_year=2024)
    assert payback_year({1: 1.0, 2: 1.0}, {0: 10.0}, a) is None
    # positive then negative at the end: never
    assert payback_year({0: 5.0}, {1: 10.0}, a) is None
    assert payback_year({0: 1.0, 1: 1.0}, {}, a) == 0
    assert payback_year({}, {}, a) is None


# ------------------------------------------------------------------ price year
def test_deflator_conversion_by_hand():
    # a 2019/20 price of 567 in 2010 prices: 567 * 100 / 118 = 480.5084745762712
    a = Appraisal(price_year=2010, deflator={2010: 100.0, 2019: 118.0})
    assert to_price_year({2019: 567.0}, 2019, a)[2019] == pytest.approx(480.5084745762712, abs=1e-9)


def test_nominal_figures_each_in_their_own_year_prices():
    # price year 2022 (index 110): 2020: 100 * 110/100 = 110; 2021: 100 * 110/105 = 104.76190476190476;
    # 2022's figure is already in 2022 prices and passes unchanged
    a = Appraisal(price_year=2022, deflator={2020: 100.0, 2021: 105.0, 2022: 110.0})
    out = to_price_year({2020: 100.0, 2021: 100.0, 2022: 100.0}, {y: y for y in (2020, 2021, 2022)}, a)
    assert out == pytest.approx({2020: 110.0, 2021: 104.76190476190476, 2022: 100.0}, abs=1e-9)


def test_figures_already_in_the_price_year_pass_without_a_deflator():
    a = Appraisal(price_year=2024)
    assert to_price_year({2025: 3.0, 2026: 4.0}, 2024, a) == {2025: 3.0, 2026: 4.0}


def test_conversion_without_a_deflator_or_a_deflator_year_names_the_year():
    with pytest.raises(ValueError, match="2019"):
        to_price_year({2019: 567.0}, 2019, Appraisal(price_year=2010))
    a = Appraisal(price_year=2010, deflator={2010: 100.0, 2019: 118.0})
    with pytest.raises(ValueError, match="2015"):
        to_price_year({2015: 1.0}, {2015: 2015}, a)
    with pytest.raises(ValueError, match="2016"):
        to_price_year({2016: 1.0}, {2015: 2015}, a)  # no price year for 2016


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("kw", [
    {"discount_rate": -0.01}, {"discount_rate": 0.21}, {"discount_rate": float("nan")},
    {"optimism_bias": -0.1}, {"optimism_bias": 2.5},
    {"deflator": {2010: 100.0, 2019: 0.0}}, {"deflator": {2010: 100.0, 2019: -1.0}},
    {"deflator": {2019: 118.0}},  # no value for the price year 2010
    {"base_year": 2010.5},
])
def test_bad_settings_raise_value_error(kw):
    with pytest.raises(ValueError):
        Appraisal(price_year=2010, **kw)


def test_settings_at_the_bounds_are_accepted_and_hashable():
    a = Appraisal(price_year=2010, discount_rate=0.2, optimism_bias=2.0, deflator={2010: 1.0})
    b = Appraisal(price_year=2010, discount_rate=0.0, optimism_bias=0.0)
    assert len({a, b}) == 2


# ------------------------------------------------------------------ draws
def _draws(seed=1, n=200):
    rng = np.random.default_rng(seed)
    years = [2024, 2025, 2026, 2027, 2028]
    costs = np.zeros((n, len(years)))
    costs[:, 0] = rng.uniform(5, 15, n)
    costs[:, 3] = rng.uniform(0, 6, n)  # a late cost that can make the cumulative dip again
    benefits = rng.uniform(0, 5, (n, len(years)))
    benefits[:, 0] = 0.0
    return benefits, costs, years


def test_draws_equal_the_scalar_functions_row_by_row():
    benefits, costs, years = _draws()
    a = Appraisal(price_year=2024, optimism_bias=0.3)
    v = npv_draws(benefits, costs, years, a)
    p = payback_draws(benefits, costs, years, a)
    assert v.shape == (benefits.shape[0],) and len(p) == benefits.shape[0]
    for i in range(benefits.shape[0]):
        b = dict(zip(years, benefits[i]))
        c = dict(zip(years, costs[i]))
        assert v[i] == pytest.approx(npv(b, c, a), abs=1e-9)
        assert p[i] == payback_year(b, c, a)
    assert None in p and len({x for x in p if x is not None}) > 1  # the draws exercise several cases


def test_draws_refuse_mismatched_shapes_and_unordered_years():
    benefits, costs, years = _draws(n=3)
    a = Appraisal(price_year=2024)
    with pytest.raises(ValueError):
        npv_draws(benefits, costs[:, :4], years, a)
    with pytest.raises(ValueError):
        npv_draws(benefits, costs, years[:4], a)
    with pytest.raises(ValueError):
        payback_draws(benefits, costs, years[::-1], a)


def test_summary_keys_and_p_never():
    a = Appraisal(price_year=2024, optimism_bias=0.1)
    s = summary(np.array([-1.0, 2.0, 3.0, 4.0]), [None, 2026, 2027, 2026], a)
    assert set(s) == {"price_year", "discount_rate", "optimism_bias", "npv_gbp_m", "p_npv_positive", "payback_year"}
    assert (s["price_year"], s["discount_rate"], s["optimism_bias"]) == (2024, 0.035, 0.1)
    assert set(s["npv_gbp_m"]) == {"q05", "q50", "q95"}
    assert set(s["payback_year"]) == {"q05", "q50", "q95", "p_never"}
    assert s["p_npv_positive"] == 0.75
    assert s["payback_year"]["p_never"] == 0.25
    # linear NPV quantile: median of -1, 2, 3, 4 is 2.5
    assert s["npv_gbp_m"]["q50"] == pytest.approx(2.5)
    # payback sorted: 2026, 2026, 2027, never -> q05 2026, q50 2026 (2 of 4 at or below), q95 never
    assert s["payback_year"]["q05"] == 2026 and isinstance(s["payback_year"]["q05"], int)
    assert s["payback_year"]["q50"] == 2026
    assert s["payback_year"]["q95"] is None


def test_summary_median_never_when_most_draws_never_pay_back():
    s = summary(np.array([-1.0, -2.0, 1.0]), [None, None, 2025], Appraisal(price_year=2024))
    assert s["payback_year"]["q05"] == 2025
    assert s["payback_year"]["q50"] is None and s["payback_year"]["q95"] is None
    assert s["payback_year"]["p_never"] == pytest.approx(2 / 3)
    assert s["p_npv_positive"] == pytest.approx(1 / 3)


def test_summary_refuses_mismatched_or_empty_draws():
    a = Appraisal(price_year=2024)
    with pytest.raises(ValueError):
        summary(np.array([1.0, 2.0]), [2025], a)
    with pytest.raises(ValueError):
        summary(np.array([]), [], a)
