"""The whole multi-area calibration: designs, emulators, the fits, and the files that report them.

Two designs from different seeds make two independent calibrations; the first is the reported one, the second
checks that they agree. From the first design's emulators come every other fit: the revised HLE series
(co-primary), the held-out validation, prior sensitivity (widths halved and doubled), the placebos (each control
given the Deal it never had; Wigan given a Deal from 2010 and fitted on data to 2013) and parameter recovery
from data simulated at known values.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from runs.outputs import quantiles

from .area_config import AreaCalibration, load_area_calibration
from .area_design import Design, load_design, merge_designs, recorded_boxes, run_design
from .area_fit import Fit, FitJob, FitSpec, effect_names, fit_emulators, offsets_of, prior_draws, run_fits
from .area_predict import score_holdout
from .area_transfer import leave_one_area_out, loao_specs
from .area_targets import AreaTargets, load_area_targets, transform
from .emulator import Emulator, known_values
from .likelihood import HYPER, block_moments, build_blocks

__all__ = ["calibrate_areas", "analyse", "agreement", "FIT_SERIES", "CONTROLS", "KNOWN_BY"]

COMMON = {"life_expectancy", "care_home_admissions", "still_at_home", "delayed_transfers", "care_quality"}
FIT_SERIES = {"original": COMMON | {"hle_original"}, "revised": COMMON | {"hle_revised"}}
CONTROLS = ("barnsley", "doncaster", "bolton")
PRIMARY_ARMS = {"england": "england", "wigan": "wigan", **{c: c for c in CONTROLS}}
KNOWN_BY = 2018.25   # the validation fit sees what was published by the end of 2017 (ASCOF to 2017/18)
PLACEBO_KNOWN_BY = 2014.0  # the pre-Deal placebo sees data to 2013 only (HLE to 2011-13)
Say = Callable[[str], None]


def _say(s: str) -> None:
    print(s, file=sys.stderr, flush=True)


def _q(x: np.ndarray) -> dict[str, float]:
    return quantiles(x, median="q50", count=False, rnd=None)  # type: ignore[return-value]


def _effects(fit: Fit | np.ndarray, emulators: dict[str, Emulator], arm: str, n_theta: int,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Effect draws (treated arm minus its untreated twin, common random numbers) at the posterior draws (or at
    the parameter sets given), with the emulator's error added so the interval carries it."""
    emu = emulators["effect:" + arm]
    theta = fit if isinstance(fit, np.ndarray) else fit.draws[:, :n_theta]
    out = {}
    for s in effect_names(arm):
        if s in emu.names:
            i = emu.names.index(s)
            out[s] = emu.mean(theta, [s])[:, 0] + np.sqrt(emu.err_var[i]) * rng.standard_normal(len(theta))
    return out


def _summary(x: np.ndarray, stat: str = "") -> dict[str, float | None]:
    """Quantiles, P(> 0) and P(harm): harm is a change in the outcome's worse direction (outcomes registry)."""
    from model.outcomes import REGISTRY

    o = REGISTRY.get(stat.split("[")[0])
    harm = None if o is None or o.better == 0 else float(np.mean(x * o.better < 0))
    return {**_q(x), "p_positive": float(np.mean(x > 0)), "p_harm": harm}


def _widths(cal: AreaCalibration, fit: Fit) -> dict[str, dict[str, float]]:
    out = {}
    for i, k in enumerate(cal.keys):
        lo, hi = cal.priors[k].scaled(fit.spec.prior_scale).interval90(cal.boxes[k])
        q = _q(fit.draws[:, i])
        out[k] = {"prior_q05": lo, "prior_q95": hi, **q, "width_ratio": float((q["q95"] - q["q05"]) / (hi - lo))}
    return out


def _diagnostics(fit: Fit) -> dict[str, Any]:
    trace = fit.logp_trace
    bess = fit.batch_ess()
    return {"ess": fit.ess, "ess_batch_means_min": float(np.min(bess)),
            "ess_batch_means": {k: float(v) for k, v in zip(fit.keys, bess)},
            "max_autocorrelation_time": float(np.max(fit.tau)), "acceptance": fit.acceptance,
            "log_posterior_by_tenth_of_chain": trace,
            "levelled_off": bool(abs(trace[-1] - trace[-3]) < 1.0), **fit.info}


def _decomposition(fit: Fit, emulators: dict[str, Emulator], cal: AreaCalibration, n_theta: int,
                   first: str, last: str) -> dict[str, Any]:
    """Wigan's modelled change in true HLE between two periods split into the Deal, devolution and the national
    trend: each factor is the change with it minus the change with it switched off (at each posterior draw)."""
    theta = fit.draws[:, :n_theta].copy()
    nd = emulators["wigan_no_deal"]
    eff = emulators["effect:wigan"]
    out: dict[str, Any] = {}
    for sex in ("male", "female"):
        a, b = f"hle_{sex}_true[{first}]", f"hle_{sex}_true[{last}]"
        if a not in nd.names or b not in nd.names:
            continue

        def change(th: np.ndarray) -> np.ndarray:
            m = nd.mean(th, [a, b])
            return m[:, 1] - m[:, 0]

        base = change(theta)
        parts = {}
        for key, label in (("context.devolution_frailty", "devolution"), ("context.national_frailty_trend",
                                                                          "national_trend")):
            if key not in cal.keys:
                continue
            th = theta.copy()
            th[:, cal.keys.index(key)] = 0.0
            parts[label] = base - change(th)
        deal_b = eff.mean(theta, [b])[:, 0] if b in eff.names else np.zeros(len(theta))
        deal_a = eff.mean(theta, [a])[:, 0] if a in eff.names else np.zeros(len(theta))
        parts["deal"] = deal_b - deal_a
        total = base + parts["deal"]
        out[sex] = {"modelled_change": _q(total), **{k: _q(v) for k, v in parts.items()},
                    "share_of_median_change": {k: float(np.median(v) / np.median(total)) if abs(np.median(total)) > 1e-9
                                               else None for k, v in parts.items()}}
    return out


def _recovery_data(cal: AreaCalibration, targets: AreaTargets, truth: dict[str, float], scale: float, seed: int,
                   arms: dict[str, str], series: set[str], hyper: dict[str, float], rng: np.random.Generator
                   ) -> dict[str, float]:
    """Figures simulated at known parameter values: one model run per area, then the observation model's area
    terms and noise drawn at the stated hyperparameters."""
    from .area_design import flatten
    from .simulation import run_model

    obs = targets.select(series=series, areas=set(arms))
    out = {}
    for area, arm_name in arms.items():
        arm = cal.arms[arm_name]
        res, why = run_model(arm.loaded, {**arm.overrides, **truth}, seed, scale)
        if res is None:
            raise RuntimeError(f"recovery run of {arm_name} failed: {why}")
        flat = flatten(res)
        mine = [o for o in obs if o.area == area]
        # The run's values stand where the emulator's would, so the observation model's covariance is the fit's own.
        vals = np.array([float(transform(o.kind, flat[o.stat])) for o in mine])
        b = build_blocks(targets, mine, {area: "run"}, {"run": known_values(cal.keys, [o.stat for o in mine])})[0]
        hy = {h: np.array([hyper[h]]) for h in HYPER}
        mu, cov = block_moments(b, vals[None, :], hy, {})
        z = rng.multivariate_normal(mu[0], cov[0])
        for o, zi in zip(b.obs, z):
            out[f"{o.stat}@{o.area}"] = float(zi)
    return out


def refined_boxes(cal: AreaCalibration, emulators: dict[str, Emulator], targets: AreaTargets, *,
                  quick: bool = False, workers: int = 1) -> dict[str, tuple[float, float]]:
    """Stage 2's boxes: the central `refine.quantiles` of the stage-1 posteriors (both HLE series, prior widths
    doubled, so every later fit stays inside), each side moved out by `refine.widen` of the width, clipped to the
    design box."""
    assert cal.refine is not None
    q_lo, q_hi = cal.refine.quantiles
    lo_q: dict[str, float] = {}
    hi_q: dict[str, float] = {}
    kw = {"steps": 150, "draws": 300} if quick else {"steps": 2000, "draws": 4000}
    jobs = [FitJob(FitSpec(f"refocus_{series}", FIT_SERIES[series], PRIMARY_ARMS, prior_scale=2.0,
                           seed=cal.fit.seed + 60), 0, 0, tuple(sorted(kw.items())))
            for series in ("original", "revised")]
    for f in run_fits(jobs, {0: cal}, targets, {0: emulators}, workers):
        for i, k in enumerate(cal.keys):
            a, b = np.quantile(f.draws[:, i], [q_lo, q_hi])
            lo_q[k], hi_q[k] = min(lo_q.get(k, a), a), max(hi_q.get(k, b), b)
    boxes = {}
    for k in cal.keys:
        c, h = (hi_q[k] + lo_q[k]) / 2, (hi_q[k] - lo_q[k]) / 2 * (1 + cal.refine.widen)
        lo, hi = cal.boxes[k]
        boxes[k] = (float(max(lo, c - h)), float(min(hi, c + h)))
    return boxes


def _prior_effects(cal0: AreaCalibration, stage1: Design, targets: AreaTargets, rng: np.random.Generator,
                   n: int = 4000) -> dict[str, Any]:
    """The Deal's effect under the priors alone: the stage-1 design covers the whole design box, which holds every
    prior, so its emulator is valid there (the final one is fitted on the refined box only). Set beside the
    posterior's, it shows how far the data moved the answer; a placebo with nothing to learn returns about this."""
    emu = fit_emulators(cal0, stage1, targets, select_parameters=False)
    eff = _effects(prior_draws(cal0, n, rng), emu, "wigan", len(cal0.keys), rng)
    return {"effects": {k: _summary(v, k) for k, v in eff.items()}, "draws": n,
            "emulator": "full quadratic on the stage-1 design (the whole design box)"}


def analyse(cal0: AreaCalibration, cals: dict[int, AreaCalibration], designs: dict[int, Design],
            targets: AreaTargets, *, say: Say = _say, quick: bool = False, recovery_scale: float = 0.2,
            select_parameters: bool = False, stage1: Design | None = None, workers: int = 1) -> dict[str, Any]:
    """Every fit and every report, as plain dicts (written to files by `calibrate_areas`). `cal0` states the
    priors (their widths are measured in its design box); `cals[seed]` is each calibration's final stage.
    `select_parameters`: emulators that keep only the parameters each statistic depends on (emulator.select), an
    experiment that made the posterior overconfident (docs/calibration.md); full quadratics by default. `workers`:
    processes for the fits (the same draws on any number)."""
    seeds = sorted(designs)
    main_seed = seeds[0]
    cal = cals[main_seed]
    n_theta = len(cal.keys)
    kw = {"walkers": 64, "steps": 150, "draws": 300} if quick else {}
    rng = np.random.default_rng(cal.fit.seed)
    t0 = time.monotonic()
    emus = {s: fit_emulators(cals[s], designs[s], targets, select_parameters=select_parameters) for s in seeds}
    say(f"emulators fitted ({time.monotonic() - t0:.1f} s)")
    emu = emus[main_seed]
    report: dict[str, Any] = {"emulator": {}}
    for arm, e in emu.items():
        report["emulator"][arm] = {"points": e.n_points, "statistics": len(e.names),
                                   "median_cv_r2": float(np.median(e.cv_r2)) if len(e.names) else None,
                                   "min_cv_r2": float(np.min(e.cv_r2)) if len(e.names) else None,
                                   "median_error_sd": float(np.median(np.sqrt(e.err_var))) if len(e.names) else None,
                                   "parameters_kept": ({n: a for n, a in zip(e.names, e.active)}
                                                       if e.active is not None else None)}

    # Every fit that depends on nothing but the emulators, run first (in parallel on `workers` processes); each
    # draws only from its own seeded generators, so the results are the same on any number of workers.
    specs: dict[str, tuple[FitSpec, int, bool]] = {}   # name -> (spec, design seed, headline fit)
    for series in ("original", "revised"):
        specs[f"primary_{series}"] = (FitSpec(f"primary_{series}", FIT_SERIES[series], PRIMARY_ARMS,
                                              seed=cal.fit.seed), main_seed, True)
    for s in seeds[1:]:
        specs[f"replicate_seed{s}"] = (FitSpec(f"replicate_seed{s}", FIT_SERIES["original"], PRIMARY_ARMS,
                                               seed=cal.fit.seed + s), s, True)
    for factor in (0.5, 2.0):
        specs[f"prior_x{factor:g}"] = (FitSpec(f"prior_x{factor:g}", FIT_SERIES["original"], PRIMARY_ARMS,
                                               prior_scale=factor, seed=cal.fit.seed + 10), main_seed, False)
    for c in CONTROLS:
        arms = {"england": "england", **{o: o for o in CONTROLS if o != c}, c: f"{c}_deal"}
        specs[f"placebo_{c}"] = (FitSpec(f"placebo_{c}", FIT_SERIES["original"], arms, seed=cal.fit.seed + 20),
                                 main_seed, False)
    arms = {"england": "england", "wigan": "wigan_deal_2010", **{c: c for c in CONTROLS}}
    specs["placebo_wigan_2010"] = (FitSpec("placebo_wigan_2010", FIT_SERIES["original"], arms,
                                           known_by=PLACEBO_KNOWN_BY, seed=cal.fit.seed + 30), main_seed, False)
    for series in ("original", "revised"):
        specs[f"validation_{series}"] = (FitSpec(f"validation_{series}", FIT_SERIES[series], PRIMARY_ARMS,
                                                 known_by=KNOWN_BY, seed=cal.fit.seed + 40), main_seed, False)
    loao = loao_specs(FIT_SERIES["original"], PRIMARY_ARMS, CONTROLS, seed=cal.fit.seed)
    for area, spec in loao.items():
        specs[spec.name] = (spec, main_seed, False)

    def settings(primary: bool) -> tuple[tuple[str, int], ...]:
        more = {"walkers": cal.fit.primary_walkers} if primary and not quick else {}
        return tuple(sorted({**kw, **more}.items()))

    def run_all(named: dict[str, tuple[FitSpec, int, bool]]) -> dict[str, Fit]:
        t = time.monotonic()
        jobs = [FitJob(spec, key, key, settings(primary)) for spec, key, primary in named.values()]
        done = dict(zip(named, run_fits(jobs, cals, targets, emus, workers)))
        for name, f in done.items():
            say(f"fit {name}: ESS {f.ess:.0f} (batch means {np.min(f.batch_ess()):.0f}), acceptance "
                f"{f.acceptance:.2f}")
        say(f"{len(done)} fits on {min(workers, len(done))} process(es) ({time.monotonic() - t:.1f} s)")
        return done

    fits: dict[str, Fit] = run_all(specs)
    loao_fits = {area: fits.pop(spec.name) for area, spec in loao.items()}

    # Attribution: the Deal's effect under each series.
    attribution: dict[str, Any] = {}
    for series in ("original", "revised"):
        f = fits[f"primary_{series}"]
        eff = _effects(f, emu, "wigan", n_theta, rng)
        attribution[series] = {
            "effects": {k: _summary(v, k) for k, v in eff.items()},
            "decomposition_2009_11_to_2017_19": _decomposition(f, emu, cal, n_theta, "2009-11", "2017-19"),
            "parameters": {k: _q(f.draws[:, i]) for i, k in enumerate(cal.keys)},
            "hyper": {h: _q(f.column(h)) for h in HYPER},
            "offsets": {o: _q(f.column(o)) for o in offsets_of(f.spec)}}
    if stage1 is not None:
        attribution["prior"] = _prior_effects(cal0, stage1, targets, np.random.default_rng(cal.fit.seed + 90))
    report["attribution"] = attribution

    # Agreement of the two independent calibrations.
    if len(seeds) > 1:
        report["agreement"] = agreement(cal, fits["primary_original"], fits[f"replicate_seed{seeds[1]}"], emu,
                                        emus[seeds[1]], seeds[:2], rng)

    # Prior sensitivity: widths halved and doubled.
    sens: dict[str, Any] = {}
    for factor in (0.5, 2.0):
        f = fits[f"prior_x{factor:g}"]
        eff = _effects(f, emu, "wigan", n_theta, rng)
        sens[f"x{factor:g}"] = {k: _summary(v, k) for k, v in eff.items() if "true" in k}
    sens["x1"] = {k: v for k, v in attribution["original"]["effects"].items() if "true" in k}
    report["prior_sensitivity"] = sens

    # Placebos.
    placebos = []
    for c in CONTROLS:
        f = fits[f"placebo_{c}"]
        eff = _effects(f, emu, f"{c}_deal", n_theta, rng)
        for stat, v in eff.items():
            if stat.startswith("hle_") and "_true" in stat:
                placebos.append({"area": c, "kind": "control area", "outcome": stat.split("[")[0],
                                 "period": stat.split("[")[1].rstrip("]"), **_q(v),
                                 "p_positive": float(np.mean(v > 0))})
    f = fits["placebo_wigan_2010"]
    eff = _effects(f, emu, "wigan_deal_2010", n_theta, rng)
    for stat, v in eff.items():
        placebos.append({"area": "wigan", "kind": "pre-Deal window", "outcome": stat.split("[")[0],
                         "period": stat.split("[")[1].rstrip("]"), **_q(v), "p_positive": float(np.mean(v > 0))})
    report["placebo"] = {"placebos": placebos,
                         "hle_intervals_cover_zero": sum(p["q05"] <= 0 <= p["q95"] for p in placebos),
                         "hle_intervals": len(placebos)}

    # Held-out validation with proper scores.
    validation: dict[str, Any] = {}
    for series in ("original", "revised"):
        f = fits[f"validation_{series}"]
        held = targets.select(series=FIT_SERIES[series], areas=set(PRIMARY_ARMS), after=KNOWN_BY)
        rows = score_holdout(f, targets, emu, held, n_theta, seed=cal.fit.seed)
        validation[series] = {"rows": rows, "summary": _score_summary(rows)}
    report["validation"] = validation

    # Leave one control area out: its business-as-usual projection from its baseline alone (calibration of a new
    # council's kind), scored on its later figures.
    t = time.monotonic()
    report["leave_one_area_out"] = {
        series: leave_one_area_out(cal, targets, emu, FIT_SERIES[series], PRIMARY_ARMS, CONTROLS, seed=cal.fit.seed,
                                   fits=loao_fits) for series in ("original",)}
    say(f"leave one area out ({time.monotonic() - t:.1f} s)")

    # Parameter recovery at known values.
    recovery = []
    truths = _recovery_truths(cal, fits["primary_original"])
    hyper_true = {h: float(np.median(fits["primary_original"].column(h))) for h in HYPER}
    data = [_recovery_data(cal, targets, truth, recovery_scale, 10_000 + i, PRIMARY_ARMS, FIT_SERIES["original"],
                           hyper_true, rng) for i, truth in enumerate(truths)]
    fits.update(run_all({f"recovery_{i}": (FitSpec(f"recovery_{i}", FIT_SERIES["original"], PRIMARY_ARMS,
                                                    observed=d, seed=cal.fit.seed + 50 + i), main_seed, False)
                         for i, d in enumerate(data)}))
    for i, truth in enumerate(truths):
        f = fits[f"recovery_{i}"]
        rows = {}
        for j, k in enumerate(cal.keys):
            q = _q(f.draws[:, j])
            rows[k] = {"true": truth[k], **q, "inside90": bool(q["q05"] <= truth[k] <= q["q95"]),
                       "width_ratio": _widths(cal0, f)[k]["width_ratio"]}
        eff_true = None
        recovery.append({"truth": i, "scale": recovery_scale, "parameters": rows, "effect_true": eff_true})
    report["recovery"] = recovery
    report["fits"] = {name: {"diagnostics": _diagnostics(f), "widths": _widths(cal0, f)} for name, f in fits.items()}
    report["boxes"] = {str(s): cals[s].boxes for s in seeds}
    report["_fits"] = fits
    report["_emulators"] = emus
    return report


def agreement(cal: AreaCalibration, a: Fit, b: Fit, emu_a: dict[str, Emulator], emu_b: dict[str, Emulator],
              seeds: list[int], rng: np.random.Generator) -> dict[str, Any]:
    """Do two independent calibrations (two design seeds) agree? Each shared parameter's posterior medians apart,
    in the smaller posterior SD of the two (issue 11 asks for at most 0.25), and the Deal's effects under each."""
    rows = {}
    for i, k in enumerate(cal.keys):
        ma, mb = np.median(a.draws[:, i]), np.median(b.draws[:, i])
        sd = min(np.std(a.draws[:, i]), np.std(b.draws[:, i]))
        rows[k] = {"median_a": float(ma), "median_b": float(mb), "sd": float(sd),
                   "difference_in_sd": float(abs(ma - mb) / sd) if sd > 0 else 0.0}
    out: dict[str, Any] = {"seeds": list(seeds), "parameters": rows,
                           "all_within_0.25_sd": bool(all(r["difference_in_sd"] <= 0.25 for r in rows.values()))}
    n_theta = len(cal.keys)
    ea, eb = _effects(a, emu_a, "wigan", n_theta, rng), _effects(b, emu_b, "wigan", n_theta, rng)
    out["effects"] = {k: {"a": _q(ea[k]), "b": _q(eb[k])} for k in ea if k in eb and "true" in k}
    return out


def _recovery_truths(cal: AreaCalibration, post: Fit) -> list[dict[str, float]]:
    """Known values to recover: the posterior median with the Deal's self-help effect at none, at benefit and
    at harm (the other values at the median)."""
    med = {k: float(np.median(post.draws[:, i])) for i, k in enumerate(cal.keys)}
    out = []
    for w in (0.0, 0.15, -0.1):
        t = dict(med)
        t["health.w_self_help"] = w
        out.append(t)
    return out


def _score_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        kind = r["stat"].split("[")[0]
        kind = "hle" if kind.startswith("hle") else "le" if kind.startswith("le_") else kind
        groups.setdefault(kind, []).append(r)
    for kind, rs in groups.items():
        g: dict[str, Any] = {"n": len(rs), "inside90": sum(r["model"]["inside90"] for r in rs),
                             "model_crps": float(np.mean([r["model"]["crps"] for r in rs])),
                             "model_interval_score": float(np.mean([r["model"]["interval_score"] for r in rs]))}
        base = [r for r in rs if "persistence" in r]
        if base:
            g["n_with_baselines"] = len(base)
            for who in ("model", "persistence", "linear_trend"):
                g[f"{who}_crps_where_baselines"] = float(np.mean([r[who]["crps"] for r in base]))
                g[f"{who}_interval_score_where_baselines"] = float(np.mean([r[who]["interval_score"] for r in base]))
            g["model_beats_persistence_crps"] = g["model_crps_where_baselines"] < g["persistence_crps_where_baselines"]
        out[kind] = g
    return out


def calibrate_areas(path: str | Path, *, out: Path | None = None, results: Path | None = None,
                    workers: int | None = None, scheduler: str | None = None, fresh: bool = False,
                    seeds: tuple[int, ...] | None = None, limit: int | None = None, quick: bool = False,
                    recovery_scale: float = 0.2, recheck: int = 0, select_parameters: bool = False,
                    say: Say = _say) -> dict[str, Path]:
    """Run (or resume) the designs, then every fit; write the posterior and the reports. Returns what was written.

    `out` holds the design files (default results/calibration_areas); `results` is where the reports go (default
    the calibration folder: posterior/, experiments/, validation/). `recheck` N keeps design files made under
    another hash if every arm at N of their points reruns identically (area_design.run_design)."""
    from runs.outputs import jsonable, write_file
    from runs.provenance import environment

    cal = load_area_calibration(path)
    cal.check_emulable(limit)
    targets = load_area_targets(cal.targets_path)
    out = out or Path("results") / "calibration_areas"
    seeds = seeds or (cal.seed,)
    designs, cals = {}, {}
    stage1: Design | None = None  # the main seed's: the prior's effect is emulated from it
    t0 = time.monotonic()
    for s in seeds:
        c = cal.with_seed(s)
        p = run_design(c, out, workers=workers, scheduler=scheduler, fresh=fresh, limit=limit, recheck=recheck,
                       say=say)
        d = load_design(c, p)
        stage1 = stage1 or d
        if c.refine is not None:
            boxes = None if fresh else recorded_boxes(c, out)
            if boxes is None:  # found with full quadratics, so the design does not depend on the analysis's emulator
                boxes = refined_boxes(c, fit_emulators(c, d, targets, select_parameters=False), targets, quick=quick,
                                      workers=workers or os.cpu_count() or 1)
            say(f"seed {s}: stage 2 over the refined box (" + ", ".join(
                f"{k.split('.')[-1]} {lo:.3g}-{hi:.3g}" for k, (lo, hi) in boxes.items()) + ")")
            c2 = c.refined(boxes)
            p2 = run_design(c2, out, workers=workers, scheduler=scheduler, fresh=fresh,
                            limit=None if limit is None else max(2, limit), recheck=recheck, say=say)
            d, c = merge_designs(d, load_design(c2, p2), boxes), c2
        designs[s], cals[s] = d, c
    design_s = time.monotonic() - t0
    t1 = time.monotonic()
    report = analyse(cal, cals, designs, targets, say=say, quick=quick, recovery_scale=recovery_scale,
                     select_parameters=select_parameters, stage1=stage1, workers=workers or os.cpu_count() or 1)
    analysis_s = time.monotonic() - t1
    base = results or cal.path.parent
    fits: dict[str, Fit] = report["_fits"]
    prov = {"command_line": " ".join(sys.argv), "fit_seed": cal.fit.seed, "design_seeds": list(seeds),
            "targets": str(cal.targets_path.name), **environment(cal.path.parent.parent)}
    meta = {"calibration": str(cal.path.name), "calibration_sha256": cal.sha256,
            "boxes": {str(s): c.boxes for s, c in cals.items()}, "design_points": {
        str(s): d.size for s, d in designs.items()}, "design_run_seconds": {str(s): d.run_seconds for s, d in
                                                                         designs.items()},
        "design_wall_seconds": design_s, "analysis_seconds": analysis_s, "scale": cal.scale,
        "emulator_kind": "parameters selected per series" if select_parameters else "full quadratic",
        "provenance": prov}
    written: dict[str, Path] = {}
    from .posterior_io import area_terms_path, write_posterior

    for series in ("original", "revised"):
        f = fits[f"primary_{series}"]
        name = "areas" if series == "original" else "areas_revised"
        pj = {**meta, "fit": f"primary_{series}", "series": series, "keys": cal.keys,
              "diagnostics": _diagnostics(f), "widths": _widths(cal, f),
              "hyper": {h: _q(f.column(h)) for h in HYPER}, "offsets": {o: _q(f.column(o)) for o in offsets_of(f.spec)},
              "method": "quadratic emulator + emcee (docs/calibration.md)"}
        p, _ = write_posterior(base / "posterior" / f"{name}.csv", cal.keys, f.draws[:, :len(cal.keys)],
                               np.ones(len(f.draws)), jsonable(pj))
        written[name] = p
        extra = [k for k in f.keys[len(cal.keys):]]
        pt, _ = write_posterior(area_terms_path(p), extra, f.draws[:, len(cal.keys):], np.ones(len(f.draws)),
                                jsonable({**meta, "fit": f"primary_{series}", "rows_of": p.name,
                                          "what": "the area terms' spreads and the noise parameters of each row of "
                                                  f"{p.name} (calibration/likelihood.py); read by assessments"}))
        written[f"{name}_area_terms"] = pt
    files = {"experiments/attribution.json": {"method": "multi-area", **meta, **jsonable(report["attribution"])},
             "experiments/placebo.json": jsonable(report["placebo"]),
             "experiments/prior_sensitivity.json": jsonable(report["prior_sensitivity"]),
             "experiments/recovery_areas.json": {"method": "multi-area", "recovery": jsonable(report["recovery"])},
             "validation/areas.json": {**meta, **jsonable(report["validation"])},
             "validation/leave_one_area_out.json": {**meta, **jsonable(report["leave_one_area_out"])},
             "posterior/areas_report.json": {**meta, "emulator": report["emulator"],
                                             "agreement": jsonable(report.get("agreement")),
                                             "fits": jsonable(report["fits"])}}
    for rel, data in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(jsonable(data), indent=1, allow_nan=False) + "\n"
        write_file(p, lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
        written[rel] = p
    return written
