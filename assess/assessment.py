"""\"Would the Deal work here?\": an assessment for one council.

For a council file (:mod:`assess.council`) this runs business as usual (``deal.enabled: false``) and the Deal as the
council plans it, over parameter sets drawn from the calibrated Wigan posterior x seeds, with common random numbers
(the same seed for both arms of a draw), from the council's baseline (``time.start``) to ``time.end``; then it
summarises both arms and their differences and writes ``assessment.json``, ``report.md`` and fan charts.

Steps (each a function, so tests and the command line share them):

1. :func:`prepare` - the council, the variant (``--start``, ``--fidelity``, ``--investment``, ``--set``), the
   posterior draws transferred to this council (:func:`transfer_draw`) and the baseline match
   (:func:`match_baseline`); returns a :class:`Plan` whose ``jobs`` are (loaded scenario, seed) pairs.
2. run the jobs (:func:`run_serial` here; ``simulate.py assess`` uses its parallel pool).
3. :func:`summarise` - ``assessment.json``'s content: quantiles over draws x seeds, effects, net savings, payback.
4. :func:`write_outputs` - the files, into a folder the caller made (atomic in ``simulate.py``).

**Transferring Wigan's posterior to another council.** A draw holds the Deal's mechanism strengths and the
confounders (estimated on Wigan), which are applied as they are, and a few parameters that stand for Wigan's own
level of something. Those are transferred: the good-health thresholds and modal ages of death get the council's
*offset* (found by :func:`match_baseline`), so each draw keeps its own spread around the council's baseline; a
money input the council did not give is scaled by the draw's ratio to Wigan's default; any input the council's
file sets itself is kept (the council's own figure wins over Wigan's estimate of Wigan's figure).

**Sampling noise of the published statistics.** Healthy life expectancy is measured in the model from a simulated
survey of realistic size, so its runs already carry survey noise. For every outcome with an observation noise in
``calibration/targets/wigan.yaml`` (``sd``), each arm's interval is widened by independent normal noise of SD
``sqrt(max(0, sd^2 - v))``, where ``v`` is the seed-to-seed variance the model itself produced (pooled within
draws): the arm's spread is then at least the published figure's own noise. Effects (Deal minus business as usual,
per draw and seed) carry no added noise: they are about the true difference, not about two published figures.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from assess import appraisal as G
from assess import area_terms as AT
from assess.council import MODEL_PRICE_YEAR, PER_HEAD_KEYS, Council, load_council
from assess.prospective import EXTRAPOLATION, MAX_HORIZON, is_prospective, prospect
from model.adoption import first_deal_year, shifted_timeline
from model.outcomes import REGISTRY
from model.parameters import Scenario, month_index
from model.scenario import ScenarioError, apply_overrides
from runs.outputs import quantiles

__all__ = ["Settings", "Plan", "prepare", "match_baseline", "transfer_draw", "run_serial", "summarise",
           "write_outputs", "OUTCOMES", "DEFAULTS", "assess", "assess_to_folder"]

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "calibration" / "targets" / "wigan.yaml"

DEFAULTS = {"draws": 40, "seeds": 2, "scale": 0.1}

# Outcomes reported for both arms (the registry's, but the survey's standard errors and the workforce), with the
# direction that is a gain for residents (+1 higher is better); derived money lines have labels of their own.
OUTCOMES = {n: o.better for n, o in REGISTRY.items() if o.better}
LABELS = {
    **{n: (REGISTRY[n].label, REGISTRY[n].unit) for n in OUTCOMES},
    "cumulative_net_savings_gbp_m": ("cumulative net savings of the Deal, after its investment", "GBP m"),
    "cumulative_investment_gbp_m": ("cumulative upfront investment (fund, care-home fund, training)", "GBP m"),
    "cumulative_tax_forgone_gbp_m": ("cumulative council tax forgone by the freeze", "GBP m"),
    "cumulative_care_savings_gbp_m": ("cumulative savings on care (home care, care homes, reablement)", "GBP m"),
}
NOISE_REPLICATES = 20
BOUNDS = {n: (o.lower, o.upper) for n, o in REGISTRY.items() if n in OUTCOMES and o.unit != "years"}
CARE_LINES = ("spend_home_care_gbp_m", "spend_care_homes_gbp_m", "spend_reablement_gbp_m")
# Each care line's unit cost and the field of council.appraisal.unit_cost_price_years that gives its price year.
CARE_LINE_COST = {"spend_home_care_gbp_m": "home_care", "spend_care_homes_gbp_m": "care_home",
                  "spend_reablement_gbp_m": "reablement"}
INVEST_LINES = ("spend_community_fund_gbp_m", "spend_care_home_fund_gbp_m", "spend_training_gbp_m")
THRESHOLD = {"male": "health.threshold_male", "female": "health.threshold_female"}
MODAL = {"male": "mortality.modal_age_male", "female": "mortality.modal_age_female"}


@dataclass
class Settings:
    draws: int = DEFAULTS["draws"]
    seeds: int = DEFAULTS["seeds"]
    scale: float = DEFAULTS["scale"]
    start: int | None = None              # year the Deal starts (its whole timeline shifted); None: as planned;
                                          # after the observed years (2020): a prospective assessment
    horizon: int | None = None            # last simulated year (prospective default 2040; retrospective: the file's)
    fidelity: float | None = None         # deal.fidelity
    investment: float | None = None       # deal.fund_gbp_m (community investment fund, GBP m)
    sets: Sequence[tuple[str, Any]] = ()  # extra overrides (dotted key, value), both arms
    posterior: str | os.PathLike[str] | None = None  # None: calibration/posterior/areas.csv (multi-area)
    seed: int = 0                         # base seed: draws, seeds and noise all follow from it
    match_scale: float = 0.5
    match_seeds: int = 2
    sensitivity: bool = True


@dataclass
class Plan:
    council: Council
    settings: Settings
    deal: Any                             # LoadedScenario of the Deal arm (variant applied, no draw)
    bau: Any                              # LoadedScenario of business as usual
    draws: list[dict[str, float]]         # transferred draws (before offsets)
    posterior_info: dict[str, Any]
    match: dict[str, Any]
    jobs: list[tuple[Any, int]]           # (loaded scenario, seed)
    keys: list[tuple[str, int, int]]      # (arm, draw, seed index) of each job
    seeds: list[int]
    sens_jobs: list[tuple[Any, int]] = field(default_factory=list)
    sens_keys: list[tuple[str, str, int]] = field(default_factory=list)  # (input label, arm, seed index)
    variant: dict[str, Any] = field(default_factory=dict)
    area_terms: list[dict[str, float]] | None = None  # per draw: the area terms' spreads (multi-area posterior)
    prospect: Any = None                  # assess.prospective.Prospect of a prospective assessment, else None
    baseline_period: str = ""             # the period the council's baseline figures describe
    baseline_figures: dict[str, tuple[str, float]] = field(default_factory=dict)  # outcome -> (period, own figure)


# ---------------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------------
def variant_overrides(council: Council, s: Settings) -> dict[str, Any]:
    """--start, --fidelity, --investment as dotted overrides of the Deal arm (validated by apply_overrides)."""
    d = council.loaded.scenario.deal
    out: dict[str, Any] = {}
    if s.start is not None:
        dy = int(s.start) - first_deal_year(d)
        t0, t1 = (month_index(council.loaded.scenario.time.start) // 12, month_index(council.loaded.scenario.time.end) // 12)
        if not t0 <= s.start <= t1:
            raise ScenarioError(f"the Deal can start only within the simulated years {t0}-{t1}, got {s.start}",
                                "--start")
        out.update(shifted_timeline(d, dy))
    if s.fidelity is not None:
        out["deal.fidelity"] = s.fidelity
    if s.investment is not None:
        out["deal.fund_gbp_m"] = s.investment
    return out


# ---------------------------------------------------------------------------------------------
# Posterior
# ---------------------------------------------------------------------------------------------
AREAS_POSTERIOR = ROOT / "calibration" / "posterior" / "areas.csv"
AREAS_REVISED = ROOT / "calibration" / "posterior" / "areas_revised.csv"  # prospective: the revised HLE series


def _load_posterior(s: Settings) -> tuple[Any, Any, dict[str, Any]]:
    """(posterior, its area terms or None, what to report). The default is the multi-area calibration's."""
    from calibration.posterior_io import area_terms_path, load_posterior
    from model.yamlfile import InputError as CalibrationError

    path = s.posterior
    if path is None:
        if not AREAS_POSTERIOR.is_file():
            return None, None, {"file": None, "note": "no calibrated posterior found (calibration/posterior/areas.csv): "
                                                      "the scenario's own parameter values were used, so the intervals "
                                                      "show chance (seeds) only, not uncertainty about the mechanisms"}
        path = AREAS_POSTERIOR
    try:
        post = load_posterior(path)
        tp = area_terms_path(post.path)
        terms = load_posterior(tp) if tp.is_file() else None
    except CalibrationError as exc:
        raise ScenarioError(str(exc), "--posterior") from None
    if terms is not None and len(terms) != len(post):
        raise ScenarioError(f"{tp} has {len(terms)} rows but {post.path} has {len(post)}: they must be written "
                            f"together (calibrate-areas)", "--posterior")
    info = {"file": os.fspath(post.path), "particles": len(post), "ess": round(post.ess(), 1),
            "parameters": list(post.keys),
            "area_terms": os.fspath(tp) if terms is not None else None}
    return post, terms, info


def transfer_draw(draw: Mapping[str, float], council: Council) -> dict[str, float]:
    """A Wigan posterior draw made applicable to this council (see the module docstring)."""
    ref = Scenario().model_dump(mode="json")
    res = council.loaded.resolved
    out: dict[str, float] = {}
    for key, value in draw.items():
        if key in THRESHOLD.values() or key in MODAL.values():
            out[key] = float(value)  # offsets added later
            continue
        if key in council.local_keys:
            continue  # the council's own figure
        if key in PER_HEAD_KEYS:
            sec, name = key.split(".")
            wigan = float(ref[sec][name])
            mine = float(res[sec][name])
            v = mine * float(value) / wigan if wigan else mine
            out[key] = int(round(v)) if key == "finance.workforce_baseline" else v
            continue
        out[key] = float(value)
    return out


def _mean_draw(post: Any, council: Council) -> dict[str, float]:
    return transfer_draw(post.mean(), council) if post is not None else {}


# ---------------------------------------------------------------------------------------------
# Baseline match
# ---------------------------------------------------------------------------------------------
_MATCH_CACHE: dict[tuple, dict[str, Any]] = {}


def _baseline_runs(loaded: Any, params: Mapping[str, float], scale: float, seeds: Sequence[int],
                   end: str, base_dir: Path) -> dict[str, float]:
    from runs.single import run_one

    over = {**params, "deal.enabled": False, "time.end": end, "observation.survey_per_year": 20000}
    lo = apply_overrides(loaded, over, source="baseline match")
    acc: dict[str, list[float]] = {}
    for seed in seeds:
        oc = run_one(lo.scenario, seed, scale, base_dir=base_dir).outcomes
        for k in ("hle_male", "hle_female", "le_male", "le_female"):
            v = next(iter(oc.get(k, {}).values()), None)
            if v is not None:
                acc.setdefault(k, []).append(float(v))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def match_baseline(council: Council, ref: Mapping[str, float], scale: float = 0.5, n_seeds: int = 2,
                   seed: int = 0, tol: float = 0.15, max_iter: int = 3) -> dict[str, Any]:
    """Offsets to the good-health thresholds (and modal ages of death, if the council gave a baseline LE) so that
    the model's baseline-period HLE (LE) equals the council's, at the reference parameters ``ref`` (the
    posterior mean). A secant search on short runs (baseline period only, 20,000 survey respondents a year, the
    mean of ``n_seeds`` seeds): HLE moves about 19 years per SD of threshold, LE about 0.9 years per year of
    modal age. Cached per council, reference and settings within the process."""
    loaded = council.loaded
    sc = loaded.scenario
    y0 = month_index(sc.time.start) // 12
    end = f"{y0 + 2}-12"
    key = (loaded.sha256, tuple(sorted(ref.items())), scale, n_seeds, seed,
           None if council.inputs.baseline_hle is None else council.inputs.baseline_hle.model_dump_json(),
           None if council.inputs.baseline_le is None else council.inputs.baseline_le.model_dump_json())
    if key in _MATCH_CACHE:
        return copy.deepcopy(_MATCH_CACHE[key])
    res = loaded.resolved
    base = {THRESHOLD[s]: float(ref.get(THRESHOLD[s], res["health"][THRESHOLD[s].split(".")[1]])) for s in THRESHOLD}
    base.update({MODAL[s]: float(ref.get(MODAL[s], res["mortality"][MODAL[s].split(".")[1]])) for s in MODAL})
    targets: dict[str, tuple[str, float, float, float, float]] = {}  # outcome -> (param, target, slope, lo, hi)
    for sex in ("male", "female"):
        if council.inputs.baseline_hle is not None:
            targets[f"hle_{sex}"] = (THRESHOLD[sex], getattr(council.inputs.baseline_hle, sex), 19.0, 0.0, 6.0)
        if council.inputs.baseline_le is not None:
            targets[f"le_{sex}"] = (MODAL[sex], getattr(council.inputs.baseline_le, sex), 0.9, 60.0, 100.0)
    seeds = [seed * 7919 + 17 + i for i in range(n_seeds)]
    x = dict(base)
    params = {k: v for k, v in ref.items() if k not in base}
    history: list[dict[str, Any]] = []
    slopes = {o: t[2] for o, t in targets.items()}
    points: dict[str, list[tuple[float, float]]] = {o: [] for o in targets}

    def evaluate() -> dict[str, float]:
        y = _baseline_runs(loaded, {**params, **x}, scale, seeds, end, loaded.path.parent)
        history.append({"params": dict(x), "simulated": dict(y)})
        for o, (param, *_rest) in targets.items():
            points[o].append((x[param], y[o]))
        return y

    y = evaluate()
    first_sim = dict(y)
    _check_hle_below_le(council, {"simulated_matched": y})  # an impossible HLE is refused before any search
    for _ in range(max_iter):
        if all(abs(y[o] - t[1]) <= tol for o, t in targets.items()):
            break
        for o, (param, target, _, lo, hi) in targets.items():
            if len(points[o]) >= 2:
                (x0, y0_), (x1, y1) = points[o][-2], points[o][-1]
                # Update the slope only from steps large enough to beat the runs' noise (about 0.15 years).
                if abs(y1 - y0_) > 2.0 and abs(x1 - x0) > 1e-6:
                    s_new = (y1 - y0_) / (x1 - x0)
                    if 0.5 * slopes[o] <= s_new <= 2 * slopes[o]:
                        slopes[o] = s_new
            x[param] = float(np.clip(x[param] + (target - y[o]) / slopes[o], lo, hi))
        y = evaluate()
    # Final value: every evaluated point projected to the target along the slope, averaged (averages the noise
    # of the runs instead of keeping the last one's), then one confirming evaluation.
    if len(history) > 1:
        for o, (param, target, _, lo, hi) in targets.items():
            near = [(xi, yi) for xi, yi in points[o] if abs(yi - target) <= 1.5] or points[o][-1:]
            x[param] = float(np.clip(np.mean([xi + (target - yi) / slopes[o] for xi, yi in near]), lo, hi))
        y = evaluate()
    offsets = {k: x[k] - base[k] for k in base}
    out = {"period": f"{y0}-{(y0 + 2) % 100:02d}", "offsets": offsets, "reference": base, "matched": x,
           "targets": {o: t[1] for o, t in targets.items()}, "simulated_at_reference": first_sim,
           "simulated_matched": y, "slopes": slopes, "evaluations": len(history), "history": history,
           "residual": {o: y[o] - t[1] for o, t in targets.items()}, "scale": scale, "seeds": seeds,
           "method": "secant search on the good-health thresholds (HLE) and modal ages of death (LE) at the "
                     "posterior mean, runs of the baseline period only with 20,000 survey respondents a year; "
                     "the offsets are added to every posterior draw"}
    for o, (param, target, _, lo, hi) in targets.items():
        if x[param] in (lo, hi) and abs(y[o] - target) > 1.0:
            ikey = f"council.baseline_{o.split('_')[0]}.{o.split('_')[1]}"
            file, line = council.input_lines.get(ikey, (str(council.path), None))
            raise ScenarioError(f"the model cannot reach a baseline {o.replace('_', ' ')} of {target:g} "
                                f"(it gives {y[o]:.1f} at the limit of {param}); check the figure", file, ikey, line)
    _MATCH_CACHE[key] = copy.deepcopy(out)
    return out


def _check_hle_below_le(council: Council, match: Mapping[str, Any]) -> None:
    """Without a baseline LE, a baseline HLE at or above the model's LE is impossible: refuse it."""
    h = council.inputs.baseline_hle
    if h is None or council.inputs.baseline_le is not None:
        return
    sim = match.get("simulated_matched") or {}
    for sex in ("male", "female"):
        le = sim.get(f"le_{sex}")
        if le is not None and getattr(h, sex) >= le:
            file, line = council.input_lines.get(f"council.baseline_hle.{sex}", (str(council.path), None))
            raise ScenarioError(
                f"healthy life expectancy {getattr(h, sex):g} ({sex}) is not below the life expectancy the model "
                f"gives this council ({le:.1f}); give council.baseline_le or check the figure",
                file, f"council.baseline_hle.{sex}", line)


def _check_spend_year(council: Council, bau: Any) -> None:
    """council.asc_spend is compared with the simulated year: a year the simulation does not cover whole is refused."""
    spend = council.inputs.asc_spend
    if spend is None:
        return
    t = bau.scenario.time
    first, last = month_index(t.start), month_index(t.end)
    if not (first <= spend.first_year * 12 + 3 and spend.first_year * 12 + 14 <= last):
        file, line = council.input_lines.get("council.asc_spend.year", (str(council.path), None))
        raise ScenarioError(f"the simulation runs {t.start} to {t.end}, so it cannot be checked against spend in "
                            f"{spend.year}: give a financial year it covers whole (April to March)", file,
                            "council.asc_spend.year", line)


def spend_check(council: Council, bau_series: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The council's spend by line against the business-as-usual arm's in the same financial year (each run's mean
    of its 12 monthly annual rates, quantiles over runs). ratio = the council's figure over the model's median: far
    from 1, the model's care volumes (or unit costs) are not this council's, and its care savings on that line are
    out by about that factor."""
    from assess.council import SPEND_LINES

    spend = council.inputs.asc_spend
    if spend is None:
        return []
    y = spend.first_year
    months = {f"{y}-{m:02d}" for m in range(4, 13)} | {f"{y + 1}-{m:02d}" for m in range(1, 4)}
    out = []
    for key, col in SPEND_LINES.items():
        own = getattr(spend, key)
        if own is None:
            continue
        sims = np.array([np.mean([v for mo, v in zip(ts["month"], ts[col]) if str(mo) in months])
                         for ts in bau_series], float)
        q = _q(sims)
        mid = q["q50"]
        out.append({"line": key[:-6], "year": spend.year, "council_gbp_m": own, "model_gbp_m": q,
                    "ratio": _r(own / mid, 3) if mid else None})
    return out


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------
def prepare(council: Council | str | os.PathLike[str], s: Settings,
            report: Callable[[str], None] | None = None) -> Plan:
    if not isinstance(council, Council):
        council = load_council(council)
    sets = dict(s.sets)
    base_loaded = apply_overrides(council.loaded, sets, source="--set") if sets else council.loaded
    if sets:
        baseline = copy.deepcopy(council.baseline)
        for k in sets:
            if k in baseline:
                sec, name = k.split(".", 1)
                baseline[k].update(value=base_loaded.resolved[sec][name], default=False, source="--set")
        council = Council(path=council.path, loaded=base_loaded, inputs=council.inputs, name=council.name,
                          baseline=baseline, local_keys=council.local_keys | frozenset(sets),
                          population=council.population,
                          defaults_used=[k for k in council.defaults_used if k not in sets],
                          input_lines=council.input_lines)
    pro = None
    if is_prospective(s.start):
        assert s.start is not None
        pro = prospect(council, s.start, s.horizon)
        base_loaded = apply_overrides(base_loaded, pro.overrides, source="prospective assessment")
        variant = {**variant_overrides(council, replace(s, start=None)), "start": s.start, "horizon": pro.horizon}
        s_post = s if s.posterior is not None else replace(s, posterior=AREAS_REVISED)
    else:
        if s.horizon is not None:
            y0 = month_index(council.loaded.scenario.time.start) // 12
            if not y0 < s.horizon <= MAX_HORIZON:
                raise ScenarioError(f"the horizon must be after the simulation's start ({y0}) and at most "
                                    f"{MAX_HORIZON}, got {s.horizon}", "--horizon")
            base_loaded = apply_overrides(base_loaded, {"time.end": f"{s.horizon}-12"}, source="--horizon")
        variant = variant_overrides(council, s)
        s_post = s
    deal_variant = {k: v for k, v in variant.items() if "." in k}
    deal = apply_overrides(base_loaded, {**deal_variant, "deal.enabled": True}, source="assessment variant")
    bau = apply_overrides(base_loaded, {"deal.enabled": False}, source="business as usual")
    post, terms_post, pinfo = _load_posterior(s_post)
    rng = np.random.default_rng([s.seed, 4])
    area_terms = None
    if post is not None:
        from calibration.posterior_io import draw_indices

        idx = draw_indices(post, s.draws, rng)
        draws = [transfer_draw(post.particle(int(i)), council) for i in idx]
        if terms_post is not None:
            area_terms = [terms_post.particle(int(i)) for i in idx]
        n_seeds = s.seeds
    else:
        draws = [{}]
        n_seeds = s.draws * s.seeds  # same number of runs: chance only
    ref = _mean_draw(post, council)
    if area_terms is not None:
        match: dict[str, Any] = {
            "offsets": {}, "method": "area terms",
            "note": "no threshold offset: the council's baseline figures condition its area terms (level and HLE "
                    "trend), whose spread the multi-area calibration estimated (assess/area_terms.py)"}
        if council.inputs.baseline_hle is not None and council.inputs.baseline_le is None and pro is None:
            # An HLE at or above the model's LE for this council is impossible: one short run says which LE.
            if report:
                report("checking the baseline")
            y0 = month_index(base_loaded.scenario.time.start) // 12
            match["simulated_matched"] = _baseline_runs(base_loaded, ref, max(s.match_scale, s.scale),
                                                        [s.seed * 7919 + 17], f"{y0 + 2}-12", council.path.parent)
    elif council.inputs.baseline_hle is not None or council.inputs.baseline_le is not None:
        if report:
            report("matching the baseline")
        match = match_baseline(council, ref, scale=max(s.match_scale, s.scale), n_seeds=s.match_seeds, seed=s.seed)
    else:
        match = {"offsets": {}, "note": "no baseline HLE or LE given: nothing matched (defaults)"}
    _check_hle_below_le(council, match)
    offsets = match.get("offsets", {})
    res = council.loaded.resolved

    def with_offsets(d: Mapping[str, float]) -> dict[str, Any]:
        out = dict(d)
        for k, off in offsets.items():
            if off == 0.0:
                continue
            sec, name = k.split(".")
            lo, hi = (0.0, 6.0) if sec == "health" else (60.0, 100.0)
            out[k] = float(np.clip(float(d.get(k, res[sec][name])) + off, lo, hi))
        return out

    seeds = [int(x) for x in np.random.default_rng([s.seed, 5]).integers(0, 2**31 - 1, size=(len(draws), n_seeds)).ravel()]
    jobs: list[tuple[Any, int]] = []
    keys: list[tuple[str, int, int]] = []
    for i, d in enumerate(draws):
        over = with_offsets(d)
        lb = apply_overrides(bau, over, source="posterior draw") if over else bau
        ld = apply_overrides(deal, over, source="posterior draw") if over else deal
        for j in range(n_seeds):
            sd = seeds[i * n_seeds + j]
            for arm, lo in (("business_as_usual", lb), ("deal", ld)):
                jobs.append((lo, sd))
                keys.append((arm, i, j))
    if pro is None:
        period = council.baseline_period
        figures = {n: (period, v) for n in AT.KIND if (v := _baseline_figure(council, n)) is not None}
    else:
        pr = council.inputs.present
        period = pro.baseline_period or f"{pro.first_year}-{(pro.first_year + 2) % 100:02d}"
        figures = {f"{k}_{sex}": (src.period, float(getattr(src, sex))) for k, src in (("hle", pr.hle), ("le", pr.le))
                   if src is not None for sex in ("male", "female")}
    _check_spend_year(council, bau)
    for name, by_year in council.inputs.ascof.items():  # the earliest year the simulation reports
        y0 = month_index(bau.scenario.time.start) // 12
        years = sorted(fy for fy in by_year if int(fy[:4]) >= y0)
        if years:
            figures[name] = (years[0], float(by_year[years[0]]))
    plan = Plan(council=council, settings=s, deal=deal, bau=bau, draws=[with_offsets(d) for d in draws],
                posterior_info=pinfo, match=match, jobs=jobs, keys=keys, seeds=seeds, variant=variant,
                area_terms=area_terms, prospect=pro, baseline_period=period, baseline_figures=figures)
    if s.sensitivity:
        _sensitivity_jobs(plan, with_offsets(ref))
    return plan


def _sensitivity_jobs(plan: Plan, ref: dict[str, Any]) -> None:
    """One-at-a-time changes of the local inputs at the posterior mean (paired arms, two seeds each)."""
    res = plan.deal.resolved
    pop = res["population"]
    slopes = plan.match.get("slopes", {})
    changes: dict[str, dict[str, Any]] = {"reference": {}}
    dep = pop["share_lsoas_most_deprived_decile"]
    changes[f"deprivation {dep:.3g} -> {min(1.0, dep + 0.05):.3g}"] = {
        "population.share_lsoas_most_deprived_decile": min(1.0, dep + 0.05)}
    if pop["age_sex_table"] is None:
        sh = pop["share_65_plus"]
        changes[f"share aged 65+ {sh:.3g} -> {min(1.0, sh + 0.02):.3g}"] = {"population.share_65_plus": min(1.0, sh + 0.02)}
    thr = {k: ref.get(k, res["health"][k.split(".")[1]]) for k in THRESHOLD.values()}
    sl = slopes.get("hle_male", 19.0), slopes.get("hle_female", 19.0)
    changes["baseline HLE +2 years"] = {THRESHOLD["male"]: thr[THRESHOLD["male"]] + 2.0 / sl[0],
                                        THRESHOLD["female"]: thr[THRESHOLD["female"]] + 2.0 / sl[1]}
    gm = res["context"]["greater_manchester"]
    changes[f"Greater Manchester {'yes -> no' if gm else 'no -> yes'}"] = {"context.greater_manchester": not gm}
    g = res["community"]["groups_per_1000"]
    changes[f"community groups per 1,000 {g:g} -> {g * 1.5:g}"] = {"community.groups_per_1000": min(10.0, g * 1.5)}
    f = res["finance"]["savings_required_gbp_m"]
    changes[f"savings required {f:.0f} -> {f * 1.25:.0f} GBP m"] = {"finance.savings_required_gbp_m": f * 1.25}
    seeds = [int(x) for x in np.random.default_rng([plan.settings.seed, 6]).integers(0, 2**31 - 1, size=3)]
    for label, ch in changes.items():
        over = {**ref, **ch}
        lb = apply_overrides(plan.bau, over, source="sensitivity")
        ld = apply_overrides(plan.deal, over, source="sensitivity")
        for j, sd in enumerate(seeds):
            for arm, lo in (("business_as_usual", lb), ("deal", ld)):
                plan.sens_jobs.append((lo, sd))
                plan.sens_keys.append((label, arm, j))


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------
def run_job(loaded: Any, seed: int, scale: float) -> dict[str, Any]:
    """One run of an assessment's plan, as the summary reads it."""
    from runs.single import run_one

    r = run_one(loaded, seed, scale)
    return {"outcomes": r.outcomes, "timeseries": r.timeseries, "run_s": r.run_s}


def run_serial(jobs: Sequence[tuple[Any, int]], scale: float,
               progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    out = []
    for i, (lo, sd) in enumerate(jobs):
        out.append(run_job(lo, sd, scale))
        if progress:
            progress(i + 1, len(jobs))
    return out


# ---------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------
def _observation_sd() -> dict[str, float]:
    """The published statistics' own noise, from the calibration's targets (the SD of a single published value);
    true-prevalence HLE has no published series and no noise. ASCOF 2A(2): the targets give the SD of a
    multi-year mean (60), so the SD of single years (72) is used instead."""
    from calibration.targets import load_targets

    out = {"hle_male_true": 0.0, "hle_female_true": 0.0, "care_home_admissions_65plus_per_100k": 72.0}
    for t in load_targets(TARGETS).targets:
        if t.measure == "value":
            out[t.outcome] = float(t.sd)
    return out


def _q(values: np.ndarray) -> dict[str, float | None]:
    return quantiles(values, median="q50", count=False, rnd=_r)  # type: ignore[return-value]


def _r(x: float, nd: int = 4) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{nd}g}") if abs(x) < 1e4 else round(float(x), 1)


def _money_series(ts_bau: Mapping[str, Any], ts_deal: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Cumulative (GBP m, from the baseline) care savings, investment, tax forgone and net savings by calendar year."""
    months = [str(x) for x in ts_deal["month"]]

    def col(ts: Mapping[str, Any], names: Sequence[str]) -> np.ndarray:
        return np.sum([np.asarray(ts[n], float) for n in names], axis=0)

    by_line = {line: (col(ts_bau, [line]) - col(ts_deal, [line])) / 12.0 for line in CARE_LINES}
    care = np.sum(list(by_line.values()), axis=0)
    invest = (col(ts_deal, INVEST_LINES) - col(ts_bau, INVEST_LINES)) / 12.0
    tax = (np.asarray(ts_bau["council_tax_gbp_m"], float) - np.asarray(ts_deal["council_tax_gbp_m"], float)) / 12.0
    net = care - invest - tax
    cums = {"cumulative_care_savings_gbp_m": np.cumsum(care), "cumulative_investment_gbp_m": np.cumsum(invest),
            "cumulative_tax_forgone_gbp_m": np.cumsum(tax), "cumulative_net_savings_gbp_m": np.cumsum(net),
            **{f"care_savings:{line}": np.cumsum(v) for line, v in by_line.items()}}
    out: dict[str, dict[str, float]] = {k: {} for k in cums}
    for i, m in enumerate(months):
        if m.endswith("-12") or i == len(months) - 1:
            y = m[:4]
            for k, c in cums.items():
                out[k][y] = float(c[i])
    return out


def appraise(plan: Plan, money_runs: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, Any]:
    """The Green Book appraisal over runs (assess/appraisal.py): each run's annual care savings (benefits) against
    its investment and council tax forgone (costs), in the council's price year, discounted to the Deal's first
    year at the stated rate, costs uplifted by the optimism bias. NPV and payback quantiles over runs."""
    ai = plan.council.inputs.appraisal
    years = sorted(int(y) for y in money_runs[0]["cumulative_care_savings_gbp_m"])

    def annual(key: str) -> np.ndarray:
        cum = np.array([[mr[key][str(y)] for y in years] for mr in money_runs], float)
        return np.diff(cum, axis=1, prepend=0.0)

    a0 = G.Appraisal(price_year=ai.price_year, discount_rate=ai.discount_rate, optimism_bias=ai.optimism_bias,
                     deflator=ai.deflator)
    cost_years = ai.unit_cost_price_years.model_dump()
    mixed = ai.mixed_years()

    def factor(price_year: int) -> float:
        """A figure in `price_year` prices restated in the appraisal's (left as it is when there is no deflator)."""
        return 1.0 if ai.deflator is None else G.to_price_year({0: 1.0}, price_year, a0)[0]

    # Care savings line by line from each unit cost's own price year; the Deal's spending and the tax are in the
    # model's 2010/11 prices (the budget's).
    benefits = sum(annual(f"care_savings:{line}") * factor(cost_years[k]) for line, k in CARE_LINE_COST.items())
    costs = (annual("cumulative_investment_gbp_m") + annual("cumulative_tax_forgone_gbp_m")) * factor(MODEL_PRICE_YEAR)
    moving = np.flatnonzero(np.any(np.abs(benefits) > 1e-9, axis=0) | np.any(np.abs(costs) > 1e-9, axis=0))
    base = min(first_deal_year(plan.deal.scenario.deal), years[moving[0]] if moving.size else years[-1])
    keep = [i for i, y in enumerate(years) if y >= base]
    a = replace(a0, base_year=base)
    b, c, ys = benefits[:, keep], costs[:, keep], [years[i] for i in keep]
    out = G.summary(G.npv_draws(b, c, ys, a), G.payback_draws(b, c, ys, a), a)
    fy = lambda y: f"{y}/{(y + 1) % 100:02d}"  # noqa: E731
    if ai.deflator is not None:
        prices = (f"{fy(ai.price_year)} prices (every line restated by the council's deflator: care homes from "
                  f"{fy(cost_years['care_home'])}, home care from {fy(cost_years['home_care'])}, reablement from "
                  f"{fy(cost_years['reablement'])}, the rest from {fy(MODEL_PRICE_YEAR)})")
    elif mixed:
        prices = (f"{fy(ai.price_year)} prices except " + ", ".join(f"{k.replace('_', ' ')} ({fy(y)} prices)"
                                                                     for k, y in mixed.items())
                  + ": mixed price years, not converted (no deflator given)")
    else:
        prices = f"{fy(ai.price_year)} prices"
    out.update({"base_year": base, "horizon_year": ys[-1],
                "benefits": "care savings (home care, care homes, reablement) against business as usual",
                "costs": "the Deal's investment (community fund, care-home fund, training) and council tax forgone",
                "prices": prices, "unit_cost_price_years": cost_years, "mixed_price_years": mixed,
                "runs": len(money_runs)})
    return out


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def _unused(plan: Plan, key: str) -> bool:
    """A prospective assessment starts from the present: the 2009-11 baseline figures play no part in it."""
    return plan.prospect is not None and key.startswith(("council.baseline_hle.", "council.baseline_le."))


def _baseline_figure(council: Council, name: str) -> float | None:
    """The council's own published figure for the baseline period, if it gave one (HLE and LE)."""
    src = {"hle": council.inputs.baseline_hle, "le": council.inputs.baseline_le}.get(name.split("_")[0])
    return None if src is None else float(getattr(src, name.split("_")[1]))


def summarise(plan: Plan, results: Sequence[Mapping[str, Any]],
              sens_results: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """assessment.json's content (plus a few keys for the report and figures, stripped before writing)."""
    s = plan.settings
    n_draws = len(plan.draws)
    n_seeds = len(plan.seeds) // n_draws
    by: dict[tuple[str, int, int], Mapping[str, Any]] = {k: r for k, r in zip(plan.keys, results)}
    sd_obs = _observation_sd()
    rng = np.random.default_rng([s.seed, 7])
    arms: dict[str, dict[str, dict[str, dict[str, float | None]]]] = {"business_as_usual": {}, "deal": {}}
    effects: dict[str, dict[str, dict[str, float | None]]] = {}
    values: dict[str, dict[str, dict[str, np.ndarray]]] = {"business_as_usual": {}, "deal": {}, "effect": {}}
    noise_used: dict[str, float] = {}
    area_terms_used: dict[str, dict[str, Any]] = {}
    pop65 = float(np.mean([by["business_as_usual", i, 0]["timeseries"]["population_65_plus"][0]
                           for i in range(n_draws)]))
    for name in OUTCOMES:
        periods: list[str] = []
        for r in results:
            for p in r["outcomes"].get(name, {}):
                if p not in periods:
                    periods.append(p)
        for arm in ("business_as_usual", "deal"):
            arms[arm][name] = {}
            values[arm][name] = {}
        effects[name] = {}
        values["effect"][name] = {}
        stat = AT.SIMULATED.get(name, name) if plan.area_terms else name

        def mat(arm: str, period: str) -> np.ndarray:
            return np.array([[by[arm, i, j]["outcomes"].get(stat, {}).get(period, np.nan) for j in range(n_seeds)]
                             for i in range(n_draws)], float)

        for p in periods:
            mats = {arm: mat(arm, p) for arm in ("business_as_usual", "deal")}
            if plan.area_terms and name in AT.KIND:
                bp, base_fig = plan.baseline_figures.get(name, (plan.baseline_period, None))
                at_base = mat("business_as_usual", bp) if base_fig is not None else None
                if at_base is not None and not np.isfinite(at_base).any():
                    base_fig, at_base = None, None  # the figure's period is not simulated: nothing to condition on
                nb, nd_, info = AT.published(name, p, mats["business_as_usual"], mats["deal"], plan.area_terms,
                                             base_fig, at_base, bp, pop65, rng, NOISE_REPLICATES,
                                             revised=plan.prospect is not None)
                for arm, noisy in (("business_as_usual", nb), ("deal", nd_)):
                    arms[arm][name][p] = _q(noisy)
                    values[arm][name][p] = noisy
                if p == bp or name not in area_terms_used:
                    area_terms_used[name] = info
            for arm, v in (mats.items() if not (plan.area_terms and name in AT.KIND) else ()):
                ok = np.isfinite(v).sum(axis=1) > 1
                within = float(np.mean(np.nanvar(v[ok], axis=1, ddof=1))) if n_seeds > 1 and ok.any() else 0.0
                if not math.isfinite(within):
                    within = 0.0
                extra = math.sqrt(max(0.0, sd_obs.get(name, 0.0) ** 2 - within))
                noise_used[name] = max(noise_used.get(name, 0.0), extra)
                flat = v.ravel()
                noisy = (flat[:, None] + rng.normal(0.0, extra, (flat.size, NOISE_REPLICATES))).ravel() if extra > 0 else flat
                if name in BOUNDS:  # a published share or percentage cannot leave its range
                    noisy = np.clip(noisy, *BOUNDS[name])
                arms[arm][name][p] = _q(noisy)
                values[arm][name][p] = noisy
            d = (mats["deal"] - mats["business_as_usual"]).ravel()
            d = d[np.isfinite(d)]
            e = _q(d)
            e["p_positive"] = _r(float(np.mean(d > 0))) if d.size else None
            e["p_gain"] = _r(float(np.mean(d * OUTCOMES[name] > 0))) if d.size else None
            e["p_harm"] = _r(float(np.mean(d * OUTCOMES[name] < 0))) if d.size else None
            effects[name][p] = e
            values["effect"][name][p] = d
    # Money: cumulative net savings of the Deal; the appraisal (NPV, discounted payback) over the same runs.
    money_runs: list[dict[str, dict[str, float]]] = []
    for i in range(n_draws):
        for j in range(n_seeds):
            money_runs.append(_money_series(by["business_as_usual", i, j]["timeseries"], by["deal", i, j]["timeseries"]))
    for key in ("cumulative_net_savings_gbp_m", "cumulative_investment_gbp_m", "cumulative_tax_forgone_gbp_m",
                "cumulative_care_savings_gbp_m"):
        effects[key] = {}
        values["effect"][key] = {}
        for y in money_runs[0][key]:
            d = np.array([mr[key][y] for mr in money_runs], float)
            e = _q(d)
            e["p_positive"] = _r(float(np.mean(d > 0)))
            effects[key][y] = e
            values["effect"][key][y] = d
    end_year = month_index(plan.deal.scenario.time.end) // 12
    appraisal = appraise(plan, money_runs)
    pbq = appraisal["payback_year"]
    effects["payback_year"] = {f"by {end_year}": {"q05": pbq["q05"], "q50": pbq["q50"], "q95": pbq["q95"],
                                                 "p_positive": _r(1.0 - pbq["p_never"])}}
    # What the answer depends on: posterior parameters (rank correlation with per-run summary effects).
    launch_year = month_index(plan.deal.scenario.deal.launch) // 12
    metrics = [headline_metrics(by["business_as_usual", i, j], by["deal", i, j], launch_year)
               for i in range(n_draws) for j in range(n_seeds)]
    depends: dict[str, Any] = {"summary_effects": HEADLINE_METRICS, "parameters": {}, "local_inputs": {}}
    if n_draws > 1 and plan.draws and plan.draws[0]:
        pkeys = sorted({k for d in plan.draws for k in d})
        for hname in HEADLINE_METRICS:
            y = np.array([mt[hname] for mt in metrics], float)
            ranks = []
            for k in pkeys:
                x = np.repeat([float(d.get(k, np.nan)) for d in plan.draws], n_seeds)
                ok = np.isfinite(x) & np.isfinite(y)
                rho = _spearman(x[ok], y[ok])
                if math.isfinite(rho):
                    ranks.append((k, rho))
            ranks.sort(key=lambda t: -abs(t[1]))
            depends["parameters"][hname] = [{"parameter": k, "rank_correlation": _r(v, 2)} for k, v in ranks[:5]]
    if sens_results:
        depends["local_inputs"] = _sensitivity_summary(plan, sens_results, launch_year, {})
    out = {
        "council": plan.council.name,
        "baseline": {"period": plan.baseline_period or plan.council.baseline_period,
                     "inputs": {**{k: v for k, v in plan.council.baseline.items() if not _unused(plan, k)},
                                **(plan.prospect.inputs if plan.prospect else {})},
                     "defaults_used": [k for k in plan.council.defaults_used if not _unused(plan, k)]
                                      + (plan.prospect.defaults if plan.prospect else []),
                     "match": plan.match, "mode": "prospective" if plan.prospect else "retrospective",
                     "spend_check": spend_check(plan.council, [by["business_as_usual", i, j]["timeseries"]
                                                               for i in range(n_draws) for j in range(n_seeds)]),
                     "area_terms": {k: {kk: (_r(vv) if isinstance(vv, float) else vv) for kk, vv in v.items()}
                                    for k, v in area_terms_used.items()}},
        "arms": arms,
        "effects": effects,
        "appraisal": appraisal,
        "settings": {"draws": n_draws if plan.draws and plan.draws[0] else 0, "seeds_per_draw": n_seeds,
                     "runs_per_arm": n_draws * n_seeds, "scale": s.scale, "seed": s.seed,
                     "start": plan.deal.scenario.time.start, "end": plan.deal.scenario.time.end,
                     "deal_plan": {k: v for k, v in plan.deal.resolved["deal"].items()},
                     "variant": plan.variant, "overrides": {k: v for k, v in dict(s.sets).items()},
                     "posterior": plan.posterior_info,
                     "observation_noise_added_sd": {k: _r(v, 3) for k, v in noise_used.items()},
                     "quantiles": "over posterior draws x seeds (arms: with the published statistics' noise added "
                                  "where the model does not simulate it; effects: Deal minus business as usual, same "
                                  "draw and seed)",
                     "p_positive": "share of draws x seeds in which Deal minus business as usual is above 0 (for "
                                   "payback_year: the share paid back by the end year, discounted as in the "
                                   "appraisal)",
                     "p_gain": "share of draws x seeds in which the Deal did better than business as usual (in "
                               "the outcome's direction of benefit)",
                     "p_harm": "share of draws x seeds in which the Deal did worse than business as usual (in the "
                                "outcome's direction of benefit)"},
        "depends_on": depends,
    }
    out["_values"] = values
    return out


HEADLINE_METRICS = {
    "hle_gain_years": "healthy life expectancy, Deal minus business as usual, mean of men and women over the "
                      "3-year periods starting from the launch year",
    "care_home_admissions_change": "care-home admissions 65+ per 100,000, Deal minus business as usual, mean over "
                                   "the financial years from the launch",
    "net_savings_end_gbp_m": "cumulative net savings of the Deal at the end year, GBP m",
}


def headline_metrics(bau: Mapping[str, Any], deal: Mapping[str, Any], launch_year: int) -> dict[str, float]:
    """Per-run summary effects (averaged over periods, so less noisy than any single period)."""
    ob, od = bau["outcomes"], deal["outcomes"]
    h = [od[k][p] - ob[k][p] for k in ("hle_male", "hle_female") for p in od.get(k, {})
         if int(p[:4]) >= launch_year and p in ob.get(k, {})]
    c = [od[k][p] - ob[k][p] for k in ("care_home_admissions_65plus_per_100k",) for p in od.get(k, {})
         if int(p[:4]) >= launch_year and p in ob.get(k, {})]
    net = _money_series(bau["timeseries"], deal["timeseries"])["cumulative_net_savings_gbp_m"]
    return {"hle_gain_years": float(np.mean(h)) if h else float("nan"),
            "care_home_admissions_change": float(np.mean(c)) if c else float("nan"),
            "net_savings_end_gbp_m": float(net[max(net, key=int)]) if net else float("nan")}


def _sensitivity_summary(plan: Plan, sens: Sequence[Mapping[str, Any]], launch_year: int,
                         run_sd: Mapping[str, float]) -> dict[str, Any]:
    by = {k: r for k, r in zip(plan.sens_keys, sens)}
    labels = list(dict.fromkeys(k[0] for k in plan.sens_keys))
    n = len({k[2] for k in plan.sens_keys})
    per = {label: [headline_metrics(by[label, "business_as_usual", j], by[label, "deal", j], launch_year)
                   for j in range(n)] for label in labels}
    out: dict[str, Any] = {"method": "one input changed at a time at the posterior mean; change in each summary effect "
                                     f"(Deal minus business as usual) against the reference, mean over {n} seeds (the "
                                     "same seeds for every change), with two standard errors of that mean from the "
                                     "seed-to-seed spread of the change; 'reference' is the effect itself",
                           "effects": {}, "two_se": {}}
    del run_sd
    for m in HEADLINE_METRICS:
        ref = np.array([x[m] for x in per["reference"]], float)
        out["effects"][m] = {"reference": _r(float(np.nanmean(ref)))}
        out["two_se"][m] = {"reference": _r(2 * float(np.nanstd(ref, ddof=1)) / math.sqrt(n)) if n > 1 else None}
        for lab in labels[1:]:
            d = np.array([x[m] for x in per[lab]], float) - ref
            out["effects"][m][lab] = _r(float(np.nanmean(d)))
            out["two_se"][m][lab] = _r(2 * float(np.nanstd(d, ddof=1)) / math.sqrt(n)) if n > 1 else None
    return out


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
PUBLIC_KEYS = ("council", "baseline", "arms", "effects", "appraisal")  # assessment.json


def public(summary: Mapping[str, Any]) -> dict[str, Any]:
    """assessment.json: the council, its baseline, both arms, the effects and the appraisal."""
    return {k: summary[k] for k in PUBLIC_KEYS}


def details(summary: Mapping[str, Any]) -> dict[str, Any]:
    """assessment_details.json: how the numbers were made (settings, posterior, noise added, what they depend on)."""
    return {"council": summary["council"], "settings": summary["settings"], "depends_on": summary["depends_on"]}


def _fig_outcomes(summary: Mapping[str, Any], plan: Plan, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from matplotlib.ticker import MaxNLocator

    from runs.plots import fan, fixed_layout, outcome_x, period_x, wrap_title

    names = list(OUTCOMES)
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(4.6 * cols, 3.5 * rows))
    fig.suptitle(f"{summary['council']}: business as usual and the Deal (median, 5-95% interval over draws x seeds, "
                 f"with the published figures' noise)", fontsize=11)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    fixed_layout(fig, rows)
    inputs = plan.council.inputs
    for ax, name in zip(axes, names):
        px = lambda p: outcome_x(name, p)  # noqa: E731
        for arm, color, lab in (("business_as_usual", "#7f7f7f", "business as usual"), ("deal", "#1f77b4", "the Deal")):
            qs = summary["arms"][arm].get(name, {})
            pts = sorted((px(p), q) for p, q in qs.items() if px(p) is not None and q["q50"] is not None)
            if not pts:
                continue
            x = [a for a, _ in pts]
            fan(ax, x, [q["q50"] for _, q in pts], [q["q05"] for _, q in pts], [q["q95"] for _, q in pts], color, lab)
        sex = name.removesuffix("_true").split("_")[-1]
        obs, period = None, plan.council.baseline_period
        if name.endswith("_true"):  # the model's prevalence before the area term: no published figure to set beside it
            pass
        elif plan.prospect is not None:  # the present figures (revised HLE series), not the 2009-11 ones
            now = inputs.present.hle if name.startswith("hle_") else inputs.present.le if name.startswith("le_") else None
            if now is not None:
                obs, period = getattr(now, sex), now.period
        elif name.startswith("hle_") and inputs.baseline_hle is not None:
            obs = getattr(inputs.baseline_hle, sex)
        elif name.startswith("le_") and inputs.baseline_le is not None:
            obs = getattr(inputs.baseline_le, sex)
        if obs is not None:
            ax.plot([period_x(period, "three_year")], [obs], "o", color="black", ms=5,
                    label=f"{summary['council']} observed {period}")
        launch = month_index(plan.deal.scenario.deal.launch)
        ax.axvline(launch / 12, color="0.6", ls=":", lw=1)
        title, unit = LABELS[name]
        ax.set_title(wrap_title(title), fontsize=9.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=6.5)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.savefig(path, dpi=100)


def _fig_effects(summary: Mapping[str, Any], plan: Plan, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from matplotlib.ticker import MaxNLocator

    from runs.plots import fan, fixed_layout, outcome_x, period_x, wrap_title

    names = ["hle_male", "hle_female", "hle_male_true", "hle_female_true", "le_male", "le_female",
             "care_home_admissions_65plus_per_100k",
             "delayed_transfers_per_100k", "care_quality_good_or_outstanding", "cumulative_net_savings_gbp_m",
             "cumulative_investment_gbp_m"]
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(4.6 * cols, 3.4 * rows))
    fig.suptitle(f"{summary['council']}: what the Deal changes (Deal minus business as usual, same draw and seed; "
                 "median and 5-95% interval)", fontsize=11)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    fixed_layout(fig, rows)
    for ax, name in zip(axes, names):
        px = (lambda p: outcome_x(name, p)) if name in REGISTRY else (lambda p: period_x(p, "year_end"))
        qs = summary["effects"].get(name, {})
        pts = sorted((px(p), q) for p, q in qs.items() if px(p) is not None and q["q50"] is not None)
        if pts:
            x = [a for a, _ in pts]
            fan(ax, x, [q["q50"] for _, q in pts], [q["q05"] for _, q in pts], [q["q95"] for _, q in pts], "#d95f02",
                alpha=0.25)
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(month_index(plan.deal.scenario.deal.launch) / 12, color="0.6", ls=":", lw=1)
        title, unit = LABELS[name]
        ax.set_title(wrap_title(title), fontsize=9.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.savefig(path, dpi=100)


def _pct(p: float | None) -> str:
    return "-" if p is None else f"{100 * p:.0f}%"


def _fmt(x: Any, nd: int = 1) -> str:
    from runs.outputs import number

    return number(x, nd)


LIMITS: tuple[str, ...] = (
    "Every mechanism's strength was estimated from **one borough that ran the Deal, Wigan**, set against England "
    "and three boroughs that did not (Barnsley, Doncaster, Bolton). Those data leave the Deal's effect uncertain "
    "(its range includes no effect and harm), and they cannot show that the Deal would work the same way in a "
    "place with a different voluntary sector, workforce or leadership.",
    "Healthy life expectancy is measured from a survey of about 1,200 people a year: a council's published "
    "figure moves by about a year from chance alone, so a change smaller than that may never be visible.",
    "Local figures this assessment did not have were filled with Wigan's (marked **default** above); "
    "each one is an assumption the council can replace with its own figure (`scenarios/councils/TEMPLATE.yaml`).",
    "How the council differs from the model's borough of its context is one area term per outcome (listed "
    "above), drawn from the spread the calibration found across boroughs and narrowed by the figures the council "
    "gave. Its cause is not known, and it is assumed to persist (for healthy life expectancy, with its trend).",
    "Money counts only what the model represents: care packages, care homes, reablement, the Deal's own "
    "spending and the tax freeze. Staff time, NHS savings and wider benefits are not counted. The model's unit "
    "costs come from different years (a 2019/20 care-home week, a 2018 home-care hour, a 2010 reablement episode) "
    "and are used as the model's 2010/11 prices without conversion; the appraisal restates the results in its "
    "price year only if the council gives a deflator.",
    "The model has no COVID-19: periods from 2019-21 on are a counterfactual world without the pandemic.",
)
"""What an assessment cannot say, in plain words: the report's last section and the app's (one list, as data)."""


def decision_lines(summary: Mapping[str, Any], name: str) -> list[str]:
    """The report's first section (and the app's): the figures a decision rests on (Green Book NPV, payback,
    chance of a gain and of harm)."""
    ap, eff = summary["appraisal"], summary["effects"]
    npv, pb = ap["npv_gbp_m"], ap["payback_year"]
    L = ["## The decision figures", ""]
    L.append(f"- **Net present value of the Deal to {name}: GBP {_fmt(npv['q50'])}m** (likely range "
             f"{_fmt(npv['q05'])} to {_fmt(npv['q95'])}), in {ap['prices']}, discounted at "
             f"{100 * ap['discount_rate']:.1f}% a year to {ap['base_year']}, {ap['base_year']}-{ap['horizon_year']}"
             + (f", costs uplifted {100 * ap['optimism_bias']:.0f}% for optimism bias" if ap["optimism_bias"] else
                ", no optimism-bias uplift on costs (the council can state one)") + ".")
    L.append(f"- Chance the Deal pays for itself (NPV above zero): **{_pct(ap['p_npv_positive'])}**.")
    end = ap["horizon_year"]
    late = pb["q95"] if pb["q95"] is not None else f"after {end}"
    when = (f"{pb['q50']} (likely range {pb['q05']} to {late})" if pb["q50"] is not None
            else f"not by {end} in most simulations")
    L.append(f"- Payback (discounted savings cover the costs from then on): {when}; never within the horizon in "
             f"{_pct(pb['p_never'])} of simulations.")
    for key, label in (("hle_male", "men"), ("hle_female", "women")):
        periods = list(eff.get(key, {}))
        if periods:
            e = eff[key][periods[-1]]
            L.append(f"- Healthy life expectancy, {label}, {periods[-1]}: {_fmt(e['q50'], 1)} years "
                     f"({_fmt(e['q05'], 1)} to {_fmt(e['q95'], 1)}); chance of a gain {_pct(e.get('p_gain'))}, "
                     f"of harm {_pct(e.get('p_harm'))}.")
    L.append("")
    return L


def report_markdown(summary: Mapping[str, Any], plan: Plan) -> str:
    c = plan.council
    st = summary["settings"]
    eff = summary["effects"]
    arms = summary["arms"]
    end_year = month_index(plan.deal.scenario.time.end) // 12
    d = plan.deal.scenario.deal
    L: list[str] = []
    pop = (plan.bau.scenario.population.total if plan.prospect is not None and
           plan.council.inputs.present.population is not None else c.population)
    L.append(f"# Would the Deal work in {c.name}?")
    L.append("")
    L.append(f"An assessment with **dealsim**, the agent-based model of Wigan Council's Deal. It simulates {c.name} "
             f"from {st['start'][:4]} to {end_year} twice, with the same chance events: once carrying on as usual "
             f"(*business as usual*) and once adopting the Deal as planned below. The difference between the two is "
             f"the Deal's effect. Each figure is a range: {st['runs_per_arm']} simulations per arm "
             f"({st['draws'] or 1} parameter sets x {st['seeds_per_draw']} random seeds, {pop * st['scale']:,.0f} "
             f"simulated residents standing for {pop:,.0f}).")
    L.append("")
    if not plan.posterior_info.get("file"):
        L.append(f"> **Uncalibrated.** {plan.posterior_info.get('note', '')}. Treat every range below as too narrow.")
        L.append("")
    if plan.prospect is not None:
        L.append("> **Prospective.** " + EXTRAPOLATION.format(first=plan.prospect.first_year,
                                                             horizon=plan.prospect.horizon)
                 + f" The Deal starts in {plan.settings.start}; the baseline is the council's present state "
                   f"({plan.baseline_period}), not its 2009 figures.")
        L.append("")
    L.extend(decision_lines(summary, c.name))
    L.append("## The plan assessed")
    L.append("")
    pilot = f"pilot from {d.pilot_start}, " if d.pilot_share > 0 else ""
    L.append(f"- The Deal: {pilot}public launch {d.launch}, rolled out over {d.rollout_months} months; fidelity "
             f"{d.fidelity:g}; community investment fund GBP {d.fund_gbp_m:g}m ({d.fund_start} to {d.fund_end}); "
             f"care-home fund GBP {d.care_home_fund_gbp_m:g}m in {d.care_home_fund_year}; council tax "
             + (f"frozen {d.tax_freeze_from}/{(d.tax_freeze_from + 1) % 100:02d} to {d.tax_freeze_to}/{(d.tax_freeze_to + 1) % 100:02d}."
                if d.tax_freeze else "not frozen."))
    if plan.variant:
        L.append(f"- Variant: {', '.join(f'{k} = {v}' for k, v in plan.variant.items())}.")
    if st["overrides"]:
        L.append(f"- Other changes: {', '.join(f'{k} = {v}' for k, v in st['overrides'].items())}.")
    L.append("")
    L.append("## What changes, and how sure we can be")
    L.append("")
    L.append("Deal minus business as usual; *likely range* is the 5-95% interval; *chance of a gain* is the share "
             "of simulations in which the Deal did better, *chance of harm* the share in which it did worse (over "
             "posterior draws, including those where the Deal's mechanisms have no effect or do harm). With the "
             "multi-area posterior, healthy life expectancy as it would be published is the model's value in the "
             "whole population plus this "
             "council's own area term (and, in ONS's revised series, that series' offset) plus the survey's noise, "
             "the same in both arms; so the two rows' levels can differ, but not the Deal's change.")
    L.append("")
    L.append("| outcome | period | business as usual | with the Deal | change (likely range) | chance of a gain | "
             "chance of harm |")
    L.append("|---|---|---:|---:|---:|---:|---:|")
    for name, better in OUTCOMES.items():
        periods = list(eff.get(name, {}))
        if not periods:
            continue
        wanted = [p for p in periods if p.startswith(("2017", "2019/20", "2019", "2022"))]
        for p in ([periods[-1]] if not wanted else [wanted[0], periods[-1]] if wanted[0] != periods[-1] else [periods[-1]]):
            e = eff[name][p]
            b, dd = arms["business_as_usual"][name][p], arms["deal"][name][p]
            gain = e.get("p_gain")
            nd = 2 if name == "care_quality_good_or_outstanding" else 1
            L.append(f"| {LABELS[name][0]} ({LABELS[name][1]}) | {p} | {_fmt(b['q50'], nd)} | {_fmt(dd['q50'], nd)} | "
                     f"{_fmt(e['q50'], nd)} ({_fmt(e['q05'], nd)} to {_fmt(e['q95'], nd)}) | "
                     f"{_pct(gain)} | {_pct(e.get('p_harm'))} |")
    L.append("")
    L.append("![Both arms](fan_outcomes.png)")
    L.append("")
    L.append("*Grey: business as usual; blue: the Deal; black dot: the council's own published baseline. The bands "
             "include the sampling noise of the published statistics, so the council's future published figures "
             "should fall inside the grey band about 9 times in 10 if it carries on as usual.*")
    L.append("")
    L.append("## Cost and payback")
    L.append("")
    net = eff["cumulative_net_savings_gbp_m"]
    last = list(net)[-1]
    inv = eff["cumulative_investment_gbp_m"][last]
    tax = eff["cumulative_tax_forgone_gbp_m"][last]
    care = eff["cumulative_care_savings_gbp_m"][last]
    pb = eff["payback_year"][f"by {end_year}"]
    yrs = summary["appraisal"]["unit_cost_price_years"]
    L.append(f"By the end of {last}, from {st['start'][:4]} (GBP m, all years added up, the model's figures as they "
             f"are: care homes in {yrs['care_home']} prices, home care {yrs['home_care']}, reablement "
             f"{yrs['reablement']}, the rest 2010/11; not discounted. The decision figures above are the ones in one "
             f"price year, where the council's deflator allows):")
    L.append("")
    L.append(f"- upfront investment (community fund, care-home fund, training): {_fmt(inv['q50'])} "
             f"({_fmt(inv['q05'])} to {_fmt(inv['q95'])});")
    L.append(f"- council tax forgone by the freeze: {_fmt(tax['q50'])} ({_fmt(tax['q05'])} to {_fmt(tax['q95'])});")
    L.append(f"- savings on care (home care, care homes, reablement): {_fmt(care['q50'])} "
             f"({_fmt(care['q05'])} to {_fmt(care['q95'])});")
    L.append(f"- **net savings after the investment: {_fmt(net[last]['q50'])} ({_fmt(net[last]['q05'])} to "
             f"{_fmt(net[last]['q95'])})**, positive in {100 * (net[last]['p_positive'] or 0):.0f}% of simulations.")
    share = pb["p_positive"] or 0
    when = (f"the middle estimate is {pb['q50']}" if pb["q50"] is not None else f"the middle estimate is after {end_year}")
    L.append(f"- The investment pays back (discounted, as in the decision figures: savings cover the costs from "
             f"then on) by {end_year} in "
             f"{100 * share:.0f}% of simulations; {when}.")
    L.append("")
    L.append("![Effects](fan_effects.png)")
    L.append("")
    L.append("## What the answer depends on most")
    L.append("")
    dep = summary["depends_on"]
    names = {"hle_gain_years": "HLE gain (years)", "care_home_admissions_change": "care-home admissions change",
             "net_savings_end_gbp_m": f"net savings {end_year} (GBP m)"}
    L.append("Summary effects used here: " + "; ".join(f"*{names[k]}*: {v}" for k, v in HEADLINE_METRICS.items()) + ".")
    L.append("")
    if dep.get("parameters"):
        L.append("Mechanism strengths estimated from Wigan (rank correlation of the parameter with the effect over "
                 "the simulations; further from 0 = matters more):")
        L.append("")
        for k, rows in dep["parameters"].items():
            L.append(f"- {names[k]}: " + "; ".join(f"`{r['parameter']}` {r['rank_correlation']:+.2f}" for r in rows[:3]))
        L.append("")
    if dep.get("local_inputs", {}).get("effects"):
        L.append("This council's own inputs, one at a time (" + dep["local_inputs"]["method"] + "):")
        L.append("")
        eff_l = dep["local_inputs"]["effects"]
        heads = list(eff_l)
        L.append("| input changed | " + " | ".join(names[h] for h in heads) + " |")
        L.append("|---|" + "---:|" * len(heads))
        two = dep["local_inputs"].get("two_se", {})

        def cell(h: str, label: str) -> str:
            se = two.get(h, {}).get(label)
            return _fmt(eff_l[h][label], 2) + ("" if se is None else f" (+-{_fmt(se, 2)})")

        for label in eff_l[heads[0]]:
            L.append(f"| {label} | " + " | ".join(cell(h, label) for h in heads) + " |")
        L.append("")
        L.append("*In brackets: two standard errors from the seeds. A change within them may be chance alone: "
                 "a few seeds at a small scale can only show large dependences.*")
        L.append("")
    L.append("## Inputs used")
    L.append("")
    L.append("| input | value | from |")
    L.append("|---|---|---|")
    for key, b in summary["baseline"]["inputs"].items():
        v = b["value"]
        L.append(f"| {b['what']} | {'-' if v is None else v} | {'**default**: ' + b['source'][9:] if b['default'] else b['source']} |")
    checks = summary["baseline"].get("spend_check") or []
    if checks:
        L.append("")
        L.append("**Your adult social care spend against the model's** (business as usual, the same financial year; "
                 "the model's line is its simulated clients at the unit costs above, in their own price years):")
        L.append("")
        L.append("| line | year | yours (GBP m) | the model's (GBP m, likely range) | yours / the model's |")
        L.append("|---|---|---:|---:|---:|")
        for ck in checks:
            q = ck["model_gbp_m"]
            L.append(f"| {ck['line'].replace('_', ' ')} | {ck['year']} | {_fmt(ck['council_gbp_m'])} | "
                     f"{_fmt(q['q50'])} ({_fmt(q['q05'])} to {_fmt(q['q95'])}) | {_fmt(ck['ratio'], 2)} |")
        off = [ck["line"].replace("_", " ") for ck in checks if ck["ratio"] is not None
               and not 2 / 3 <= ck["ratio"] <= 1.5]
        L.append("")
        L.append("*The care savings on a line scale with the model's spending on it.* " + (
            f"On {', '.join(off)} your figure is more than 1.5 times the model's or less than two thirds of it: read "
            "the savings on that line as off by about that ratio." if off else
            "On every line given, your figure is between two thirds and 1.5 times the model's."))
    m = plan.match
    terms = summary["baseline"].get("area_terms") or {}
    if terms:
        L.append("")
        L.append(f"**Area terms.** {c.name} is assessed as one more area of the multi-area calibration: its "
                 "published figures are the model's for its context, plus its own area terms (a level per outcome "
                 "and a trend for healthy life expectancy), plus each statistic's published noise. The terms start "
                 "from the spread the calibration found across boroughs and are conditioned on the baseline "
                 "figures the council gave; without one, a term keeps that whole spread. At the baseline period:")
        L.append("")
        unit = {"hle": "years", "le": "years", "2a2": "on the log scale", "2b1": "on the logit scale",
                "dtoc": "on the log scale", "quality": "on the logit scale"}
        for name, t in terms.items():
            if t.get("mean") is None or t["kind"] == "quality":
                continue
            how = "conditioned on the council's figure" if t["conditioned_on_baseline"] else "no baseline figure"
            L.append(f"- {LABELS[name][0]}: {t['mean']:+.2f} ({t['q05']:+.2f} to {t['q95']:+.2f}) "
                     f"{unit[t['kind']]}; {how}.")
        trend = [d["trend_hle_boroughs"] for d in (plan.area_terms or []) if "trend_hle_boroughs" in d]
        if trend:
            L.append("")
            L.append(f"Healthy life expectancy also carries the trend the calibration found Wigan and the control "
                     f"boroughs share beyond England's: {float(np.median(trend)):+.2f} years a decade (median over "
                     "the draws), fitted on 2009-2019 and carried on in a straight line, which further ahead is an "
                     "assumption, not a finding.")
    if m.get("offsets"):
        L.append("")
        L.append(f"Baseline matched ({m['period']}): the model's healthy life expectancy was "
                 + ", ".join(f"{k.replace('_', ' ')} {m['simulated_at_reference'].get(k, float('nan')):.1f}"
                             for k in m["targets"])
                 + " at the reference parameters (the posterior mean, or the scenario's values without a posterior) and is brought to the council's figures by shifting "
                   "the good-health thresholds (and modal ages of death, if a baseline LE was given) by " + ", ".join(f"{k.split('.')[1]} {v:+.3f} SD" if k.startswith("health")
                                                            else f"{k.split('.')[1]} {v:+.2f} years"
                                                            for k, v in m["offsets"].items() if v) + ".")
    L.append("")
    L.append("## Limits: what the evidence can and cannot say")
    L.append("")
    L.extend(f"- {x}" for x in LIMITS)
    L.append("")
    L.append("Files: `assessment.json` (every number above, by period), `assessment_details.json` (settings, "
             "posterior, noise added, sensitivity), `fan_outcomes.png`, `fan_effects.png`, "
             "`scenario_deal.yaml`, `scenario_business_as_usual.yaml`, `provenance.json`.")
    return "\n".join(L) + "\n"


def write_outputs(folder: Path, summary: Mapping[str, Any], plan: Plan) -> None:
    from runs import outputs
    from model.scenario import describe

    outputs.write_json(folder / "assessment.json", public(summary))
    outputs.write_json(folder / "assessment_details.json", details(summary))
    outputs.write_text(folder / "report.md", report_markdown(summary, plan))
    outputs.write_text(folder / "scenario_deal.yaml", describe(plan.deal))
    outputs.write_text(folder / "scenario_business_as_usual.yaml", describe(plan.bau))
    _fig_outcomes(summary, plan, folder / "fan_outcomes.png")
    _fig_effects(summary, plan, folder / "fan_effects.png")


def assess(path: str | os.PathLike[str], settings: Settings | None = None) -> tuple[dict[str, Any], Plan]:
    """Everything in one process (tests, notebooks): prepare, run serially, summarise."""
    s = settings or Settings()
    plan = prepare(path, s)
    res = run_serial(plan.jobs, s.scale)
    sens = run_serial(plan.sens_jobs, s.scale) if plan.sens_jobs else None
    return summarise(plan, res, sens), plan


def assess_to_folder(council: Council, settings: Settings, dest: Path, *, force: bool,
                     run: Callable[[list, list[str]], list], workers: int, argv: list[str], root: Path,
                     written: list[Path] | None = None, tick: Callable[[], None] | None = None) -> tuple[Plan, dict]:
    """The whole assessment into a result folder: prepare (baseline match, draws), `run(jobs, labels)` the runs
    (the caller's executor and progress display, e.g. runs.batch.run_many), summarise, write the files and
    provenance. Returns the plan and the summary."""
    import time as _time

    from runs import outputs, provenance

    started, t0 = provenance.now_utc(), _time.perf_counter()
    plan = prepare(council, settings)
    if tick:
        tick()
    t_prep = _time.perf_counter() - t0
    jobs = plan.jobs + plan.sens_jobs
    labels = [f"{arm}, draw {i}, seed {j}" for arm, i, j in plan.keys] + \
             [f"sensitivity '{lab}', {arm}, seed {j}" for lab, arm, j in plan.sens_keys]
    results = run(jobs, labels)
    if tick:
        tick()
    main_res, sens_res = results[:len(plan.jobs)], results[len(plan.jobs):]
    summary = summarise(plan, main_res, sens_res or None)
    with outputs.atomic_folder(dest, force, written) as tmp:
        write_outputs(tmp, summary, plan)
        if tick:
            tick()
        outputs.write_json(tmp / outputs.MARKER, provenance.build(
            command="assess", root=root, argv=argv, started=started, wall_time_s=_time.perf_counter() - t0,
            scale=settings.scale, workers=workers, council={"file": str(council.path), "name": council.name},
            scenario_deal=provenance.scenario_record(plan.deal), scenario_bau=provenance.scenario_record(plan.bau),
            timings={"prepare_s": round(t_prep, 2), "runs": len(jobs),
                     "run_s_mean": round(sum(r["run_s"] for r in results) / max(len(results), 1), 3)},
            files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))
    return plan, summary
