"""Benchmark: where the time of one whole `simulate.py run` goes (issue 9: "the whole-process overhead of run is
measured and cut where it is needless").

Runs `python simulate.py run scenarios/wigan.yaml --seed 0 --threads 1 --quiet` at full scale in a child process
pinned to CPU 0, `--repeats` times after one warm-up (Numba's cache, fonts). Inside the child, timers wrap the
phases without changing what runs: the imports, building the population, the months (the Numba passes over
residents apart from the Python of the month, and apart from the burn-in), the tables, the two figures, and the
rest of writing the folder. The child's own total is subtracted from the wall time its parent measured, which
leaves the interpreter's start and teardown. Prints a table of medians and writes benchmarks/overhead_results.json
and benchmarks/overhead_results.md.

    python benchmarks/bench_overhead.py [--repeats 3] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The child: wrap the phases with timers, run the command line's `run`, print the timers as JSON.
CHILD = r"""
import json, sys, time
T0 = time.perf_counter()
acc = {}
phase = ["cli"]
def timed(owner, name, key):
    f = getattr(owner, name)
    def wrapper(*a, **k):
        t = time.perf_counter()
        outer = phase[0]
        if key in ("build", "months"):
            phase[0] = key
        try:
            return f(*a, **k)
        finally:
            phase[0] = outer
            k2 = f"{key}:{outer}" if key == "kernels" else key
            acc[k2] = acc.get(k2, 0.0) + time.perf_counter() - t
    setattr(owner, name, wrapper)
sys.path.insert(0, ".")
import simulate
import runs.batch, runs.single, runs.plots as plots, runs.outputs as outputs
import model.model as mm, model.passes as ps
acc["imports"] = time.perf_counter() - T0
for name in ("month_pass", "mid_year", "inpatients_first", "tally_some"):
    timed(ps, name, "kernels")
timed(mm, "build_population", "population")
timed(mm.DealModel, "__init__", "build")
timed(mm.DealModel, "run", "months")
for name in ("write_csv", "write_parquet"):
    timed(outputs, name, "tables")
for name in ("monthly_figure", "outcomes_figure"):
    timed(plots, name, "figures")
timed(runs.batch, "run_to_folder", "run_to_folder")
status = simulate.main(sys.argv[1:])
acc["total"] = time.perf_counter() - T0
print(json.dumps(acc))
sys.exit(status)
"""


def child(args: list[str]) -> dict[str, float]:
    cmd = [sys.executable, "-c", CHILD, *args]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise SystemExit(f"the run failed:\n{p.stderr}")
    acc = json.loads(p.stdout.strip().splitlines()[-1])
    acc["wall"] = wall
    return acc


def phases(acc: dict[str, float]) -> dict[str, float]:
    """The timers as disjoint phases that add up to the wall time."""
    k_build, k_months = acc.get("kernels:build", 0.0), acc.get("kernels:months", 0.0)
    writing = acc["run_to_folder"] - acc["build"] - acc["months"] - acc["tables"] - acc["figures"]
    return {
        "interpreter start and teardown": acc["wall"] - acc["total"],
        "imports": acc["imports"],
        "population": acc["population"],
        "passes over residents (burn-in and months)": k_build + k_months,
        "the rest of each month (Python; burn-in and months)": acc["build"] - acc["population"] - k_build
        + acc["months"] - k_months,
        "tables (CSV, Parquet)": acc["tables"],
        "figures (2)": acc["figures"],
        "outcomes, JSON, provenance, folder": writing,
        "command line (parsing, scenario, summary)": acc["total"] - acc["imports"] - acc["run_to_folder"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        args = ["run", "scenarios/wigan.yaml", "--seed", "0", "--scale", f"{a.scale:g}", "--out", str(Path(tmp) / "r"),
                "--force", "--quiet", "--threads", "1"]
        child(args)  # warm-up
        runs = [child(args) for _ in range(a.repeats)]
    rows = [phases(r) for r in runs]
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    wall = statistics.median(r["wall"] for r in runs)
    res = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
                      f"{platform.python_version()}", "date": time.strftime("%Y-%m-%d"), "scale": a.scale,
           "repeats": a.repeats, "wall_median_s": round(wall, 2),
           "phases_median_s": {k: round(v, 3) for k, v in med.items()},
           "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs]}
    lines = [f"Where one whole `simulate.py run` goes, scale {a.scale:g}, one core ({res['machine']}, {res['date']}), "
             f"median of {a.repeats}", "", "| phase | seconds | share |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.2f} | {v / wall:.0%} |" for k, v in med.items()]
    lines += [f"| **whole process (wall)** | **{wall:.2f}** | |"]
    text = "\n".join(lines)
    print(text)
    (ROOT / "benchmarks" / "overhead_results.json").write_text(json.dumps(res, indent=2) + "\n")
    (ROOT / "benchmarks" / "overhead_results.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
