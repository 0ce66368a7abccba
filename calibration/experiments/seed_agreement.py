"""Do two independent calibrations agree? The committed calibration (design seed 1) against a replicate (seed 2).

`calibrate-areas --seeds 1,2` does this inside its analysis, but then repeats every fit of seed 1 as well (and
its later fits draw different Monte Carlo numbers for the emulators' errors, so their files would differ a little
from the committed ones). This reads both seeds' finished design files, refits seed 1's primary fit (the same
emulators, sampler and seed as `calibrate-areas`, so the same draws as the committed posterior: checked) and seed
2's replicate fit, and reports `areas_pipeline.agreement`: each shared parameter's medians apart in posterior SDs
(issue 11 asks for at most 0.25) and the Deal's effects under each. To say where a difference comes from, it also
refits seed 1 with another MCMC seed (the sampler's share) and compares the two designs' emulators at seed 1's
posterior, in units of their stated errors (the designs' share).

    python calibration/experiments/seed_agreement.py [--design results/calibration_areas]

Prints a summary and writes calibration/experiments/seed_agreement.json.
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

from calibration.area_config import AreaCalibration, load_area_calibration  # noqa: E402
from calibration.area_design import Design, load_design, merge_designs, recorded_boxes  # noqa: E402
from calibration.area_fit import FitSpec, fit_emulators, run_fit  # noqa: E402
from calibration.area_targets import load_area_targets  # noqa: E402
from calibration.areas_pipeline import FIT_SERIES, PRIMARY_ARMS, agreement  # noqa: E402
from calibration.posterior_io import load_posterior  # noqa: E402
from runs.outputs import jsonable, write_file  # noqa: E402
from runs.provenance import environment  # noqa: E402


def final_stage(cal: AreaCalibration, seed: int, out: Path) -> tuple[AreaCalibration, Design]:
    """A seed's final calibration and design, as `calibrate_areas` assembles them (stage 1 plus stage 2)."""
    c = cal.with_seed(seed)
    d = load_design(c, out / f"design_seed{seed}.jsonl")
    boxes = recorded_boxes(c, out)
    if boxes is None:
        raise SystemExit(f"no stage-2 design for seed {seed} in {out}")
    c2 = c.refined(boxes)
    return c2, merge_designs(d, load_design(c2, out / f"design_seed{seed}_stage2.jsonl"), boxes)


def emulators_apart(e1: dict, e2: dict, theta: np.ndarray) -> dict[str, dict[str, float]]:
    """Per arm, how far the two designs' emulators are apart at seed 1's posterior draws: the difference of their
    median predictions over the root of the two stated error variances (|z| about 1 or less if each error is as
    stated), median and largest over the statistics, and the statistic with the largest."""
    out = {}
    for arm in e1:
        if arm.startswith("effect:"):
            continue
        names = e1[arm].names
        err = np.sqrt(e1[arm].err_var + e2[arm].err_var[e2[arm].index(names)])
        z = (np.median(e1[arm].mean(theta), axis=0) - np.median(e2[arm].mean(theta, names), axis=0)) / err
        i = int(np.argmax(np.abs(z)))
        out[arm] = {"median_abs_z": float(np.median(np.abs(z))), "max_abs_z": float(np.abs(z[i])),
                    "largest": names[i]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibration", type=Path, default=ROOT / "calibration" / "areas.yaml")
    ap.add_argument("--design", type=Path, default=ROOT / "results" / "calibration_areas")
    ap.add_argument("--out", type=Path, default=ROOT / "calibration" / "experiments" / "seed_agreement.json")
    args = ap.parse_args()
    t0 = time.monotonic()
    cal = load_area_calibration(args.calibration)
    targets = load_area_targets(cal.targets_path)
    (c1, d1), (c2, d2) = final_stage(cal, 1, args.design), final_stage(cal, 2, args.design)
    e1, e2 = fit_emulators(c1, d1, targets), fit_emulators(c2, d2, targets)
    w = cal.fit.primary_walkers
    a = run_fit(c1, targets, e1, FitSpec("primary_original", FIT_SERIES["original"], PRIMARY_ARMS, seed=cal.fit.seed),
                walkers=w)
    b = run_fit(c2, targets, e2, FitSpec("replicate_seed2", FIT_SERIES["original"], PRIMARY_ARMS,
                                         seed=cal.fit.seed + 2), walkers=w)
    committed = load_posterior(ROOT / "calibration" / "posterior" / "areas.csv")
    mine = a.draws[:, :len(cal.keys)]
    same = committed.values.shape == mine.shape and bool(np.allclose(committed.values, mine, rtol=1e-6, atol=1e-9))
    res = agreement(c1, a, b, e1, e2, [1, 2], np.random.default_rng(cal.fit.seed))
    # What the sampler alone contributes: seed 1's own emulators, another MCMC seed.
    m = run_fit(c1, targets, e1, FitSpec("mcmc_seed", FIT_SERIES["original"], PRIMARY_ARMS, seed=cal.fit.seed + 1000),
                walkers=w)
    res["mcmc_only"] = {k: v["difference_in_sd"] for k, v in
                        agreement(c1, a, m, e1, e1, [1, 1], np.random.default_rng(cal.fit.seed))["parameters"].items()}
    res["emulators_apart"] = emulators_apart(e1, e2, a.draws[:, :len(cal.keys)])
    res.update({"seed1_reproduces_committed_posterior": same, "ess": {"seed1": a.ess, "seed2": b.ess},
                "design_points": {"seed1": d1.size, "seed2": d2.size}, "seconds": time.monotonic() - t0,
                "provenance": {"command_line": " ".join(sys.argv), **environment(ROOT)}})
    text = json.dumps(jsonable(res), indent=1, allow_nan=False) + "\n"
    write_file(args.out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    print(f"seed 1 reproduces the committed posterior: {same}; ESS {a.ess:.0f} and {b.ess:.0f}")
    for k, r in res["parameters"].items():
        print(f"  {k:45s} {r['median_a']:+.4g} vs {r['median_b']:+.4g}: {r['difference_in_sd']:.2f} SD")
    n = sum(r["difference_in_sd"] <= 0.25 for r in res["parameters"].values())
    print(f"within 0.25 SD: {n} of {len(res['parameters'])}")
    print(f"the sampler alone (seed 1's emulators, another MCMC seed): up to {max(res['mcmc_only'].values()):.2f} SD")
    for arm, z in res["emulators_apart"].items():
        print(f"  emulators of {arm}: median |z| {z['median_abs_z']:.2f}, "
              f"largest {z['max_abs_z']:.2f} ({z['largest']})")
    for k, e in res["effects"].items():
        print(f"  {k}: {e['a']['q50']:+.2f} [{e['a']['q05']:+.2f}, {e['a']['q95']:+.2f}] vs "
              f"{e['b']['q50']:+.2f} [{e['b']['q05']:+.2f}, {e['b']['q95']:+.2f}]")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
