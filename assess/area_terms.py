"""A council as one more area of the multi-area calibration: what its published figures would be.

The multi-area calibration (docs/calibration.md) found that boroughs depart from what the model predicts for
their context by an area level per outcome (and, for HLE, a trend), whose spread across areas it estimated
(`tau_*`), and that every published figure carries its own noise. A new council is assessed the same way: its
simulated figures plus its own area terms plus the published statistic's noise. Its area terms start from the
spread the calibration found and are conditioned on whatever baseline figures the council supplied (a baseline
HLE or LE, with its published noise and the simulator's own noise at the assessment's scale), never set equal to
one noisy figure. With no baseline figure the term is drawn from that spread: an honest "we do not know". HLE also
carries the boroughs' common trend beyond England's (`trend_hle_boroughs`, fitted on Wigan and the controls):
a council is assessed as one more borough of that comparison group.

Each draw of the posterior carries its own spreads (`calibration/posterior/areas_area_terms.csv`, row by row with
`areas.csv`); both arms get the same terms, so the Deal's effect is the model's, as in the calibration.
Scales: HLE and LE in years, admissions and delayed transfers on the log scale, shares on the logit scale
(`calibration.area_targets.transform`), so a share's interval stays inside 0-100%.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from calibration.area_targets import load_area_targets, period_time, transform, untransform

__all__ = ["KIND", "SIMULATED", "AreaNoise", "noise_model", "published"]

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "calibration" / "targets" / "areas.yaml"
T0 = 2010.5  # the calibration's trend origin (calibration/likelihood.py)

# Outcome -> the kind of published statistic (calibration/targets/areas.yaml) and its area-level spread.
KIND = {"hle_male": "hle", "hle_female": "hle", "le_male": "le", "le_female": "le",
        "care_home_admissions_65plus_per_100k": "2a2", "still_at_home_91d_pct": "2b1",
        "delayed_transfers_per_100k": "dtoc", "care_quality_good_or_outstanding": "quality"}
TAU = {"hle": "tau_hle_level", "le": "tau_le_level", "2a2": "tau_2a2_level", "2b1": "tau_2b1_level",
       "dtoc": "tau_dtoc_level"}
# The simulated statistic a published figure is compared with: HLE's true prevalence and both from the expected
# deaths (the survey's and the death counts' noise are the published noise below, as in the calibration).
SIMULATED = {"hle_male": "hle_male_true", "hle_female": "hle_female_true", "le_male": "le_male_true",
             "le_female": "le_female_true"}


@dataclass(frozen=True)
class AreaNoise:
    """The published statistics' own noise (calibration/targets/areas.yaml): HLE and LE sd per borough period,
    and the number of care homes rated (care quality's binomial noise)."""

    hle_sd: float
    le_sd: float
    homes: int


@lru_cache(maxsize=1)
def noise_model() -> AreaNoise:
    t = load_area_targets(TARGETS)
    by_kind = {s.kind: s for s in t.series.values()}
    return AreaNoise(hle_sd=by_kind["hle"].sd.borough, le_sd=by_kind["le"].sd.borough,
                     homes=int(by_kind["quality"].homes or 27))


def _noise_var(kind: str, z_model: np.ndarray, terms: Mapping[str, float], pop65: float, n: AreaNoise) -> np.ndarray:
    """Variance of a published figure around the area's expected value, on its noise scale."""
    if kind == "hle":
        return np.full_like(z_model, n.hle_sd ** 2)
    if kind == "le":
        return np.full_like(z_model, n.le_sd ** 2)
    if kind == "2a2":
        count = np.exp(z_model) * pop65 / 1e5
        return 1.0 / np.maximum(count, 1.0) + terms.get("sigma_2a2", 0.0) ** 2
    if kind == "2b1":
        return np.full_like(z_model, terms.get("sigma_2b1", 0.0) ** 2)
    if kind == "dtoc":
        return np.full_like(z_model, terms.get("sigma_dtoc", 0.0) ** 2)
    p = 1.0 / (1.0 + np.exp(-z_model))
    return 1.0 / (n.homes * np.maximum(p * (1 - p), 1e-4))


def published(name: str, period: str, bau: np.ndarray, deal: np.ndarray, terms: list[Mapping[str, float]],
              baseline: float | None, bau_at_baseline: np.ndarray | None, baseline_period: str, pop65: float,
              rng: np.random.Generator, replicates: int = 20, revised: bool = False
              ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Samples of the figure a statistics office would publish for the council, in both arms.

    `bau` and `deal` are the simulated values (draws x seeds) at `period`; `terms[i]` the spreads of draw i;
    `baseline` the council's own figure for `baseline_period` (None if it gave none) and `bau_at_baseline` the
    simulated values there (draws x seeds); `revised`: HLE figures are in ONS's revised series, whose level differs
    from the original's by the calibration's fitted offset. Returns (bau samples, deal samples, the area term)."""
    kind = KIND[name]
    noise = noise_model()
    n_draws = bau.shape[0]
    t = period_time(period)[0]
    t_base = period_time(baseline_period)[0]
    out_b, out_d, levels, level_sd = [], [], [], []
    for i in range(n_draws):
        th = terms[i]
        zb, zd = transform(kind, bau[i]), transform(kind, deal[i])
        ok = np.isfinite(zb) & np.isfinite(zd)
        if not ok.any():
            continue
        zb, zd = zb[ok], zd[ok]
        offset = (th.get("offset_2b1", 0.0) if kind == "2b1" else
                  th.get("offset_hle_revised", 0.0) if kind == "hle" and revised else 0.0)
        # The boroughs' common HLE trend beyond England's (a council is assessed as one more borough).
        boroughs = th.get("trend_hle_boroughs", 0.0) if kind == "hle" else 0.0
        tau2 = th.get(TAU[kind], 0.0) ** 2 if kind in TAU else 0.0
        trend2 = th.get("tau_hle_trend", 0.0) ** 2 if kind == "hle" else 0.0
        # The area's term at this period, c = level + trend x (t - T0)/10, and at the baseline, d's part; given the
        # council's baseline figure (model's expected baseline + c(baseline) + noise) c is conditionally Gaussian.
        a, b = (t_base - T0) / 10.0, (t - T0) / 10.0
        mean, var = 0.0, tau2 + trend2 * b * b
        base_mean, base_var = 0.0, tau2 + trend2 * a * a
        if baseline is not None and bau_at_baseline is not None and tau2 + trend2 > 0:
            z0 = transform(kind, bau_at_baseline[i])
            z0 = z0[np.isfinite(z0)]
            if z0.size:
                # The model's expected baseline is the mean of this draw's seeds, with its own sampling error.
                sim_var = float(np.var(z0, ddof=1)) / z0.size if z0.size > 1 else 0.0
                s2 = float(_noise_var(kind, np.array([z0.mean()]), th, pop65, noise)[0]) + sim_var
                d = float(transform(kind, baseline)) - float(z0.mean()) - offset - boroughs * a
                var_d = tau2 + trend2 * a * a + s2
                cov = tau2 + trend2 * a * b
                mean, var = cov / var_d * d, var - cov * cov / var_d
                base_mean, base_var = base_var / var_d * d, base_var - base_var ** 2 / var_d
        levels.append(base_mean)
        level_sd.append(np.sqrt(max(base_var, 0.0)))
        size = (zb.size, replicates)
        term = mean + np.sqrt(max(var, 0.0)) * rng.standard_normal(size)
        e = rng.standard_normal(size)
        for z, out in ((zb, out_b), (zd, out_d)):
            nv = _noise_var(kind, z, th, pop65, noise)
            out.append(untransform(kind, z[:, None] + offset + boroughs * b + term + np.sqrt(nv)[:, None] * e).ravel())
    # The area term at the baseline period: its mean over draws and a 90% interval that mixes the draws.
    lv, ls = np.array(levels), np.array(level_sd)
    mix = (lv[:, None] + ls[:, None] * rng.standard_normal((lv.size, 200))).ravel() if lv.size else lv
    info = {"kind": kind, "conditioned_on_baseline": baseline is not None, "period": baseline_period,
            "mean": float(lv.mean()) if lv.size else None,
            "q05": float(np.quantile(mix, 0.05)) if mix.size else None,
            "q95": float(np.quantile(mix, 0.95)) if mix.size else None}
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0))  # noqa: E731
    return cat(out_b), cat(out_d), info
