"""How much of Wigan's change is the Deal's, and how much Greater Manchester devolution's and England's trend's?

For posterior draws x seeds (common random numbers: every arm of a draw and seed uses the same seed), runs
  deal         Wigan as calibrated (the Deal, devolution, national trend)
  no_deal      the same without the Deal                       -> Deal effect        = deal - no_deal
  no_devo      the Deal without devolution                    -> devolution effect  = deal - no_devo
  no_trend     the Deal without England's trends (set to 0)   -> national trend     = deal - no_trend
and reports each effect's median and 90% interval over draws and seeds for healthy life expectancy 2017-19,
care-home admissions (mean 2015/16-2017/18), delayed transfers 2017/18 and cumulative savings 2017.
Writes calibration/experiments/attribution_wigan_only.json (the superseded Wigan-only calibration). Run:

    python calibration/experiments/attribution.py [--draws 20] [--seeds 2] [--scale 0.1] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from runs.outputs import quantiles

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from calibration.posterior_io import load_posterior, posterior_draws  # noqa: E402
from calibration.simulation import seed_for  # noqa: E402

ARMS = {
    "deal": {},
    "no_deal": {"deal.enabled": False},
    "no_devo": {"context.greater_manchester": False},
    "no_trend": {"context.national_frailty_trend": 0.0, "context.national_mortality_trend": 0.0},
}
MEASURES = {
    "hle_male 2017-19": ("hle_male", ["2017-19"]),
    "hle_female 2017-19": ("hle_female", ["2017-19"]),
    "care-home admissions 65+ per 100k, mean 2015/16-2017/18": ("care_home_admissions_65plus_per_100k",
                                                                ["2015/16", "2016/17", "2017/18"]),
    "delayed transfers per 100k 18+, 2017/18": ("delayed_transfers_per_100k", ["2017/18"]),
    "cumulative savings GBP m, 2017": ("cumulative_savings_gbp_m", ["2017"]),
}


def run(job: tuple[dict, int, float]) -> dict[str, float]:
    from model.scenario import load_scenario
    from runs.single import run_one
    over, seed, scale = job
    o = run_one(load_scenario(ROOT / "scenarios" / "wigan.yaml"), seed, scale,
                overrides={**over, "time.end": "2020-12"}).outcomes
    out = {}
    for name, (key, periods) in MEASURES.items():
        vals = [o.get(key, {}).get(p) for p in periods]
        out[name] = float(np.mean(vals)) if all(v is not None for v in vals) else float("nan")
    return out


def _task(index: int, job: tuple):
    return run(job)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    post = load_posterior()
    draws = posterior_draws(post, a.draws, np.random.default_rng(20260101))
    jobs, keys = [], []
    for i, params in enumerate(draws):
        for k in range(a.seeds):
            seed = seed_for(params, salt=f"attribution:{i}:{k}")
            for arm, over in ARMS.items():
                jobs.append(({**params, **over}, seed, a.scale))
                keys.append((i, k, arm))
    from runs import executor

    with executor.session(a.workers) as client:  # the project's one executor (Dask)
        res = executor.map_jobs(client, _task, [(j,) for j in jobs])
    by = {key: r for key, r in zip(keys, res)}
    effects = {}
    for name in MEASURES:
        eff = {"deal": [], "devolution": [], "national_trend": []}
        level = []
        for i in range(a.draws):
            for k in range(a.seeds):
                d = by[(i, k, "deal")][name]
                level.append(d)
                eff["deal"].append(d - by[(i, k, "no_deal")][name])
                eff["devolution"].append(d - by[(i, k, "no_devo")][name])
                eff["national_trend"].append(d - by[(i, k, "no_trend")][name])
        effects[name] = {"level_with_everything": _q(level),
                         **{e: {**_q(v), "p_positive": float(np.mean(np.array(v)[np.isfinite(v)] > 0))}
                            for e, v in eff.items()}}
    out = {"draws": a.draws, "seeds": a.seeds, "scale": a.scale, "posterior": post.provenance.get("created"),
           "arms": ARMS, "effects": effects}
    (ROOT / "calibration" / "experiments" / "attribution_wigan_only.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"{'measure':58s} {'effect':>15s} {'median':>8s} {'90% interval':>20s}")
    for name, e in effects.items():
        for what in ("deal", "devolution", "national_trend"):
            q = e[what]
            print(f"{name:58s} {what:>15s} {q['q50']:8.2f} [{q['q05']:8.2f}, {q['q95']:8.2f}]")
    return 0


def _q(v: list[float]) -> dict[str, float]:
    return quantiles(v, median="q50", count=False, rnd=None)  # type: ignore[return-value]


if __name__ == "__main__":
    raise SystemExit(main())
