"""Parameter recovery: calibrate against data simulated from known parameter values, and check that the
posterior's 90% intervals contain them.

The synthetic "observed" series are the model's own outcomes at the true values (one seed, the calibration's
scale), measured by the same observation models as Wigan's data. The priors are those of calibration/wigan.yaml.
Writes calibration/experiments/recovery.json and prints a table. Run:

    python calibration/experiments/recovery.py [--population 80] [--generations 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from calibration.posterior_io import load_posterior  # noqa: E402
from model.scenario import load_scenario  # noqa: E402
from runs.single import run_one  # noqa: E402

TRUE = {  # inside the Wigan priors, away from their edges
    "health.threshold_male": 2.60,
    "health.w_self_help": 0.20,
    "front_door.traditional_care_home": 0.40,
}
SEED = 12345


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=80)
    ap.add_argument("--generations", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--out", default=str(ROOT / "results" / "recovery"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    wig = yaml.safe_load((ROOT / "calibration" / "wigan.yaml").read_text())
    # 1. synthetic observations at the true values
    o = run_one(load_scenario(ROOT / "scenarios" / "wigan.yaml"), SEED, a.scale,
                overrides={**TRUE, "time.end": wig["simulation"]["end"]}).outcomes
    tg = yaml.safe_load((ROOT / "calibration" / "targets" / "wigan.yaml").read_text())
    synth = []
    for t in tg["targets"]:
        if "fit" not in t:
            continue
        t = dict(t)
        t.pop("holdout", None)
        t["fit"] = {p: float(o[t["outcome"]][str(p)]) for p in t["fit"]}
        t["source"] = "synthetic: dealsim at the true values of calibration/experiments/recovery.py"
        synth.append(t)
    (out / "targets.yaml").write_text(yaml.safe_dump({"targets": synth}, sort_keys=False))
    cal = {
        "scenario": str(ROOT / "scenarios" / "wigan.yaml"),
        "targets": "targets.yaml",
        "simulation": {"scale": a.scale, "end": wig["simulation"]["end"]},
        "abc": {**wig["abc"], "population_size": a.population, "max_generations": a.generations,
                "max_walltime_minutes": 30},
        "parameters": {k: wig["parameters"][k] for k in TRUE},
    }
    (out / "calibration.yaml").write_text(yaml.safe_dump(cal, sort_keys=False))
    # 2. calibrate
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "cli.calibration", "calibrate", str(out / "calibration.yaml"),
                        "--out", str(out / "abc"), "--posterior", str(out / "posterior.csv"), "--fresh",
                        "--workers", str(a.workers)], cwd=ROOT)
    if r.returncode:
        return r.returncode
    # 3. compare
    post = load_posterior(out / "posterior.csv")
    rows = []
    for j, k in enumerate(post.keys):
        x, w = post.values[:, j], post.weights / post.weights.sum()
        order = np.argsort(x)
        cdf = np.cumsum(w[order])
        q = {p: float(x[order][np.searchsorted(cdf, p)]) for p in (0.05, 0.5, 0.95)}
        lo, hi = wig["parameters"][k]["prior"]["uniform"]
        rows.append({"parameter": k, "true": TRUE[k], "q05": q[0.05], "median": q[0.5], "q95": q[0.95],
                     "prior": [lo, hi], "inside_90": q[0.05] <= TRUE[k] <= q[0.95],
                     "interval_width_share_of_prior": (q[0.95] - q[0.05]) / (hi - lo)})
    res = {"true": TRUE, "seed": SEED, "scale": a.scale, "population": a.population, "generations": a.generations,
           "wall_s": round(time.time() - t0, 1), "ess": float(post.ess()), "rows": rows,
           "recovered": all(r["inside_90"] for r in rows)}
    (ROOT / "calibration" / "experiments" / "recovery.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"{'parameter':38s} {'true':>7s} {'median':>7s} {'90% interval':>18s} inside  width/prior")
    for r_ in rows:
        print(f"{r_['parameter']:38s} {r_['true']:7.3f} {r_['median']:7.3f} [{r_['q05']:7.3f}, {r_['q95']:7.3f}] "
              f"{'yes' if r_['inside_90'] else 'NO':>6s}  {r_['interval_width_share_of_prior']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
