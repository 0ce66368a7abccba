"""Benchmark of the calibration's model function: simulations per second, and the projected calibration time.

    python benchmarks/bench_calibration.py                 # calibration/wigan.yaml at its scale (0.1), 40 simulations
    python benchmarks/bench_calibration.py --scale 0.02 --n 20 --out /tmp/bench.json

Times N calls of the ABC model function (``calibration.abc.ModelFunction``: parameters drawn from the prior ->
scenario with overrides -> ``DealModel(...).run()`` to ``simulation.end`` -> fit statistics), exactly as pyabc calls
it, in one process and in 2 worker processes forked from a warmed-up parent (as pyabc's multicore sampler does).
Each simulation's CPU time is recorded as well as its wall time: when other work shares the machine (load
average above 3/4 of the CPUs), the projection uses the CPU time per simulation, i.e. the rate on free cores.
Then projects the wall time of the default calibration on 2 processes:

    simulations = population_size x (1 calibration sample + sum over generations of 1 / acceptance rate)

with an assumed acceptance schedule (``--acceptance``; the default is what short runs of this calibration showed,
see benchmarks/calibration_results.json), at the measured 2-process rate plus pyabc's own time per simulation
(measured by an ABC run of the same size with an instant model).
Writes benchmarks/calibration_results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# Acceptance rate by generation assumed for the projection: generations 1-2 as measured at scale 0.1 with 150
# particles (0.46, 0.40), 3-4 as at scale 0.02 (0.35, 0.16); later ones assumed to fall about 1.5 times a
# generation as epsilon tightens (not measured: the default calibration was not run here).
ACCEPTANCE = (0.46, 0.40, 0.35, 0.16, 0.10, 0.065, 0.045, 0.03)

_FN = None
_PARAMS: list = []


def _one(i: int) -> tuple[float, float]:
    """(wall s, CPU s of this process) of one simulation."""
    t, c = time.perf_counter(), time.process_time()
    _FN(_PARAMS[i])
    return time.perf_counter() - t, time.process_time() - c


def _time_serial(n: int) -> tuple[float, list[float], list[float]]:
    t0 = time.perf_counter()
    each = [_one(i) for i in range(n)]
    return time.perf_counter() - t0, [w for w, _ in each], [c for _, c in each]


def _time_pool(n: int, procs: int) -> tuple[float, list[float]]:
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("fork")  # as pyabc's multicore sampler: workers inherit the warmed-up model
    with ProcessPoolExecutor(max_workers=procs, mp_context=ctx) as ex:
        list(ex.map(_one, range(procs)))  # start the workers before timing
        t0 = time.perf_counter()
        res = list(ex.map(_one, range(n), chunksize=1))
        return time.perf_counter() - t0, [c for _, c in res]


def _pyabc_overhead(cal, procs: int) -> tuple[float, int, float]:
    """pyabc's own time per simulation (proposals, weights, database) on ``procs`` processes: an ABC run of 3
    generations with the calibration's priors, population and distance, and an instant model.
    Returns (seconds per simulation, simulations, wall time)."""
    import logging
    import tempfile

    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)
    fit = cal.stats("fit")
    obs = {s.name: s.observed for s in fit}

    def instant(p):
        return {k: v + np.random.normal() for k, v in obs.items()}

    from calibration.abc import make_abc

    with tempfile.TemporaryDirectory() as d:
        abc = make_abc(cal, pyabc.sampler.MulticoreEvalParallelSampler(n_procs=procs))
        abc.models[0].sample_function = instant  # the calibration's ABC (priors, distance, transition), instant model
        abc.new(f"sqlite:///{d}/b.db", obs)
        t0 = time.perf_counter()
        h = abc.run(max_nr_populations=3)
        total = time.perf_counter() - t0
        sims = int(h.total_nr_simulations)
    return total / sims, sims, total


def main(argv: list[str] | None = None) -> int:
    global _FN, _PARAMS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calibration", default=str(ROOT / "calibration" / "wigan.yaml"), help="calibration file")
    ap.add_argument("--scale", type=float, default=None, help="scale (default: the calibration's simulation.scale)")
    ap.add_argument("--n", type=int, default=40, help="simulations per measurement (default 40)")
    ap.add_argument("--acceptance", default=",".join(map(str, ACCEPTANCE)),
                    help="assumed acceptance rate of each generation, comma-separated, for the projection")
    ap.add_argument("--out", default=str(HERE / "calibration_results.json"), help="result file")
    args = ap.parse_args(argv)

    from calibration.abc import ModelFunction, warm_up
    from calibration.config import load_calibration

    cal = load_calibration(args.calibration)
    scale = args.scale if args.scale is not None else cal.scale
    _FN = ModelFunction.from_calibration(cal, scale)
    rng = np.random.default_rng(0)
    _PARAMS = [{k: float(rng.uniform(p.low, p.high)) for k, p in cal.parameters.items()} for _ in range(args.n)]

    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    warm_up(cal.loaded)
    _FN(_PARAMS[0])  # first run at this scale: caches, allocator
    print(f"{cal.name}: scale {scale:g}, {len(cal.keys)} free parameters, to {cal.end}; {args.n} simulations each",
          flush=True)
    t1, each, cpu1 = _time_serial(args.n)
    r1 = args.n / t1
    cpu = float(np.median(cpu1))
    print(f"  1 process : {t1:6.1f} s, {r1:5.2f} simulations/s (median {np.median(each):.3f} s wall, "
          f"{cpu:.3f} s CPU per simulation)", flush=True)
    procs = min(2, os.cpu_count() or 1)
    t2, cpu2 = _time_pool(args.n, procs)
    r2 = args.n / t2
    print(f"  {procs} processes: {t2:6.1f} s, {r2:5.2f} simulations/s (efficiency {r2 / (procs * r1):.0%}; "
          f"median {np.median(cpu2):.3f} s CPU per simulation)", flush=True)
    if load_before and load_before[0] > (os.cpu_count() or 1) * 0.75:
        print(f"  note: load average {load_before[0]:.1f} on {os.cpu_count()} CPUs: other work shared the machine; the "
              f"CPU time per simulation ({cpu:.3f} s) is the figure to trust, {1 / cpu:.2f} simulations/s per free core",
              flush=True)
    overhead, o_sims, o_wall = _pyabc_overhead(cal, procs)
    print(f"  pyabc's own time: {overhead * 1000:.1f} ms per simulation on {procs} processes ({o_sims:,} instant "
          f"simulations in {o_wall:.1f} s, wall)", flush=True)

    # Project from the CPU time per simulation on free cores (wall rates are shown above as measured).
    contended = bool(load_before and load_before[0] > (os.cpu_count() or 1) * 0.75)
    if contended:
        r2 = procs / float(np.median(cpu2))
    acc = [float(x) for x in args.acceptance.split(",")][: cal.max_generations]
    acc += [acc[-1]] * (cal.max_generations - len(acc))
    per_gen = [cal.population_size / a for a in acc]
    sims = cal.population_size + sum(per_gen)
    cum, gens_in_budget, t = [], 0, 0.0
    budget = (cal.max_walltime_minutes or float("inf")) * 60
    per_sim = 1.0 / r2 + overhead
    t = cal.population_size * per_sim
    for g in per_gen:
        t_next = t + g * per_sim
        cum.append(t_next)
        if t_next <= budget:
            gens_in_budget += 1
        t = t_next
    projected = cum[-1]
    cap = cal.population_size + cal.max_generations * (cal.population_size / cal.min_acceptance_rate
                                                       if cal.min_acceptance_rate else float("inf"))
    print(f"  projection ({procs} processes, acceptance {', '.join(f'{a:g}' for a in acc)}): {sims:,.0f} simulations, "
          f"{projected / 60:.1f} min for {cal.max_generations} generations; {gens_in_budget} generation(s) end within "
          f"max_walltime_minutes {cal.max_walltime_minutes:g}", flush=True)

    res = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "numpy": np.__version__, "processor": platform.processor() or None,
                    "load_average_before": load_before,
                    "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
                    "note": "a load average above the number of CPUs means other work shared the machine"},
        "calibration": os.path.relpath(cal.path, ROOT), "scale": scale, "end": cal.end,
        "free_parameters": len(cal.keys), "simulations_per_measurement": args.n,
        "one_process": {"wall_s": round(t1, 3), "simulations_per_s": round(r1, 3),
                        "median_wall_s": round(float(np.median(each)), 4), "median_cpu_s": round(cpu, 4),
                        "min_wall_s": round(min(each), 4), "max_wall_s": round(max(each), 4)},
        "processes": procs,
        "pool": {"wall_s": round(t2, 3), "simulations_per_s": round(args.n / t2, 3),
                 "efficiency": round(args.n / t2 / (procs * r1), 3), "median_cpu_s": round(float(np.median(cpu2)), 4)},
        "simulations_per_s_used_for_projection": round(r2, 3),
        "projection_rate_from": "CPU time per simulation (machine shared)" if contended else "wall time",
        "pyabc_overhead": {"s_per_simulation": round(overhead, 5), "simulations": o_sims, "wall_s": round(o_wall, 2),
                           "note": "3 generations with an instant model, same priors, population, distance, sampler"},
        "projection": {
            "population_size": cal.population_size, "max_generations": cal.max_generations,
            "assumed_acceptance": acc, "simulations": round(sims),
            "cumulative_minutes_by_generation": [round(c / 60, 2) for c in cum],
            "minutes": round(projected / 60, 2), "max_walltime_minutes": cal.max_walltime_minutes,
            "generations_within_walltime": gens_in_budget,
            "worst_case_simulations_before_min_acceptance_stop": None if cap == float("inf") else round(cap),
        },
    }
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
