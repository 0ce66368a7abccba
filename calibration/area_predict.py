"""Posterior predictive distributions of figures a fit did not see, and their proper scores against baselines.

For each posterior draw, an area's fitted and held-out figures are jointly Gaussian (calibration/likelihood.py);
the held-out figure's distribution given the fitted ones is the conditional Gaussian, so a held-out figure
borrows its area's level and trend from that area's own fitted figures, as a forecaster would. One sample per
draw, then back to the published scale (shares stay inside 0-1, rates positive).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runs.outputs import quantiles

from .area_fit import Fit
from .area_targets import AreaTargets, Obs, untransform
from .emulator import Emulator
from .likelihood import ENGLAND_COUNCILS as N_ENG, HYPER, OFFSETS, block_moments, build_blocks
from .scores import crps_normal, crps_samples, interval_score, interval_score_samples, linear_trend_forecast, pit, \
    persistence_forecast

__all__ = ["predictive", "score_holdout"]


def predictive(fit: Fit, targets: AreaTargets, emulators: dict[str, Emulator], held: list[Obs], n_theta: int,
               rng: np.random.Generator) -> dict[tuple[str, str], np.ndarray]:
    """Samples (one per posterior draw, published scale) of each held-out figure, keyed (area, stat)."""
    out: dict[tuple[str, str], np.ndarray] = {}
    fitted = fit.obs
    theta = fit.draws[:, :n_theta]
    hyper = {h: fit.column(h) for h in HYPER}
    offsets = {o: fit.column(o) for o in OFFSETS if o in fit.keys}
    for area, arm in fit.spec.arms.items():
        mine_h = [o for o in held if o.area == area]
        if not mine_h:
            continue
        mine_f = [o for o in fitted if o.area == area]
        blocks = build_blocks(targets, mine_f + mine_h, {area: arm}, emulators)
        if not blocks:
            continue
        b = blocks[0]
        mean = emulators[arm].mean(theta)[:, b.idx]
        mu, cov = block_moments(b, mean, hyper, offsets)
        is_h = np.array([o in mine_h and o not in mine_f for o in b.obs])
        f_idx, h_idx = np.where(~is_h)[0], np.where(is_h)[0]
        y_f = b.y[f_idx]
        for pos, j in enumerate(h_idx):
            o = b.obs[j]
            if len(f_idx):
                s_ff = cov[:, f_idx][:, :, f_idx]
                s_hf = cov[:, j, f_idx]
                w = np.linalg.solve(s_ff, s_hf[..., None])[..., 0]
                m = mu[:, j] + np.sum(w * (y_f[None, :] - mu[:, f_idx]), axis=1)
                v = cov[:, j, j] - np.sum(w * s_hf, axis=1)
            else:
                m, v = mu[:, j], cov[:, j, j]
            z = m + np.sqrt(np.maximum(v, 1e-12)) * rng.standard_normal(len(m))
            out[(area, o.stat)] = untransform(o.kind, z)
    return out


def _noise_sd(o: Obs, targets: AreaTargets, fit: Fit) -> float:
    """The published figure's noise sd on its own scale (for the naive baselines)."""
    s = targets.series[o.series]
    ref = targets.areas[o.area].reference
    if o.kind in ("hle", "le"):
        return s.sd.england if ref else s.sd.borough
    med = {h: float(np.median(fit.column(h))) for h in HYPER}
    if o.kind == "2a2":
        count = o.raw * targets.areas[o.area].population_65plus / 1e5
        return o.raw * float(np.sqrt(1.0 / count + med["sigma_2a2"] ** 2 / (N_ENG if ref else 1)))
    if o.kind == "dtoc":
        return o.raw * med["sigma_dtoc"] / (np.sqrt(N_ENG) if ref else 1)
    if o.kind == "2b1":
        p = o.raw / 100
        return 100 * p * (1 - p) * med["sigma_2b1"] / (np.sqrt(N_ENG) if ref else 1)
    p = o.raw
    return float(np.sqrt(p * (1 - p) / s.homes))


def score_holdout(fit: Fit, targets: AreaTargets, emulators: dict[str, Emulator], held: list[Obs], n_theta: int,
                  seed: int = 0) -> list[dict[str, Any]]:
    """Every held-out figure: the model's predictive quantiles, PIT, CRPS and 90% interval score, and the same
    scores for persistence (the last fitted figure of the same series, area and sex, with the figure's noise x
    sqrt 2) and a linear trend through the fitted figures (where the area has at least one fitted figure)."""
    rng = np.random.default_rng(seed)
    pred = predictive(fit, targets, emulators, held, n_theta, rng)
    rows = []
    for o in held:
        smp = pred.get((o.area, o.stat))
        if smp is None:
            continue
        q = quantiles(smp, median="q50", count=False, rnd=None)
        row: dict[str, Any] = {
            "area": o.area, "series": o.series, "stat": o.stat, "observed": o.raw,
            "model": {**q, "inside90": bool(q["q05"] <= o.raw <= q["q95"]),
                      "pit": pit(smp, o.raw), "crps": crps_samples(smp, o.raw),
                      "interval_score": interval_score_samples(smp, o.raw, 0.1)}}
        same = sorted((f for f in fit.obs if f.area == o.area and f.series == o.series and f.sex == o.sex
                       and f.end_year <= o.end_year), key=lambda f: f.t)
        if same:
            sd = _noise_sd(o, targets, fit)
            mu, sig = persistence_forecast(same[-1].raw, sd)
            row["persistence"] = {"crps": crps_normal(mu, sig, o.raw),
                                  "interval_score": interval_score(mu - 1.645 * sig, mu + 1.645 * sig, o.raw, 0.1)}
            mu, sig = linear_trend_forecast([f.t for f in same], [f.raw for f in same], o.t, sd)
            row["linear_trend"] = {"crps": crps_normal(mu, sig, o.raw),
                                   "interval_score": interval_score(mu - 1.645 * sig, mu + 1.645 * sig, o.raw, 0.1)}
        rows.append(row)
    return rows
