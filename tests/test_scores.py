"""Tests of the proper scores (calibration.scores): exact values worked by hand or by brute force, Monte Carlo
agreement of the sample scores with the normal's closed forms, uniformity of the PIT under a calibrated forecast
(and its failure under a biased one), the two baselines' (mu, sigma), and bad input.

All random draws use fixed seeds; the whole file runs in about a second (most of it importing scipy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from calibration.scores import (
    crps_normal,
    crps_samples,
    interval_score,
    interval_score_samples,
    linear_trend_forecast,
    persistence_forecast,
    pit,
    score_all,
)

MU, SIGMA = 1.0, 2.0
Z95 = stats.norm.ppf(0.95)  # the central 90% interval's half-width, in sigmas


@pytest.fixture(scope="module")
def big_normal() -> np.ndarray:
    return np.random.default_rng(20240601).normal(MU, SIGMA, 200_000)


def _crps_brute(x: np.ndarray, y: float) -> float:
    """The O(n^2) definition on the empirical distribution: mean|x_i - y| - 0.5 mean_{i,j}|x_i - x_j|."""
    return float(np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :])))


# --- CRPS -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("y", [-2.0, 0.0, 0.7, 3.0, 8.0])
def test_crps_of_a_large_normal_sample_matches_the_closed_form(big_normal, y):
    # 1% relative: about 3 Monte Carlo standard errors at n = 200000 (the largest, near y = 0, is ~0.35%).
    assert crps_samples(big_normal, y) == pytest.approx(crps_normal(MU, SIGMA, y), rel=0.01)


@pytest.mark.parametrize("seed,n", [(1, 1), (2, 2), (3, 7), (4, 50), (5, 301)])
def test_crps_samples_equals_the_brute_force_formula(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 3.0, n)  # skewed, so a sign or ordering slip in the sorted form would show
    for y in (float(np.median(x)), -1.0, 40.0, float(x[0])):
        assert crps_samples(x, y) == pytest.approx(_crps_brute(x, y), abs=1e-12)


def test_crps_samples_hand_worked():
    # x = {0, 2}, y = 0: mean|x - y| = 1; pairs |0-0|, |0-2|, |2-0|, |2-2| average 1; CRPS = 1 - 0.5 = 0.5.
    assert crps_samples(np.array([0.0, 2.0]), 0.0) == pytest.approx(0.5, abs=1e-15)
    # the order of the samples does not matter
    assert crps_samples(np.array([2.0, 0.0, 1.0]), 1.0) == pytest.approx(_crps_brute(np.array([0.0, 1, 2]), 1.0))


@pytest.mark.parametrize("x,y", [(3.0, 3.0), (3.0, 5.5), (-1.25, 2.0)])
def test_crps_of_a_point_mass_is_the_absolute_error(x, y):
    assert crps_samples(np.array([x]), y) == pytest.approx(abs(x - y), abs=1e-12)
    assert crps_samples(np.full(40, x), y) == pytest.approx(abs(x - y), abs=1e-12)
    assert crps_normal(x, 0.0, y) == abs(x - y)


def test_crps_samples_drops_nan():
    x = np.array([0.0, np.nan, 2.0, np.nan])
    assert crps_samples(x, 0.0) == pytest.approx(0.5, abs=1e-15)
    assert pit(x, 1.0) == 0.5
    with pytest.raises(ValueError):
        crps_samples(np.array([np.nan, np.nan]), 0.0)
    with pytest.raises(ValueError):
        crps_samples(np.array([]), 0.0)


def test_crps_normal_known_values():
    # z = 0: sigma * (2 phi(0) - 1/sqrt(pi)) = sigma * (sqrt(2) - 1) / sqrt(pi)
    assert crps_normal(0.0, 1.0, 0.0) == pytest.approx((math.sqrt(2) - 1) / math.sqrt(math.pi), rel=1e-12)
    assert crps_normal(5.0, 3.0, 5.0) == pytest.approx(3 * (math.sqrt(2) - 1) / math.sqrt(math.pi), rel=1e-12)
    # far in the tail the CRPS tends to |y - mu| - sigma / sqrt(pi)
    assert crps_normal(0.0, 1.0, 30.0) == pytest.approx(30.0 - 1 / math.sqrt(math.pi), rel=1e-12)
    # symmetric in y about mu, and the sigma -> 0 limit is the absolute error
    assert crps_normal(1.0, 2.0, 4.0) == pytest.approx(crps_normal(1.0, 2.0, -2.0), rel=1e-12)
    assert crps_normal(1.0, 1e-9, 4.0) == pytest.approx(3.0, rel=1e-9)
    with pytest.raises(ValueError):
        crps_normal(0.0, -1.0, 0.0)


def test_crps_is_lower_for_the_true_distribution_on_average():
    # propriety, seen: against outcomes from N(0, 1) the true forecast beats a shifted, a too-narrow and a
    # too-wide one on average (by far more than the Monte Carlo error at 1000 outcomes).
    y = np.random.default_rng(11).normal(0.0, 1.0, 1000)
    mean = {name: np.mean([crps_normal(m, s, v) for v in y])
            for name, (m, s) in {"true": (0, 1), "shifted": (0.5, 1), "narrow": (0, 0.5), "wide": (0, 2)}.items()}
    assert mean["true"] < min(mean["shifted"], mean["narrow"], mean["wide"]) - 0.02


# --- interval score ---------------------------------------------------------------------------------------------

def test_interval_score_hand_worked():
    # [1, 3], alpha = 0.1 so the miss penalty is 2 / 0.1 = 20 per unit
    assert interval_score(1.0, 3.0, 2.0) == pytest.approx(2.0)            # inside: the width
    assert interval_score(1.0, 3.0, 1.0) == pytest.approx(2.0)            # on an end: no penalty
    assert interval_score(1.0, 3.0, 0.0) == pytest.approx(2.0 + 20 * 1.0)  # below by 1: 22
    assert interval_score(1.0, 3.0, 4.5) == pytest.approx(2.0 + 20 * 1.5)  # above by 1.5: 32
    assert interval_score(1.0, 3.0, 0.5, alpha=0.5) == pytest.approx(2.0 + 4 * 0.5)  # penalty 2 / 0.5 = 4
    assert interval_score(2.0, 2.0, 2.0) == 0.0


@pytest.mark.parametrize("y", [-5.0, 0.7, 4.0, 9.0])
def test_interval_score_samples_of_a_large_normal_sample_matches_the_closed_form(big_normal, y):
    # the quantiles' Monte Carlo error at n = 200000 gives ~0.2% relative error in the score; 1% allowed
    exact = interval_score(MU - Z95 * SIGMA, MU + Z95 * SIGMA, y, 0.1)
    assert interval_score_samples(big_normal, y, 0.1) == pytest.approx(exact, rel=0.01)


def test_interval_score_samples_uses_the_alpha_quantiles():
    x = np.arange(101, dtype=float)  # quantiles are exact: the q-quantile is 100 q
    assert interval_score_samples(x, 50.0, alpha=0.1) == pytest.approx(90.0)
    assert interval_score_samples(x, 50.0, alpha=0.5) == pytest.approx(50.0)
    assert interval_score_samples(x, 0.0, alpha=0.5) == pytest.approx(50.0 + 4 * 25.0)


def test_interval_score_bad_input():
    with pytest.raises(ValueError):
        interval_score(3.0, 1.0, 2.0)
    for alpha in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            interval_score(1.0, 3.0, 2.0, alpha=alpha)
    with pytest.raises(ValueError):
        interval_score_samples(np.array([np.nan]), 0.0)


# --- PIT --------------------------------------------------------------------------------------------------------

def test_pit_hand_worked():
    x = np.array([1.0, 2.0, 2.0, 3.0])
    assert pit(x, 0.0) == 0.0
    assert pit(x, 2.0) == pytest.approx((1 + 0.5 * 2) / 4)  # one below, two equal
    assert pit(x, 2.5) == pytest.approx(3 / 4)
    assert pit(x, 10.0) == 1.0


def test_pit_is_uniform_for_a_calibrated_forecast():
    rng = np.random.default_rng(7)
    samples = rng.normal(MU, SIGMA, (2000, 200))  # a fresh forecast sample for each of 2000 cases
    ys = rng.normal(MU, SIGMA, 2000)              # the outcome, from the same distribution
    u = np.array([pit(s, y) for s, y in zip(samples, ys)])
    assert abs(u.mean() - 0.5) < 0.02
    assert stats.kstest(u, "uniform").pvalue > 0.01


def test_pit_is_not_uniform_for_a_biased_forecast():
    # the test above must be able to fail: a forecast shifted by half a sigma is rejected
    rng = np.random.default_rng(8)
    samples = rng.normal(MU + 0.5 * SIGMA, SIGMA, (2000, 200))
    ys = rng.normal(MU, SIGMA, 2000)
    u = np.array([pit(s, y) for s, y in zip(samples, ys)])
    assert u.mean() < 0.4
    assert stats.kstest(u, "uniform").pvalue < 1e-6


# --- baselines --------------------------------------------------------------------------------------------------

def test_persistence_forecast():
    assert persistence_forecast(12.5, 0.3) == pytest.approx((12.5, 0.3 * math.sqrt(2)))
    # sigma does not grow with the horizon
    assert persistence_forecast(12.5, 0.3, steps_ahead=10) == persistence_forecast(12.5, 0.3, steps_ahead=1)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError):
            persistence_forecast(1.0, 1.0, steps_ahead=bad)
    with pytest.raises(ValueError):
        persistence_forecast(1.0, -0.1)


def test_linear_trend_on_an_exact_line():
    # values = 1 + 2 t at t = 0..3; at t_new = 5 the line gives 11.
    # tbar = 1.5, sum (t - tbar)^2 = 2.25 + 0.25 + 0.25 + 2.25 = 5, (t_new - tbar)^2 = 12.25;
    # sd = 0.5: line variance 0.25 * (1/4 + 12.25/5) = 0.25 * 2.7 = 0.675; plus sd^2 = 0.25: sigma^2 = 0.925.
    mu, sigma = linear_trend_forecast([0, 1, 2, 3], [1, 3, 5, 7], 5.0, 0.5)
    assert mu == pytest.approx(11.0, abs=1e-12)
    assert sigma == pytest.approx(math.sqrt(0.925), rel=1e-12)
    # at the mean time only the intercept's 1/n term is left: sigma^2 = 0.25 * (1 + 1/4)
    mu, sigma = linear_trend_forecast([0, 1, 2, 3], [1, 3, 5, 7], 1.5, 0.5)
    assert mu == pytest.approx(4.0, abs=1e-12)
    assert sigma == pytest.approx(math.sqrt(0.3125), rel=1e-12)


def test_linear_trend_on_noisy_data_is_least_squares():
    t = np.array([2010.0, 2011, 2013, 2016, 2017])
    v = np.array([3.1, 2.7, 3.9, 4.4, 4.2])
    slope, intercept = np.polyfit(t, v, 1)
    mu, _ = linear_trend_forecast(t, v, 2020.0, 0.2)
    assert mu == pytest.approx(intercept + slope * 2020.0, rel=1e-9)


def test_linear_trend_falls_back_to_persistence_with_one_point():
    assert linear_trend_forecast([2015.0], [7.0], 2020.0, 0.4) == persistence_forecast(7.0, 0.4)


def test_linear_trend_bad_input():
    with pytest.raises(ValueError):
        linear_trend_forecast([1, 2, 3], [1, 2], 4.0, 1.0)
    with pytest.raises(ValueError):
        linear_trend_forecast([], [], 4.0, 1.0)
    with pytest.raises(ValueError):
        linear_trend_forecast([2, 2], [1, 3], 4.0, 1.0)  # no slope from one time
    with pytest.raises(ValueError):
        linear_trend_forecast([1, 2], [1, np.nan], 4.0, 1.0)
    with pytest.raises(ValueError):
        linear_trend_forecast([1, 2], [1, 2], 4.0, -1.0)


# --- score_all --------------------------------------------------------------------------------------------------

def test_score_all():
    samples = np.random.default_rng(3).normal(4.0, 0.5, 500)
    times, values = [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]
    out = score_all(samples, 4.2, last=4.0, sd=0.5, times=times, values=values, t_new=4.0, alpha=0.1)
    assert set(out) == {"model", "persistence", "linear_trend"}
    assert set(out["model"]) == {"crps", "interval_score", "pit"}
    assert set(out["persistence"]) == {"crps", "interval_score"}
    assert set(out["linear_trend"]) == {"crps", "interval_score"}
    assert out["model"]["crps"] == crps_samples(samples, 4.2)
    assert out["model"]["interval_score"] == interval_score_samples(samples, 4.2, 0.1)
    assert out["model"]["pit"] == pit(samples, 4.2)
    # the baselines: normal closed forms, and their central 90% interval mu +- 1.645 sigma
    s = 0.5 * math.sqrt(2)
    assert out["persistence"]["crps"] == pytest.approx(crps_normal(4.0, s, 4.2))
    assert out["persistence"]["interval_score"] == pytest.approx(2 * Z95 * s)  # 4.2 lies inside
    mu, sigma = linear_trend_forecast(times, values, 4.0, 0.5)
    assert mu == pytest.approx(5.0)
    assert out["linear_trend"]["crps"] == pytest.approx(crps_normal(mu, sigma, 4.2))
    assert out["linear_trend"]["interval_score"] == pytest.approx(
        interval_score(mu - Z95 * sigma, mu + Z95 * sigma, 4.2, 0.1))
