"""Benchmark of a council assessment at the default settings (issue 4: within 5 minutes on a 2-core machine).

    python benchmarks/bench_assessment.py                      # St Helens and Stockport, defaults -> assessment_results.json
    python benchmarks/bench_assessment.py --councils bolton    # other council files (names in scenarios/councils/)
    python benchmarks/bench_assessment.py --quick              # --draws 4 --seeds 1 --scale 0.05: a smoke test
    python benchmarks/bench_assessment.py --councils barnsley --prospective 2027   # --start 2027 --horizon 2040

Each assessment runs as a user would run it, `python simulate.py assess scenarios/councils/<name>.yaml --quiet`
(default draws, seeds, scale and workers, the one-at-a-time sensitivity runs included), in a child process; the
wall time is measured from outside and compared with the 300 s target. The load average before and after each
run is recorded, because other work on a shared machine slows the two workers down. The number of runs and the
parts of the time (baseline match and set-up vs simulations) come from the result's provenance.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_S = 300.0


def machine() -> dict:
    import numpy

    info = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "cores": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(), "numpy": numpy.__version__}
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    except OSError:
        pass
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        info["git_head"] = head.stdout.strip()
    except OSError:
        pass
    return info


def one(council: str, extra: list[str]) -> dict:
    path = ROOT / "scenarios" / "councils" / f"{council}.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "a"
        load0 = os.getloadavg()
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, str(ROOT / "simulate.py"), "assess", str(path), "--quiet", "--out", str(out),
                            *extra], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        load1 = os.getloadavg()
        if p.returncode != 0:
            return {"council": council, "error": p.stderr.strip()[-500:]}
        prov = json.loads((out / "provenance.json").read_text())
        st = json.loads((out / "assessment_details.json").read_text())["settings"]
    return {"council": council, "wall_s": round(wall, 1), "within_target": wall <= TARGET_S,
            "runs": prov.get("timings", {}).get("runs"), "prepare_s": prov.get("timings", {}).get("prepare_s"),
            "run_s_mean": prov.get("timings", {}).get("run_s_mean"), "workers": prov.get("workers"),
            "draws": st["draws"], "seeds_per_draw": st["seeds_per_draw"], "scale": st["scale"],
            "posterior": st["posterior"].get("file"), "loadavg_before": [round(x, 2) for x in load0],
            "loadavg_after": [round(x, 2) for x in load1]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--councils", nargs="+", default=["st_helens", "stockport"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--prospective", type=int, default=None, metavar="YEAR",
                    help="a prospective assessment: --start YEAR --horizon 2040")
    ap.add_argument("--json", default=None, help="output file (default benchmarks/assessment_results.json; "
                                                 "assessment_results_quick.json with --quick)")
    args = ap.parse_args()
    extra = ["--draws", "4", "--seeds", "1", "--scale", "0.05"] if args.quick else []
    if args.prospective is not None:
        extra += ["--start", str(args.prospective), "--horizon", "2040"]
    results = []
    for c in args.councils:
        r = one(c, extra)
        print(json.dumps(r), flush=True)
        results.append(r)
    doc = {"quick": args.quick, "target_s": TARGET_S, "settings": "defaults" if not extra else " ".join(extra),
           "prospective": args.prospective,
           "machine": machine(), "assessments": results}
    name = "assessment_results" + ("_prospective" if args.prospective is not None else "") + ("_quick" if args.quick else "")
    dest = Path(args.json) if args.json else HERE / f"{name}.json"
    dest.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {dest}")
    return 0 if all(r.get("within_target") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
