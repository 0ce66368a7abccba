"""The multi-area posterior: the emulated likelihood sampled by MCMC (emcee's affine-invariant ensemble).

Every fit is a choice of figures (which series, which areas, data known by when) and of which arm predicts each
area; the emulators are fitted once per design, so the primary fit, the revised-series fit, the held-out
validation fit, the placebos, the prior-sensitivity fits and the parameter recovery are all cheap refits on the
same design.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy import stats

from .area_config import AreaCalibration
from .area_design import Design
from .area_targets import AreaTargets, Obs, transform
from .emulator import Emulator, fit_emulator
from .likelihood import HYPER, OFFSETS, build_blocks, log_likelihood

__all__ = ["fit_emulators", "FitSpec", "Fit", "run_fit", "FitJob", "run_fits", "log_posterior", "batch_means_ess",
           "prior_draws", "effect_names", "offsets_of"]


def fit_emulators(cal: AreaCalibration, design: Design, targets: AreaTargets,
                  extra: dict[str, list[str]] | None = None, select_parameters: bool = False) -> dict[str, Emulator]:
    """One emulator per arm for the statistics the targets use (on their noise scale), plus the raw statistics
    in `extra[arm]`; and one per (treated arm, untreated twin) for the paired differences named by
    `effect_names` (key "effect:<arm>"). Full quadratics; `select_parameters`: each statistic keeps only the
    parameters it depends on (emulator.select, an experiment: docs/calibration.md)."""
    lo = np.array([cal.boxes[k][0] for k in cal.keys])
    hi = np.array([cal.boxes[k][1] for k in cal.keys])
    kind_of = {o.stat: o.kind for o in targets.obs}
    out: dict[str, Emulator] = {}
    for arm, cols in design.stats.items():
        y = {}
        for s, kind in kind_of.items():
            if s in cols:
                y[s] = transform(kind, _no_zero_counts(kind, cols[s]))
        for s in (extra or {}).get(arm, []):
            if s in cols:
                y["raw:" + s] = cols[s]
        out[arm] = fit_emulator(cal.keys, lo, hi, design.theta, y, select_parameters=select_parameters)
    for treated, twin in TWINS.items():
        if treated in design.stats and twin in design.stats:
            a, b = design.stats[treated], design.stats[twin]
            y = {s: a[s] - b[s] for s in effect_names(treated) if s in a and s in b}
            out["effect:" + treated] = fit_emulator(cal.keys, lo, hi, design.theta, y,
                                                    select_parameters=select_parameters)
    return out


def _no_zero_counts(kind: str, col: np.ndarray) -> np.ndarray:
    """A rate from a count (care-home admissions, delayed transfers) can be zero in a year at the design's small
    scale, and the log of zero is an outlier that breaks a quadratic (one such run of 300 made a statistic's
    cross-validated error sd 1.57 on the log scale against 0.4 for its neighbours). A zero becomes half the
    column's smallest positive rate: a continuity correction of about half an event."""
    col = np.asarray(col, dtype=float)
    if kind not in ("2a2", "dtoc") or not (col <= 0).any() or not (col > 0).any():
        return col
    return np.where(col > 0, col, 0.5 * col[col > 0].min())


TWINS = {"wigan": "wigan_no_deal", "wigan_deal_2010": "wigan_no_deal", "barnsley_deal": "barnsley",
         "doncaster_deal": "doncaster", "bolton_deal": "bolton"}


def effect_names(arm: str) -> list[str]:
    """The effects reported: HLE on true prevalence, care-home admissions, delayed transfers, savings."""
    if arm == "wigan_deal_2010":
        return [f"hle_{s}_true[2011-13]" for s in ("male", "female")]
    return ([f"hle_{s}_true[{p}]" for s in ("male", "female") for p in ("2015-17", "2017-19")]
            + [f"hle_{s}[{p}]" for s in ("male", "female") for p in ("2015-17", "2017-19")]
            + ["care_home_admissions_65plus_per_100k[2017/18]", "delayed_transfers_per_100k[2017/18]",
               "cumulative_savings_gbp_m[2017]", "cumulative_savings_gbp_m[2019]"])


@dataclass
class FitSpec:
    """Which figures, which arms, which priors."""

    name: str
    series: set[str]                       # e.g. {"hle_original", "life_expectancy", ...}
    arms: dict[str, str]                   # area -> arm
    known_by: float | None = None
    prior_scale: float = 1.0               # prior widths multiplied by this (sensitivity)
    observed: dict[str, float] | None = None   # replace the figures (by stat@area) with these (recovery)
    seed: int = 1


@dataclass
class Fit:
    spec: FitSpec
    keys: list[str]                        # theta keys, then hyper, then offsets
    draws: np.ndarray                      # posterior draws x parameters
    logp: np.ndarray
    ess: float
    tau: np.ndarray
    acceptance: float
    logp_trace: list[float]               # mean log posterior per tenth of the chain
    obs: list[Obs]
    info: dict[str, Any] = field(default_factory=dict)

    def theta(self, n_theta: int) -> np.ndarray:
        return self.draws[:, :n_theta]

    def column(self, name: str) -> np.ndarray:
        return self.draws[:, self.keys.index(name)]

    def batch_ess(self) -> np.ndarray:
        """Per parameter, the effective sample size by batch means (`batch_means_ess`)."""
        return batch_means_ess(self.draws)


def batch_means_ess(draws: np.ndarray, batches: int = 20) -> np.ndarray:
    """Effective sample size of each column of draws kept in chain order, by batch means: the number of batches
    times the draws' variance over the variance of the batch means. emcee's integrated autocorrelation time needs
    a chain fifty times longer than itself to be trusted; ours is about 18 times (tau about 110 steps of 2,000 kept),
    and on this posterior it overstated the effective size 15 to 25 times (1,140 against 54 by batch means for the
    posterior of 0ee6ba8): medians of repeated fits moved by up to 0.24 posterior SD, which means tens of
    independent draws, not a thousand (docs/calibration.md, Sampling).
    Batches shorter than the autocorrelation time overstate it too, so it is only a check on long chains."""
    n = (len(draws) // batches) * batches
    x = draws[:n]
    means = x.reshape(batches, -1, x.shape[1]).mean(axis=1)
    vb = means.var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(vb > 0, batches * x.var(axis=0) / vb, float(n))


def offsets_of(spec: FitSpec) -> list[str]:
    """The fixed terms a fit samples: the revised series' offset only where it fits that series."""
    return [o for o in OFFSETS if o != "offset_hle_revised" or "hle_revised" in spec.series]


def _prior_logpdf(cal: AreaCalibration, scale: float, x: np.ndarray, offsets: list[str]) -> np.ndarray:
    d = len(cal.keys)
    lp = np.zeros(x.shape[0])
    for i, k in enumerate(cal.keys):
        lp = lp + cal.priors[k].scaled(scale).logpdf(x[:, i], cal.boxes[k])
    for j, h in enumerate(HYPER):
        v = x[:, d + j]
        s = cal.hyper[h].half_normal
        lp = lp + np.where(v >= 0, -0.5 * (v / s) ** 2, -np.inf)
    for j, name in enumerate(offsets):
        v = x[:, d + len(HYPER) + j]
        lp = lp - 0.5 * (v / cal.offsets[name].normal_sd) ** 2
    return lp


def prior_draws(cal: AreaCalibration, n: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Draws of theta from the priors (normal ones truncated to the design box)."""
    out = np.empty((n, len(cal.keys)))
    for i, k in enumerate(cal.keys):
        p, (lo, hi) = cal.priors[k].scaled(scale), cal.boxes[k]
        if p.uniform is not None:
            a, b = max(p.uniform[0], lo), min(p.uniform[1], hi)
            out[:, i] = rng.uniform(a, b, n)
        else:
            m, s = p.normal
            out[:, i] = stats.truncnorm.rvs((lo - m) / s, (hi - m) / s, loc=m, scale=s, size=n, random_state=rng)
    return out


def log_posterior(cal: AreaCalibration, targets: AreaTargets, emulators: dict[str, Emulator], spec: FitSpec
                  ) -> tuple[Callable[[np.ndarray], np.ndarray], list[str], list[Obs], list[Any]]:
    """The fit's log posterior as a vectorised function of (points x parameters), its parameter names (theta,
    hyper, offsets), the figures it uses and their likelihood blocks."""
    obs = targets.select(series=spec.series, areas=set(spec.arms), known_by=spec.known_by)
    if spec.observed is not None:
        obs = [Obs(o.series, o.kind, o.area, o.sex, o.period, o.stat, spec.observed[f"{o.stat}@{o.area}"], o.raw,
                   o.t, o.first_year, o.end_year) for o in obs]
    blocks = build_blocks(targets, obs, spec.arms, emulators)
    d = len(cal.keys)
    used = offsets_of(spec)
    names = list(cal.keys) + list(HYPER) + used
    arms_used = sorted({b.arm for b in blocks})

    def logpost(x: np.ndarray) -> np.ndarray:
        lp = _prior_logpdf(cal, spec.prior_scale, x, used)
        ok = np.isfinite(lp)
        out = np.full(x.shape[0], -np.inf)
        if not ok.any():
            return out
        xo = x[ok]
        means = {a: emulators[a].mean(xo[:, :d]) for a in arms_used}
        hyper = {h: xo[:, d + j] for j, h in enumerate(HYPER)}
        offsets = {name: xo[:, d + len(HYPER) + j] for j, name in enumerate(used)}
        out[ok] = lp[ok] + log_likelihood(blocks, means, hyper, offsets)
        return out

    return logpost, names, obs, blocks


def run_fit(cal: AreaCalibration, targets: AreaTargets, emulators: dict[str, Emulator], spec: FitSpec, *,
            walkers: int | None = None, steps: int | None = None, draws: int | None = None) -> Fit:
    """Sample the posterior of one fit; the second half of the chain is kept, thinned to `draws`."""
    import emcee

    walkers = walkers or cal.fit.walkers
    steps = steps or cal.fit.steps
    draws = draws or cal.fit.draws
    logpost, names, obs, blocks = log_posterior(cal, targets, emulators, spec)
    used = offsets_of(spec)
    n_off = len(used)

    rng = np.random.default_rng(spec.seed)
    # Start the walkers at the best of many prior draws, so burn-in is short; the chain forgets the start.
    cand = np.concatenate([prior_draws(cal, 20 * walkers, rng, spec.prior_scale),
                           np.abs(rng.normal(0, 1, (20 * walkers, len(HYPER))))
                           * np.array([cal.hyper[h].half_normal for h in HYPER]) * 0.5,
                           rng.normal(0, 0.3, (20 * walkers, n_off))], axis=1)
    lp0 = logpost(cand)
    start = cand[np.argsort(-lp0)[:walkers]]
    sampler = emcee.EnsembleSampler(walkers, len(names), logpost, vectorize=True,
                                    moves=[(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)])
    sampler.random_state = np.random.RandomState(spec.seed).get_state()  # reproducible moves
    sampler.run_mcmc(start, steps, progress=False)
    chain = sampler.get_chain()
    logp = sampler.get_log_prob()
    keep = chain[steps // 2:]
    import logging

    logging.getLogger("emcee.autocorr").setLevel(logging.ERROR)  # a short chain is reported through `ess`
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = emcee.autocorr.integrated_time(keep, quiet=True)
    tau = np.where(np.isfinite(tau), tau, float(len(keep)))  # a stuck coordinate counts as one draw per walker
    flat = keep.reshape(-1, len(names))
    flat_lp = logp[steps // 2:].reshape(-1)
    ess = float(flat.shape[0] / np.max(tau))
    idx = np.linspace(0, flat.shape[0] - 1, min(draws, flat.shape[0])).astype(int)
    trace = [float(np.mean(logp[i * steps // 10:(i + 1) * steps // 10])) for i in range(10)]
    return Fit(spec, names, flat[idx], flat_lp[idx], ess, tau, float(np.mean(sampler.acceptance_fraction)), trace,
               obs, {"blocks": [(b.area, b.arm, len(b.y)) for b in blocks], "walkers": walkers, "steps": steps})


@dataclass(frozen=True)
class FitJob:
    """One fit to run: its spec, which calibration (by key) and which emulators (by key) it uses, and any
    sampler settings that differ from the calibration's (walkers, steps, draws)."""
    spec: FitSpec
    cal: Any
    emulators: Any
    settings: tuple[tuple[str, int], ...] = ()


_SHARED: dict[str, Any] = {}


def _init_worker(shared: dict[str, Any]) -> None:
    _SHARED.update(shared)


def _run_job(job: FitJob) -> Fit:
    return run_fit(_SHARED["cals"][job.cal], _SHARED["targets"], _SHARED["emulators"][job.emulators], job.spec,
                   **dict(job.settings))


def run_fits(jobs: list[FitJob], cals: dict[Any, AreaCalibration], targets: AreaTargets,
             emulators: dict[Any, dict[str, Emulator]], workers: int = 1) -> list[Fit]:
    """Run independent fits, on `workers` processes when more than one. Each fit draws only from its own seeded
    generators, so the draws are the same on any number of workers (tested). Fresh (spawned) processes, because the
    parent may hold threads (Numba, Dask) that a fork would copy half-way."""
    shared = {"cals": cals, "targets": targets, "emulators": emulators}
    if workers <= 1 or len(jobs) <= 1:
        _SHARED.update(shared)
        try:
            return [_run_job(j) for j in jobs]
        finally:
            _SHARED.clear()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx, initializer=_init_worker,
                             initargs=(shared,)) as pool:
        return list(pool.map(_run_job, jobs))
