"""Proper scoring rules for probabilistic forecasts of held-out statistics, and two naive baselines.

A scoring rule S(F, y) rates a forecast distribution F once the outcome y is known. It is *proper* when the
forecaster's expected score is optimised by reporting their true belief, so a score cannot be improved by
hedging or by making the forecast artificially sharp or wide; *strictly* proper when only the true belief attains
the optimum. Every score here is negatively oriented: **lower is better**, in the units of y (the PIT is not a
score but a calibration diagnostic).

* CRPS (continuous ranked probability score), ``CRPS(F, y) = E|X - y| - 0.5 E|X - X'|`` with X, X' independent
  draws from F: strictly proper, rewards calibration and sharpness together, reduces to the absolute error for
  a point forecast. For a sample forecast it is evaluated on the sample's empirical distribution
  (:func:`crps_samples`); for a normal forecast in closed form (:func:`crps_normal`).
* Interval score of a central (1 - alpha) prediction interval [lo, hi]: its width plus 2/alpha times the
  distance by which y falls outside (:func:`interval_score`). Proper for intervals whose ends are the
  alpha/2 and 1 - alpha/2 quantiles.
* PIT (probability integral transform) F(y): uniform on [0, 1] over many cases when the forecasts are calibrated
  (:func:`pit`; the mid-PIT, so ties need no randomisation).

A model's forecast is only worth something if it beats cheap ones, so the simulator's posterior predictive
samples are scored next to two baselines built from the fitted (observed) values alone: persistence
(:func:`persistence_forecast`) and an ordinary-least-squares trend (:func:`linear_trend_forecast`), both normal;
:func:`score_all` scores all three.

References:
    T. Gneiting and A. E. Raftery (2007), "Strictly proper scoring rules, prediction, and estimation",
    Journal of the American Statistical Association 102(477), 359-378 (CRPS and its kernel form: section 4.2;
    interval score: section 6.2). The paper orients scores positively (higher is better); the signs here are
    flipped.
    T. Gneiting, A. E. Raftery, A. H. Westveld and T. Goldman (2005), "Calibrated probabilistic forecasting
    using ensemble model output statistics and minimum CRPS estimation", Monthly Weather Review 133(5),
    1098-1118 (the CRPS of a normal in closed form).
    J. E. Matheson and R. L. Winkler (1976), "Scoring rules for continuous probability distributions",
    Management Science 22(10), 1087-1096 (the CRPS).
    C. Czado, T. Gneiting and L. Held (2009), "Predictive model assessment for count data", Biometrics 65(4),
    1254-1261 (the non-randomised, mid-point PIT for discrete forecast distributions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm

__all__ = [
    "crps_samples",
    "crps_normal",
    "interval_score",
    "interval_score_samples",
    "pit",
    "persistence_forecast",
    "linear_trend_forecast",
    "score_all",
]

_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)


def _clean_samples(samples: np.ndarray | Sequence[float]) -> np.ndarray:
    """The samples as a flat float array without NaN (a run that could not report a statistic gives NaN, and
    dropping it scores the runs that did); ValueError if none is left or one is infinite."""
    x = np.asarray(samples, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise ValueError("no samples left after dropping NaN")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite (or NaN, which is dropped)")
    return x


def _check_finite(**values: float) -> None:
    for name, v in values.items():
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v!r}")


def _check_alpha(alpha: float) -> None:
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def _check_sd(sd: float, name: str = "sd") -> None:
    if not (math.isfinite(sd) and sd >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {sd!r}")


def crps_samples(samples: np.ndarray, y: float) -> float:
    """CRPS of a sample (ensemble) forecast: the exact CRPS of the samples' empirical distribution,
    ``mean|x_i - y| - 0.5 * mean_{i,j}|x_i - x_j|``.

    Why this form: it is the score of the distribution the samples define, so a single sample (or many equal
    ones) gives the absolute error |x - y|. The pairwise term uses the 1/n^2 average over all pairs (i = j
    included); the "fair" 1/(n(n-1)) variant would estimate the CRPS of the distribution the samples were drawn
    from without bias but is undefined for n = 1, and the two differ by 0.5 E|X - X'| / n, negligible for
    hundreds of samples.

    The pairwise term is computed in O(n log n) from the sorted sample, ``sum_{i,j}|x_i - x_j| =
    2 sum_k (2k - n - 1) x_(k)`` (k = 1..n), instead of the O(n^2) double sum. NaN samples are dropped;
    ValueError if none is left.
    """
    x = np.sort(_clean_samples(samples))
    _check_finite(y=y)
    n = x.size
    abs_err = float(np.mean(np.abs(x - y)))
    weights = 2.0 * np.arange(1, n + 1, dtype=float) - n - 1.0
    spread = 2.0 * float(np.dot(weights, x)) / (n * n)  # mean over all pairs of |x_i - x_j|
    return abs_err - 0.5 * spread


def crps_normal(mu: float, sigma: float, y: float) -> float:
    """CRPS of a normal forecast N(mu, sigma^2), in closed form (Gneiting et al. 2005):
    ``sigma * (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi))`` with z = (y - mu) / sigma.

    sigma == 0 is a point forecast and gives |mu - y| (the limit of the formula); negative sigma is a ValueError.
    """
    _check_finite(mu=mu, y=y)
    _check_sd(sigma, "sigma")
    if sigma == 0.0:
        return abs(mu - y)
    z = (y - mu) / sigma
    return float(sigma * (z * (2.0 * norm.cdf(z) - 1.0) + 2.0 * norm.pdf(z) - _INV_SQRT_PI))


def interval_score(lo: float, hi: float, y: float, alpha: float = 0.1) -> float:
    """Interval score of the central (1 - alpha) prediction interval [lo, hi] (Gneiting & Raftery 2007, 6.2):
    ``(hi - lo) + 2/alpha (lo - y) [y < lo] + 2/alpha (y - hi) [y > hi]``.

    Why: the width rewards sharpness and the 2/alpha penalty for a miss makes the alpha/2 and 1 - alpha/2
    quantiles the optimal ends, so the score is proper for that interval. ValueError if lo > hi or alpha is not
    in (0, 1).
    """
    _check_finite(lo=lo, hi=hi, y=y)
    _check_alpha(alpha)
    if lo > hi:
        raise ValueError(f"interval lower end {lo!r} is above its upper end {hi!r}")
    score = hi - lo
    if y < lo:
        score += 2.0 / alpha * (lo - y)
    elif y > hi:
        score += 2.0 / alpha * (y - hi)
    return float(score)


def interval_score_samples(samples: np.ndarray, y: float, alpha: float = 0.1) -> float:
    """Interval score of the central (1 - alpha) interval read off a sample forecast: its alpha/2 and
    1 - alpha/2 empirical quantiles (numpy's default linear interpolation). NaN samples are dropped."""
    _check_alpha(alpha)
    x = _clean_samples(samples)
    lo, hi = np.quantile(x, [alpha / 2.0, 1.0 - alpha / 2.0])
    return interval_score(float(lo), float(hi), y, alpha)


def pit(samples: np.ndarray, y: float) -> float:
    """Probability integral transform of y under a sample forecast: the share of samples below y plus half the
    share equal to y (the mid-PIT).

    Why: over many held-out cases the values are uniform on [0, 1] when the forecasts are calibrated; a U shape
    means too narrow, a hump too wide, a slope a bias. Counting ties as a half keeps the value deterministic (no
    randomisation) when the statistic is discrete. NaN samples are dropped.
    """
    x = _clean_samples(samples)
    _check_finite(y=y)
    below = np.count_nonzero(x < y)
    equal = np.count_nonzero(x == y)
    return float((below + 0.5 * equal) / x.size)


def persistence_forecast(last: float, sd: float, steps_ahead: int = 1) -> tuple[float, float]:
    """The naive baseline "carry the last fitted value forward": N(last, (sd * sqrt(2))^2), returned as
    (mu, sigma).

    sd is the observation model's standard deviation of one value. The last value is itself an observation with
    that noise and the held-out value has its own, independent noise, so their difference has variance
    2 sd^2. The baseline assumes the underlying level stays where it was (no random-walk drift), so sigma does
    **not** grow with ``steps_ahead``: the argument is accepted (and checked to be >= 1) only so the call reads
    like a forecast at a horizon, and the same (mu, sigma) is returned for every horizon.
    """
    _check_finite(last=last)
    _check_sd(sd)
    if isinstance(steps_ahead, bool) or int(steps_ahead) != steps_ahead or steps_ahead < 1:
        raise ValueError(f"steps_ahead must be an integer >= 1, got {steps_ahead!r}")
    return float(last), float(sd * math.sqrt(2.0))


def linear_trend_forecast(times: Sequence[float], values: Sequence[float], t_new: float,
                          sd: float) -> tuple[float, float]:
    """The baseline "extend the straight line through the fitted values": ordinary least squares of values on
    times, the line's value at t_new, returned as (mu, sigma) of a normal.

    ``sigma^2 = sd^2 + sd^2 (1/n + (t_new - tbar)^2 / sum (t - tbar)^2)``: the held-out value's own observation
    noise plus the variance of the fitted line at t_new. The line's variance uses the known observation sd
    rather than a residual estimate, since the targets state their sd and a handful of points would give a
    poor residual estimate (none at all with two). With one point there is no slope, and the forecast falls back
    to persistence (which is the same formula with n = 1 and no slope term). ValueError if the lengths differ,
    there are no points, a value is not finite, or there are several points all at the same time (the slope is
    then undefined).
    """
    t = np.asarray(times, dtype=float).ravel()
    v = np.asarray(values, dtype=float).ravel()
    if t.size != v.size:
        raise ValueError(f"times and values differ in length ({t.size} and {v.size})")
    if t.size == 0:
        raise ValueError("no points to fit a trend through")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(v))):
        raise ValueError("times and values must be finite")
    _check_finite(t_new=t_new)
    _check_sd(sd)
    n = t.size
    if n == 1:
        return persistence_forecast(float(v[0]), sd)
    tbar = float(t.mean())
    sxx = float(np.sum((t - tbar) ** 2))
    if sxx == 0.0:
        raise ValueError("all times are equal: the trend's slope is undefined")
    slope = float(np.sum((t - tbar) * (v - v.mean()))) / sxx
    mu = float(v.mean()) + slope * (t_new - tbar)
    var_line = sd * sd * (1.0 / n + (t_new - tbar) ** 2 / sxx)
    return mu, math.sqrt(sd * sd + var_line)


def _normal_scores(mu: float, sigma: float, y: float, alpha: float) -> dict[str, float]:
    """CRPS and the interval score of the central (1 - alpha) interval of N(mu, sigma^2)."""
    half = float(norm.ppf(1.0 - alpha / 2.0)) * sigma
    return {"crps": crps_normal(mu, sigma, y), "interval_score": interval_score(mu - half, mu + half, y, alpha)}


def score_all(model_samples: np.ndarray, y: float, *, last: float, sd: float, times: Sequence[float],
              values: Sequence[float], t_new: float, alpha: float = 0.1) -> dict[str, dict[str, float]]:
    """Score the model's sample forecast of one held-out value y next to the persistence and linear-trend
    baselines, so a model score is read against what no model at all achieves.

    Returns ``{"model": {"crps", "interval_score", "pit"}, "persistence": {"crps", "interval_score"},
    "linear_trend": {"crps", "interval_score"}}``; the baselines are normal, scored in closed form and by their
    central (1 - alpha) interval mu +- z_{1 - alpha/2} sigma.
    """
    _check_alpha(alpha)
    model = {
        "crps": crps_samples(model_samples, y),
        "interval_score": interval_score_samples(model_samples, y, alpha),
        "pit": pit(model_samples, y),
    }
    p_mu, p_sigma = persistence_forecast(last, sd)
    l_mu, l_sigma = linear_trend_forecast(times, values, t_new, sd)
    return {
        "model": model,
        "persistence": _normal_scores(p_mu, p_sigma, y, alpha),
        "linear_trend": _normal_scores(l_mu, l_sigma, y, alpha),
    }
