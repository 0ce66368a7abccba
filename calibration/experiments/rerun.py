"""A calibration run again from scratch against the committed one: do the designs and the answer reproduce?

`calibrate-areas` keeps its design runs (one line per run) and derives stage 2 from stage 1's fit, so a rerun
from an empty folder repeats every step. This compares such a rerun with the committed results: the design runs
line by line, the Deal's effects (median and 90% interval) and every shared parameter's median, in units of the
committed posterior's SD (its 90% width / 3.29).

    python calibration/experiments/rerun.py --design DIR --results DIR [--seed 1]

The design runs are compared only where the committed calibration's are on this machine (results/calibration_areas;
results/ is not in git); the answers are always compared.

Prints a summary and writes calibration/experiments/rerun.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runs.outputs import write_json  # noqa: E402
from runs.provenance import git_info  # noqa: E402

COMMITTED_DESIGN = ROOT / "results" / "calibration_areas"
COMMITTED_RESULTS = ROOT / "calibration"


def _runs(path: Path) -> tuple[dict[str, Any], dict[tuple[int, str], Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    return head, {(d["j"], d["arm"]): d["stats"] for d in map(json.loads, lines[1:])}


def designs(fresh: Path, seed: int) -> dict[str, Any] | None:
    """How many design runs of each stage are identical, line by line, in the two folders; None when the committed
    calibration's design runs are not on this machine (they are not in git: results/ is ignored)."""
    if not (COMMITTED_DESIGN / f"design_seed{seed}.jsonl").exists():
        return None
    out: dict[str, Any] = {}
    for stage, name in (("stage 1", f"design_seed{seed}.jsonl"), ("stage 2", f"design_seed{seed}_stage2.jsonl")):
        ha, a = _runs(COMMITTED_DESIGN / name)
        hb, b = _runs(fresh / name)
        common = set(a) & set(b)
        out[stage] = {"same_design": ha.get("design_hash") == hb.get("design_hash"), "runs_compared": len(common),
                      "runs_identical": sum(a[k] == b[k] for k in common)}
    return out


def answers(fresh: Path) -> dict[str, Any]:
    """The Deal's effects and the parameters' medians, committed against rerun, for both HLE series."""
    a = json.loads((COMMITTED_RESULTS / "experiments" / "attribution.json").read_text(encoding="utf-8"))
    b = json.loads((fresh / "experiments" / "attribution.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {}
    for series in ("original", "revised"):
        ea, eb = a[series]["effects"], b[series]["effects"]
        pa, pb = a[series]["parameters"], b[series]["parameters"]
        out[series] = {
            "effects": {k: {"committed": ea[k], "rerun": eb[k]} for k in ea if k in eb},
            "parameter_median_difference_sd": {
                k: round(abs(pb[k]["q50"] - pa[k]["q50"]) / max((pa[k]["q95"] - pa[k]["q05"]) / 3.29, 1e-12), 2)
                for k in pa if k in pb}}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", required=True, help="the rerun's --out folder (design runs)")
    ap.add_argument("--results", required=True, help="the rerun's --results folder")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    fresh_design, fresh = Path(a.design), Path(a.results)
    prov = json.loads((fresh / "posterior" / "areas.json").read_text(encoding="utf-8"))
    report = {"compared_at": git_info(ROOT), "rerun": {"provenance": prov["provenance"], "design_wall_seconds": prov.get("design_wall_seconds"),
                        "analysis_seconds": prov.get("analysis_seconds")},
              "designs": designs(fresh_design, a.seed), **answers(fresh)}
    write_json(ROOT / "calibration" / "experiments" / "rerun.json", report)
    if report["designs"] is None:
        print(f"design runs not compared: {COMMITTED_DESIGN} does not hold the committed calibration's runs")
    for stage, d in (report["designs"] or {}).items():
        print(f"{stage}: {d['runs_identical']} of {d['runs_compared']} runs identical (same design: {d['same_design']})")
    for series in ("original", "revised"):
        print(f"{series} series: the Deal's effect, committed -> rerun (median [90%])")
        for k, v in report[series]["effects"].items():
            c, r = v["committed"], v["rerun"]
            print(f"  {k:48s} {c['q50']:+8.2f} [{c['q05']:+.2f}, {c['q95']:+.2f}] -> {r['q50']:+8.2f} "
                  f"[{r['q05']:+.2f}, {r['q95']:+.2f}]")
        d = report[series]["parameter_median_difference_sd"]
        print(f"  parameter medians within 0.25 committed posterior SD: {sum(x <= 0.25 for x in d.values())} of "
              f"{len(d)}; largest {max(d.values()):.2f} ({max(d, key=d.get)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
