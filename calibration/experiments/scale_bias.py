"""Does calibrating at reduced scale bias the fitted outcomes? Compare every fit statistic's mean over seeds at the
calibration's scale with its mean at full scale (same parameters: the scenario's), against the statistic's noise.

A statistic is unbiased within noise when |mean(scale) - mean(full)| is within 2 standard errors of the
difference; the table also states the difference as a share of the target's observation sd (what the
calibration's distance sees). Writes calibration/experiments/scale_bias.json. Run:

    python calibration/experiments/scale_bias.py [--seeds-small 16] [--seeds-full 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from calibration.config import load_calibration  # noqa: E402
from calibration.targets import simulated  # noqa: E402


def one(args: tuple[float, int]) -> dict[str, float]:
    from model.scenario import load_scenario
    from runs.single import run_one
    scale, seed = args
    cal = load_calibration(ROOT / "calibration" / "wigan.yaml")
    o = run_one(load_scenario(ROOT / "scenarios" / "wigan.yaml"), seed, scale, overrides={"time.end": cal.end}).outcomes
    return simulated(o, cal.targets.stats("fit"))


def _task(index: int, job: tuple):
    return one(job)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds-small", type=int, default=16)
    ap.add_argument("--seeds-full", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    cal = load_calibration(ROOT / "calibration" / "wigan.yaml")
    small = cal.scale
    jobs = [(small, s) for s in range(a.seeds_small)] + [(1.0, 1000 + s) for s in range(a.seeds_full)]
    from runs import executor

    with executor.session(a.workers) as client:  # the project's one executor (Dask)
        res = executor.map_jobs(client, _task, [(j,) for j in jobs])
    S, F = res[: a.seeds_small], res[a.seeds_small:]
    sd = {s.name: s.sd for s in cal.targets.stats("fit")}
    rows = []
    for k in S[0]:
        xs = np.array([r[k] for r in S], float)
        xf = np.array([r[k] for r in F], float)
        xs, xf = xs[np.isfinite(xs)], xf[np.isfinite(xf)]
        diff = xs.mean() - xf.mean()
        se = float(np.sqrt(xs.var(ddof=1) / xs.size + xf.var(ddof=1) / xf.size))
        rows.append({"statistic": k, f"mean_scale_{small:g}": float(xs.mean()), "mean_full": float(xf.mean()),
                     "sd_seeds_small": float(xs.std(ddof=1)), "sd_seeds_full": float(xf.std(ddof=1)),
                     "difference": float(diff), "se_difference": se, "z": float(diff / se) if se > 0 else 0.0,
                     "difference_over_target_sd": float(diff / sd[k]), "within_2se": bool(abs(diff) <= 2 * se)})
    n_in = sum(r["within_2se"] for r in rows)
    out = {"scale": small, "seeds_small": a.seeds_small, "seeds_full": a.seeds_full, "rows": rows,
           "within_2se": n_in, "statistics": len(rows),
           "max_abs_difference_over_target_sd": max(abs(r["difference_over_target_sd"]) for r in rows)}
    (ROOT / "calibration" / "experiments" / "scale_bias.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"{'statistic':58s} {'scale':>8s} {'full':>8s} {'diff':>7s} {'z':>6s} {'diff/sd':>7s}")
    for r in rows:
        print(f"{r['statistic']:58s} {r[f'mean_scale_{small:g}']:8.2f} {r['mean_full']:8.2f} {r['difference']:7.2f} "
              f"{r['z']:6.2f} {r['difference_over_target_sd']:7.2f}")
    print(f"{n_in} of {len(rows)} statistics within 2 standard errors (expected about 95% if unbiased)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
