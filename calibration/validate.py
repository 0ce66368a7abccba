"""Posterior predictive validation: how well do the calibrated runs reproduce every target, fit and holdout?

Draws ``draws`` parameter sets from the posterior (weighted, with replacement), runs each with ``seeds`` seeds over
the whole period the targets need (to 2020-12 for Wigan's), and for EVERY statistic of every target, fit and
holdout, reports the observed value, the predictive median and 90% interval, and whether the observation fell
inside. The predictive distribution is that of the *published* figure: each simulated statistic plus observation
noise N(0, sd) of its target (sd from the targets file); for healthy life expectancy, which comes from a simulated
survey of realistic size, only the part of sd beyond the simulated survey's own sampling error is added. Coverage is the share of holdout (and of fit) statistics
inside their interval: near 0.9 if the model and the noise are right.

Runs are independent of the number of worker processes: every run's seed is fixed by its draw and seed index
(:func:`calibration.simulation.seed_for`), the draws and the noise come from generators seeded by ``seed``, and
results are gathered in job order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runs.outputs import quantiles


from model.yamlfile import InputError as CalibrationError
from .config import Calibration, load_calibration
from .posterior_io import Posterior, posterior_draws
from .simulation import run_model, seed_for
from .targets import Stat, simulated

__all__ = ["ValidationResult", "run_validation", "FAN_PANELS", "fan_figure", "calibration_of"]

ROOT = Path(__file__).resolve().parents[1]
LEVEL = 0.90
Q = (0.05, 0.5, 0.95)

#: The fan charts: (model outcome, title, unit).
FAN_PANELS = (
    ("hle_male", "Healthy life expectancy, male", "years"),
    ("hle_female", "Healthy life expectancy, female", "years"),
    ("care_home_admissions_65plus_per_100k", "Care-home admissions 65+", "per 100,000 aged 65+"),
    ("delayed_transfers_per_100k", "Delayed transfers of care", "beds a day per 100,000 aged 18+"),
    ("care_quality_good_or_outstanding", "Care homes good or outstanding", "share"),
    ("cumulative_savings_gbp_m", "Savings since 2010", "GBP m a year"),
)


@dataclass
class ValidationResult:
    stats: list[dict]             # one per statistic: observed, model and predictive quantiles, inside
    coverage: dict[str, dict]     # role -> {"inside", "total", "share"}
    runs: list[dict]              # one per run: draw, seed index, seed, params, outcomes or error
    settings: dict


def calibration_of(post: Posterior, calibration: str | os.PathLike[str] | None = None) -> Calibration:
    """The calibration a posterior came from: ``calibration`` if given, else the file in its provenance."""
    if calibration is None:
        rec = (post.provenance.get("calibration") or {}).get("file")
        if not rec:
            raise CalibrationError("the posterior's provenance does not name its calibration file: give --calibration",
                                   os.fspath(post.path) if post.path else None)
        p = Path(rec)
        calibration = p if p.is_absolute() else ROOT / p
    return load_calibration(calibration)


def _job(index: int, loaded: Any, overrides: dict, seed: int, scale: float) -> tuple[dict | None, str | None]:
    return run_model(loaded, overrides, seed, scale)


def _run_all(jobs: list[tuple], workers: int, progress: Callable[[int, int], None] | None,
             scheduler: str | None = None) -> list[tuple]:
    """The runs in this process (one worker, no scheduler), else on the executor (runs/executor.py)."""
    if scheduler is None and (workers <= 1 or len(jobs) <= 1):
        out = []
        for i, j in enumerate(jobs):
            out.append(_job(i, *j))
            if progress:
                progress(i + 1, len(jobs))
        return out
    from runs import executor

    count = [0]

    def finished(i: int, result: Any) -> None:
        count[0] += 1
        if progress:
            progress(count[0], len(jobs))

    with executor.session(min(workers, len(jobs)), scheduler) as client:
        return executor.map_jobs(client, _job, jobs, finished=finished, key="dealsim-validation")


#: Outcomes whose published sampling noise the model simulates itself, and the outcome holding that noise's SE.
SIMULATED_NOISE = {"hle_male": "hle_male_se", "hle_female": "hle_female_se"}


def extra_noise_sd(s: Stat, runs: list[dict]) -> float:
    """Observation noise still to add to a simulated statistic. HLE comes from a simulated survey of realistic
    size, so its sampling error is already in the runs: add only the part of the target's sd beyond it."""
    se_key = SIMULATED_NOISE.get(s.outcome)
    if se_key is None:
        return float(s.sd)
    ses = [r["outcomes"][se_key].get(str(p)) for r in runs if r["outcomes"] for p in s.periods]
    ses = [x for x in ses if x is not None and np.isfinite(x)]
    if not ses:
        return float(s.sd)
    se = float(np.mean(ses)) / (len(s.periods) ** 0.5 if s.measure == "mean" else 1.0)
    return float(np.sqrt(max(s.sd ** 2 - se ** 2, 0.0)))


def _quantiles(v: np.ndarray) -> dict[str, float | None]:
    return quantiles(v, count=False, rnd=None)  # type: ignore[return-value]


def run_validation(cal: Calibration, post: Posterior, *, draws: int = 50, seeds: int = 2, scale: float | None = None,
                   seed: int = 0, workers: int = 1, end: str | None = None,
                   progress: Callable[[int, int], None] | None = None, scheduler: str | None = None) -> ValidationResult:
    """Posterior predictive runs and the statistics of every target (see the module docstring)."""
    missing = [k for k in post.keys if k not in cal.parameters]
    if missing:
        raise CalibrationError(f"the posterior has parameters the calibration does not free ({', '.join(missing)})",
                               os.fspath(cal.path))
    scale = float(scale if scale is not None else post.provenance.get("scale", cal.scale))
    stats = cal.stats("all")
    end = end or cal.targets.end_month("all")
    rng = np.random.default_rng([int(seed), 0])
    chosen = posterior_draws(post, draws, rng)
    jobs, meta = [], []
    for i, params in enumerate(chosen):
        for k in range(seeds):
            s = seed_for(params, salt=f"validate:{i}:{k}")
            jobs.append((cal.loaded, {**params, "time.end": end}, s, scale))
            meta.append({"draw": i, "seed_index": k, "seed": s, "params": params})
    results = _run_all(jobs, workers, progress, scheduler)

    runs: list[dict] = []
    sim = np.full((len(stats), len(jobs)), np.nan)
    for j, ((outcomes, err), m) in enumerate(zip(results, meta)):
        runs.append({**m, "outcomes": outcomes, "error": err})
        if outcomes is not None:
            values = simulated(outcomes, stats)
            sim[:, j] = [values[s.name] for s in stats]
    noise_rng = np.random.default_rng([int(seed), 1])
    sd = np.array([extra_noise_sd(s, runs) for s in stats])[:, None]
    pred = sim + noise_rng.normal(0.0, 1.0, size=sim.shape) * sd

    rows = []
    for i, s in enumerate(stats):
        mq, pq = _quantiles(sim[i]), _quantiles(pred[i])
        inside = None if pq["q05"] is None else bool(pq["q05"] <= s.observed <= pq["q95"])
        finite = pred[i][np.isfinite(pred[i])]
        rows.append({
            "name": s.name, "target": s.target, "role": s.role, "outcome": s.outcome, "measure": s.measure,
            "periods": list(s.periods), "label": s.label, "unit": s.unit, "source": s.source, "sd": s.sd,
            "observed": s.observed, "model": mq, "predictive": pq, "inside": inside,
            "share_below_observed": float(np.mean(finite < s.observed)) if finite.size else None,
            "runs": int(np.isfinite(sim[i]).sum()),
        })
    coverage = {}
    for role in ("holdout", "fit"):
        rr = [r for r in rows if r["role"] == role and r["inside"] is not None]
        k = sum(1 for r in rr if r["inside"])
        coverage[role] = {"inside": k, "total": len(rr), "share": (k / len(rr)) if rr else None}
    settings = {"draws": draws, "seeds": seeds, "scale": scale, "end": end, "seed": seed, "level": LEVEL,
                "runs": len(jobs), "failed_runs": sum(1 for r in runs if r["error"]),
                "noise": "each simulated statistic plus N(0, sd of its target); for healthy life expectancy, whose "
                         "survey sampling noise the model already simulates, only the rest: "
                         "sqrt(sd^2 - (mean simulated survey SE)^2)"}
    return ValidationResult(stats=rows, coverage=coverage, runs=runs, settings=settings)


# ---------------------------------------------------------------------------------------------
# Fan charts
# ---------------------------------------------------------------------------------------------
def fan_figure(result: ValidationResult, stats: Sequence[Stat], path: str | os.PathLike[str], title: str) -> None:
    """Six panels: the simulated series (median, 90% band over runs; lighter: 90% predictive band with the
    target's observation noise), observed fit points (filled) and holdout points (open, red)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from runs.plots import fan, outcome_x

    by_name = {r["name"]: r for r in result.stats}
    ok = [r["outcomes"] for r in result.runs if r["outcomes"] is not None]
    fig = Figure(figsize=(15, 8.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    rng = np.random.default_rng([int(result.settings.get("seed", 0)), 2])
    for ax, (outcome, name, unit) in zip(axes, FAN_PANELS):
        mine = [s for s in stats if s.outcome == outcome]
        periods = sorted({p for o in ok for p in (o.get(outcome) or {})}, key=lambda p: outcome_x(outcome, p) or 0)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=8)
        if periods:
            x = np.array([outcome_x(outcome, p) for p in periods], dtype=float)
            v = np.array([[(o.get(outcome) or {}).get(p, np.nan) for p in periods] for o in ok], dtype=float)
            v = np.where(np.isfinite(v), v, np.nan)
            value_sd = next((extra_noise_sd(s, result.runs) for s in mine if s.measure == "value"), None)
            with np.errstate(all="ignore"):
                if value_sd is not None:
                    noisy = v + rng.normal(0.0, value_sd, size=v.shape)
                    lo, hi = np.nanquantile(noisy, 0.05, axis=0), np.nanquantile(noisy, 0.95, axis=0)
                    ax.fill_between(x, lo, hi, color="#1f77b4", alpha=0.12, linewidth=0,
                                    label=f"90% predictive (added noise sd {value_sd:.2g})")
                lo, med, hi = (np.nanquantile(v, q, axis=0) for q in Q)
            fan(ax, x, med, lo, hi, "#1f77b4", "median of runs", band_label="90% of runs", alpha=0.3, lw=1.6)
        else:
            ax.text(0.5, 0.5, "not reported", transform=ax.transAxes, ha="center", va="center", color="0.5")
        shown = set()
        for s in mine:
            r = by_name.get(s.name)
            fit = s.role == "fit"
            style = dict(color="black", marker="o", markersize=5, linestyle="none") if fit else \
                dict(color="#d62728", marker="D", markersize=5, markerfacecolor="white", linestyle="none",
                     markeredgewidth=1.4)
            lab = ("observed (fit)" if fit else "observed (holdout)")
            if s.measure == "value":
                xs = outcome_x(outcome, s.periods[0])
                ax.plot([xs], [s.observed], **style, zorder=5, label=None if lab in shown else lab)
            else:
                xs = [outcome_x(outcome, p) for p in s.periods]
                xm = float(np.mean(xs))
                ax.hlines(s.observed, min(xs) - 0.4, max(xs) + 0.4, colors=style["color"], linewidth=1.5,
                          linestyles="-" if fit else "--", zorder=5)
                ax.plot([xm], [s.observed], **style, zorder=6, label=None if lab in shown else lab)
                if r and r["predictive"]["q05"] is not None:
                    pq = r["predictive"]
                    ax.errorbar([xm + 0.15], [pq["median"]], yerr=[[pq["median"] - pq["q05"]], [pq["q95"] - pq["median"]]],
                                color="#555555", capsize=3, linewidth=1.2, zorder=4,
                                label=None if "mean" in shown else "90% predictive of the mean")
                    shown.add("mean")
            shown.add(lab)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=110)


def table_rows(result: ValidationResult) -> list[tuple[str, ...]]:
    """(target, role, period, observed, median, 90% interval, inside) as text, fit first then holdout."""
    from math import isfinite

    def f(x: float | None) -> str:
        if x is None or not isfinite(x):
            return "-"
        a = abs(x)
        return format(x, ",.0f" if a >= 1000 else ".1f" if a >= 10 else ".2f")

    out = []
    for r in sorted(result.stats, key=lambda r: (r["role"] != "fit", r["target"], r["label"])):
        p = r["predictive"]
        inside = "-" if r["inside"] is None else ("yes" if r["inside"] else "NO")
        out.append((r["target"], r["role"], r["label"], f(r["observed"]), f(p["median"]),
                    f"[{f(p['q05'])}, {f(p['q95'])}]", inside))
    return out
