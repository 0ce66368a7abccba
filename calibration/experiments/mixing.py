"""How well does the multi-area posterior's sampler mix? emcee's ESS against batch means and repeated fits.

The calibration reports emcee's effective sample size (draws over the largest integrated autocorrelation time).
That estimate needs a chain about fifty autocorrelation times long; ours is about eighteen. This refits the
primary fit (seed 1's final emulators, the original series) with several MCMC seeds per sampler setting and
reports, per setting: emcee's ESS, the batch-means ESS (`area_fit.batch_means_ess`, smallest over the 17
parameters) and how far the repeated fits' posterior medians spread, in posterior SDs (their between-fit SD; two
fits' medians differ by about 1.13 times that on average). It needs only the design files.

    python calibration/experiments/mixing.py [--design results/calibration_areas] [--settings 64x4000,256x4000]

Prints a table and writes calibration/experiments/mixing.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibration.area_config import load_area_calibration  # noqa: E402
from calibration.area_fit import FitSpec, batch_means_ess, fit_emulators, run_fit  # noqa: E402
from calibration.area_targets import load_area_targets  # noqa: E402
from calibration.areas_pipeline import FIT_SERIES, PRIMARY_ARMS  # noqa: E402
from calibration.posterior_io import load_posterior  # noqa: E402
from runs.outputs import jsonable, write_file  # noqa: E402
from runs.provenance import environment  # noqa: E402
from seed_agreement import final_stage  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibration", type=Path, default=ROOT / "calibration" / "areas.yaml")
    ap.add_argument("--design", type=Path, default=ROOT / "results" / "calibration_areas")
    ap.add_argument("--settings", default="64x4000,256x4000,64x16000", help="walkers x steps, comma-separated")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "calibration" / "experiments" / "mixing.json")
    args = ap.parse_args()
    t0 = time.monotonic()
    cal = load_area_calibration(args.calibration)
    targets = load_area_targets(cal.targets_path)
    c1, d1 = final_stage(cal, 1, args.design)
    emu = fit_emulators(c1, d1, targets)
    d = len(cal.keys)
    committed = {}
    for name in ("areas", "areas_revised"):
        post = load_posterior(ROOT / "calibration" / "posterior" / f"{name}.csv")
        info = json.loads((ROOT / "calibration" / "posterior" / f"{name}.json").read_text(encoding="utf-8"))
        b = batch_means_ess(post.values[:, :d])
        committed[name] = {"ess_emcee": info["diagnostics"]["ess"], "ess_batch_means_min": float(b.min()),
                           "ess_batch_means": {k: float(v) for k, v in zip(cal.keys, b)}}
        print(f"committed {name}: emcee ESS {info['diagnostics']['ess']:.0f}, batch-means ESS "
              f"{b.min():.0f} (smallest, {cal.keys[int(b.argmin())]})", flush=True)
    settings = []
    for s in args.settings.split(","):
        walkers, steps = (int(v) for v in s.lower().split("x"))
        meds, sds, ess, bess, secs = [], [], [], [], []
        for r in range(args.repeats):
            t = time.monotonic()
            f = run_fit(c1, targets, emu, FitSpec("primary_original", FIT_SERIES["original"], PRIMARY_ARMS,
                                                  seed=cal.fit.seed + 1000 + r), walkers=walkers, steps=steps)
            secs.append(time.monotonic() - t)
            th = f.draws[:, :d]
            meds.append(np.median(th, axis=0))
            sds.append(th.std(axis=0))
            ess.append(f.ess)
            bess.append(float(batch_means_ess(th).min()))
        spread = np.array(meds).std(axis=0, ddof=1) / np.mean(sds, axis=0)
        row = {"walkers": walkers, "steps": steps, "repeats": args.repeats, "seconds_per_fit": float(np.mean(secs)),
               "ess_emcee": ess, "ess_batch_means_min": bess,
               "median_spread_in_sd": {k: float(v) for k, v in zip(cal.keys, spread)},
               "median_spread_in_sd_max": float(spread.max())}
        settings.append(row)
        print(f"{walkers:4d} walkers x {steps:6d} steps: {np.mean(secs):5.0f} s a fit, emcee ESS {np.mean(ess):5.0f}, "
              f"batch-means ESS {np.mean(bess):4.0f}, medians' spread up to {spread.max():.2f} SD "
              f"({cal.keys[int(spread.argmax())]})", flush=True)
    res = {"committed": committed, "settings": settings, "seconds": time.monotonic() - t0,
           "provenance": {"command_line": " ".join(sys.argv), **environment(ROOT)}}
    text = json.dumps(jsonable(res), indent=1, allow_nan=False) + "\n"
    write_file(args.out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
