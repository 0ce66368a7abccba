"""The baseline the emulator must beat: pyabc's ABC-SMC on the same multi-area problem at the same budget.

Each particle runs the five primary arms (Wigan with the Deal, England, the three controls) at the design scale
with a seed from its parameters; the distance is the Mahalanobis distance of the observation model
(calibration/likelihood.py) with the hyperparameters fixed at the emulator posterior's medians (an advantage to
ABC: it does not have to learn them). The budget is one calibration's runs: both stages' points x 10 arms =
``2 x (design.size + refine.size)`` particles of 5 arms. Writes ``abc_baseline.json`` beside this file.

    python -m calibration.experiments.abc_baseline [--budget RUNS] [--population N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calibration.area_config import load_area_calibration  # noqa: E402
from calibration.area_design import flatten  # noqa: E402
from calibration.area_targets import load_area_targets, transform  # noqa: E402
from calibration.areas_pipeline import FIT_SERIES, PRIMARY_ARMS  # noqa: E402
from calibration.emulator import known_values  # noqa: E402
from calibration.likelihood import HYPER, block_moments, build_blocks  # noqa: E402
from calibration.simulation import run_model, seed_for  # noqa: E402


class AreasModel:
    """pyabc model: parameters -> the figures' simulated values (transformed), keyed "stat@area"."""

    def __init__(self, cal: Any, obs: list) -> None:
        self.cal, self.obs = cal, obs

    def __call__(self, params: dict) -> dict[str, float]:
        theta = {k: float(params[k]) for k in self.cal.keys}
        seed = seed_for(theta)
        out: dict[str, float] = {}
        for area, arm_name in PRIMARY_ARMS.items():
            arm = self.cal.arms[arm_name]
            res, _ = run_model(arm.loaded, {**arm.overrides, **theta}, seed, self.cal.scale)
            flat = flatten(res) if res is not None else {}
            for o in self.obs:
                if o.area == area:
                    v = flat.get(o.stat)
                    out[f"{o.stat}@{area}"] = float(transform(o.kind, v)) if v is not None else float("nan")
        return out


class Mahalanobis:
    """r' Sigma^-1 r per area, summed, with Sigma the observation model's at fixed hyperparameters."""

    def __init__(self, targets: Any, obs: list, hyper: dict[str, float], keys: list[str]) -> None:
        self.parts = []
        for area in PRIMARY_ARMS:
            mine = [o for o in obs if o.area == area]
            b = build_blocks(targets, mine, {area: "run"}, {"run": known_values(keys, [o.stat for o in mine])})[0]
            _, cov = block_moments(b, b.y[None, :], {h: np.array([hyper[h]]) for h in HYPER}, {})
            self.parts.append(([f"{o.stat}@{area}" for o in b.obs], np.linalg.inv(cov[0])))

    def __call__(self, x: dict, x0: dict) -> float:
        d = 0.0
        for names, prec in self.parts:
            r = np.array([x[n] - x0[n] for n in names])
            if not np.all(np.isfinite(r)):
                return float("inf")
            d += float(r @ prec @ r)
        return d


def main(argv: list[str] | None = None) -> int:
    import pyabc

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=None, help="model runs (default: one design's, size x 10 arms)")
    ap.add_argument("--population", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    cal = load_area_calibration(ROOT / "calibration" / "areas.yaml")
    targets = load_area_targets(cal.targets_path)
    obs = targets.select(series=FIT_SERIES["original"], areas=set(PRIMARY_ARMS))
    post = json.loads((ROOT / "calibration" / "posterior" / "areas.json").read_text())
    hyper = {h: post["hyper"][h]["q50"] for h in HYPER}
    budget = args.budget or (cal.size + (cal.refine.size if cal.refine else 0)) * len(cal.arms)
    particles = budget // len(PRIMARY_ARMS)
    priors = {}
    for k in cal.keys:
        p, (lo, hi) = cal.priors[k], cal.boxes[k]
        if p.uniform is not None:
            priors[k] = pyabc.RV("uniform", p.uniform[0], p.uniform[1] - p.uniform[0])
        else:
            m, s = p.normal
            priors[k] = pyabc.RV("truncnorm", (lo - m) / s, (hi - m) / s, m, s)
    abc = pyabc.ABCSMC(AreasModel(cal, obs), pyabc.Distribution(**priors), Mahalanobis(targets, obs, hyper, cal.keys),
                       population_size=args.population,
                       sampler=pyabc.sampler.MulticoreEvalParallelSampler(n_procs=args.workers))
    observed = {f"{o.stat}@{o.area}": o.y for o in obs}
    t0 = time.monotonic()
    db = ROOT / "results" / "abc_baseline" / "abc.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists():
        db.unlink()
    abc.new(f"sqlite:///{db}", observed)
    history = abc.run(max_total_nr_simulations=particles, max_nr_populations=50)
    pops = history.get_all_populations()
    df, w = history.get_distribution(m=0)
    gens = [{"t": int(r.t), "epsilon": float(r.epsilon), "samples": int(r.samples)} for r in pops.itertuples()
            if r.t >= 0]
    wall = time.monotonic() - t0
    post = json.loads((ROOT / "calibration" / "posterior" / "areas.json").read_text())  # the emulator's, as it is now
    w = np.asarray(w, float)
    ess = float(w.sum() ** 2 / (w ** 2).sum())
    out = {"method": "pyabc ABC-SMC, Mahalanobis distance of the observation model, hyperparameters fixed at the "
                     "emulator posterior's medians", "budget_runs": budget, "particles_simulated": particles,
           "population_size": args.population, "wall_seconds": wall, "generations": gens, "final_ess": ess,
           "parameters": {}}
    for k in cal.keys:
        x = df[k].to_numpy()
        order = np.argsort(x)
        cw = np.cumsum(w[order]) / w.sum()
        q = {f"q{int(p * 100):02d}": float(x[order][np.searchsorted(cw, p)]) for p in (0.05, 0.5, 0.95)}
        em = post["widths"][k]
        lo, hi = cal.priors[k].interval90(cal.boxes[k])
        out["parameters"][k] = {"abc": q, "abc_width_ratio": (q["q95"] - q["q05"]) / (hi - lo),
                                "emulator": {"q05": em["q05"], "q50": em["q50"], "q95": em["q95"]},
                                "emulator_width_ratio": em["width_ratio"]}
    out["emulator_ess"] = post["diagnostics"]["ess"]
    (HERE / "abc_baseline.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"ABC-SMC: {len(gens)} generations, final ESS {ess:.0f}, {wall / 60:.1f} min; emulator ESS "
          f"{out['emulator_ess']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
