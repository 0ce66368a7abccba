"""Benchmark: a whole full-scale `simulate.py run` against Starsim's bare demography, side by side.

dealsim: `python simulate.py run scenarios/wigan.yaml --threads 1` (317,849 residents, 204 months plus a 3-year
burn-in, every output written: CSV, Parquet, JSON, provenance, two figures), as a whole process.
Starsim 3.7.2: births and deaths alone (ss.Births() and ss.Deaths() with their defaults), 318,000 agents, monthly
steps 2009-2026 (205 steps), as a whole process. Starsim is a peer to measure against, not a dependency: it is
installed into its own environment (benchmarks/.venv-starsim, made on first use with this Python).

One warm-up run of each (Numba's cache, fonts), then `--pairs` pairs alternated, both pinned to CPU 0 (one core);
the ratio is dealsim's time over Starsim's in each pair, and its median is reported. Then dealsim with
`--threads 2` on both cores (no pinning), and the peak memory (ru_maxrss) of each dealsim process.

    python benchmarks/bench_speed.py [--pairs 3]

Prints a table and writes benchmarks/speed_results.json and benchmarks/speed_results.md.
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
VENV = ROOT / "benchmarks" / ".venv-starsim"
STARSIM = "starsim==3.7.2"
STARSIM_SCRIPT = """
import starsim as ss
sim = ss.Sim(n_agents=318_000, start=2009, stop=2026, dt=ss.month, demographics=[ss.Births(), ss.Deaths()],
             verbose=0)
sim.run()
"""


def starsim_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists() or subprocess.run([str(py), "-c", "import starsim"], capture_output=True).returncode:
        print(f"installing {STARSIM} into {VENV} (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", STARSIM], check=True)
    return py


def timed(cmd: list[str], pin: bool, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole process."""
    if pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    a = ap.parse_args()
    ss_py = starsim_python()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "STARSIM_INSTALL_FONTS": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"

        def dealsim(threads: int, pin: bool) -> tuple[float, float]:
            return timed([sys.executable, "simulate.py", "run", "scenarios/wigan.yaml", "--seed", "0", "--out", str(out),
                          "--force", "--quiet", "--threads", str(threads)], pin, env)

        def starsim() -> tuple[float, float]:
            return timed([str(ss_py), "-c", STARSIM_SCRIPT], True, env)

        dealsim(1, True)
        starsim()
        pairs = []
        for _ in range(a.pairs):
            d, d_mem = dealsim(1, True)
            s, s_mem = starsim()
            pairs.append({"dealsim_s": round(d, 2), "starsim_s": round(s, 2), "ratio": round(d / s, 3),
                          "dealsim_peak_mb": round(d_mem), "starsim_peak_mb": round(s_mem)})
        two = [dealsim(2, False) for _ in range(a.pairs)]
    ratio = statistics.median(p["ratio"] for p in pairs)
    res = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"), "starsim": STARSIM, "pairs": pairs,
        "median_ratio_one_core": round(ratio, 3),
        "dealsim_one_core_median_s": round(statistics.median(p["dealsim_s"] for p in pairs), 2),
        "starsim_one_core_median_s": round(statistics.median(p["starsim_s"] for p in pairs), 2),
        "dealsim_two_threads_median_s": round(statistics.median(t for t, _ in two), 2),
        "ratio_two_threads_vs_starsim_one_core": round(statistics.median(t for t, _ in two)
                                                       / statistics.median(p["starsim_s"] for p in pairs), 3),
        "dealsim_peak_mb": max(p["dealsim_peak_mb"] for p in pairs), "targets": {"ratio": 1.0, "peak_mb": 600},
    }
    lines = [f"Whole-process full-scale run, dealsim vs Starsim births+deaths ({res['machine']}, {res['date']})", "",
             "| pair | dealsim (1 core) | Starsim (1 core) | ratio | dealsim peak MB |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {i + 1} | {p['dealsim_s']:.2f} s | {p['starsim_s']:.2f} s | {p['ratio']:.2f} | {p['dealsim_peak_mb']} |"
              for i, p in enumerate(pairs)]
    lines += ["", f"median ratio on one core: **{res['median_ratio_one_core']:.2f}** (target at most 1.0); dealsim with "
              f"2 threads: {res['dealsim_two_threads_median_s']:.2f} s (ratio {res['ratio_two_threads_vs_starsim_one_core']:.2f} "
              f"against Starsim on one core); peak memory {res['dealsim_peak_mb']} MB (target at most 600)"]
    text = "\n".join(lines)
    print(text)
    (ROOT / "benchmarks" / "speed_results.json").write_text(json.dumps(res, indent=2) + "\n")
    (ROOT / "benchmarks" / "speed_results.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
