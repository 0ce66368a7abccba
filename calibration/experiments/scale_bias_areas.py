"""Does the multi-area design's scale bias the expected outcomes the emulator learns?

The emulator averages the simulator's noise at the design scale (0.05), but it learns the *mean at that scale*. This
compares, at the prior centre, each fitted statistic's mean over seeds at the design scale with its mean at full
scale, for Wigan (the Deal), England and Barnsley, in units of the figure's observation noise (on the noise scale of
calibration/likelihood.py) and of the difference's standard error. Writes scale_bias_areas.json beside this file.

    python -m calibration.experiments.scale_bias_areas [--seeds-small 12] [--seeds-full 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calibration.area_config import load_area_calibration  # noqa: E402
from calibration.area_design import flatten  # noqa: E402
from calibration.area_targets import load_area_targets, transform  # noqa: E402
from calibration.simulation import run_model  # noqa: E402

ARMS = ("wigan", "england", "barnsley")


def _centre(cal) -> dict[str, float]:
    out = {}
    for k in cal.keys:
        p = cal.priors[k]
        out[k] = (p.uniform[0] + p.uniform[1]) / 2 if p.uniform is not None else p.normal[0]
    return out


def _job(index: int, arm: str, seed: int, scale: float) -> dict[str, float]:
    cal = load_area_calibration(ROOT / "calibration" / "areas.yaml")
    a = cal.arms[arm]
    res, why = run_model(a.loaded, {**a.overrides, **_centre(cal)}, seed, scale)
    return flatten(res) if res is not None else {"error": why}


def main(argv: list[str] | None = None) -> int:
    from runs import executor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds-small", type=int, default=12)
    ap.add_argument("--seeds-full", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    cal = load_area_calibration(ROOT / "calibration" / "areas.yaml")
    targets = load_area_targets(cal.targets_path)
    jobs = [(arm, s, cal.scale) for arm in ARMS for s in range(args.seeds_small)]
    jobs += [(arm, 100 + s, 1.0) for arm in ARMS for s in range(args.seeds_full)]
    with executor.session(args.workers) as client:
        res = executor.map_jobs(client, _job, jobs)
    rows = []
    for arm in ARMS:
        area = cal.arms[arm].area
        small = [r for (a, _, sc), r in zip(jobs, res) if a == arm and sc < 1]
        full = [r for (a, _, sc), r in zip(jobs, res) if a == arm and sc == 1.0]
        for o in targets.obs:
            if o.area != area or o.series == "hle_revised":
                continue
            xs = np.array([float(transform(o.kind, r[o.stat])) for r in small if o.stat in r])
            xf = np.array([float(transform(o.kind, r[o.stat])) for r in full if o.stat in r])
            if len(xs) < 2 or len(xf) < 1:
                continue
            se = float(np.sqrt(xs.var(ddof=1) / len(xs) + (xf.var(ddof=1) / len(xf) if len(xf) > 1 else 0.0)))
            s = targets.series[o.series]
            sd = (s.sd.england if targets.areas[area].reference else s.sd.borough) if s.sd else None
            d = float(xs.mean() - xf.mean())
            rows.append({"arm": arm, "stat": o.stat, "mean_small": float(xs.mean()), "mean_full": float(xf.mean()),
                         "difference": d, "se": se, "z": d / se if se > 0 else None,
                         "difference_over_noise_sd": d / sd if sd else None,
                         "sd_small": float(xs.std(ddof=1))})
    out = {"design_scale": cal.scale, "seeds_small": args.seeds_small, "seeds_full": args.seeds_full,
           "parameters": "prior centre", "rows": rows,
           "within_2_se": sum(1 for r in rows if r["z"] is not None and abs(r["z"]) <= 2), "n": len(rows)}
    (HERE / "scale_bias_areas.json").write_text(json.dumps(out, indent=1) + "\n")
    worst = sorted(rows, key=lambda r: -abs(r["difference_over_noise_sd"] or 0))[:6]
    print(f"{out['within_2_se']} of {out['n']} statistics within 2 SE; largest relative to the figure's noise:")
    for r in worst:
        print(f"  {r['arm']} {r['stat']}: {r['difference']:+.3f} ({r['difference_over_noise_sd']}, z {r['z']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
