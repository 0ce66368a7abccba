"""Experiment: the multi-area calibration with full quadratic emulators against emulators that keep, per statistic,
only the parameters it depends on (calibration/emulator.py, `select`), on the same design.

Make the result folders from one design (the later ones resume the first's runs and only refit):

    python simulate.py calibrate-areas --results A
    python simulate.py calibrate-areas --select-parameters --results B
    python calibration/experiments/emulator_selection.py "full quadratic=A" "parameters selected per series=B"

(The JSON also holds a third analysis, "parameters selected per statistic", made at commit e1917a1, whose
--select-parameters chose each period's parameters on its own. Each entry's commit says which code made it; the
posterior files' own "emulator_kind" label was wrong for the per-series run, made before it was corrected.)

Writes calibration/experiments/emulator_selection.json: for each method, the posterior's width ratios, the Deal's
effect on true HLE 2017-19, the placebos that exclude zero, the held-out proper scores against persistence, the
leave-one-area-out scores, and for England's HLE and LE the parameters each period's emulator kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runs.outputs import write_file  # noqa: E402


def _load(folder: Path, rel: str) -> dict:
    return json.loads((folder / rel).read_text())


def summary(folder: Path, method: str) -> dict:
    post = _load(folder, "posterior/areas.json")
    att = _load(folder, "experiments/attribution.json")
    pla = _load(folder, "experiments/placebo.json")
    val = _load(folder, "validation/areas.json")
    loo = _load(folder, "validation/leave_one_area_out.json")["original"]["summary"]
    rep = _load(folder, "posterior/areas_report.json")
    out = {
        "emulator": method, "design_points": post["design_points"],
        "commit": post["provenance"].get("git_commit"), "dirty_tree": post["provenance"].get("git_dirty"),
        "ess": post["diagnostics"]["ess"],
        "width_ratio": {k: round(v["width_ratio"], 3) for k, v in post["widths"].items()},
        "deal_effect_true_hle_2017_19": {s: {k: {q: round(v[q], 3) for q in ("q05", "q50", "q95")}
                                             for k, v in att[s]["effects"].items() if "_true[2017-19]" in k}
                                         for s in ("original", "revised")},
        "placebos_covering_zero": f"{pla['hle_intervals_cover_zero']} of {pla['hle_intervals']}",
        "placebos_excluding_zero": [{k: p[k] for k in ("area", "kind", "outcome", "period", "q05", "q50", "q95")}
                                    for p in pla["placebos"] if not p["q05"] <= 0 <= p["q95"]],
        "held_out": {s: {k: {m: round(g[m], 3) for m in ("model_crps_where_baselines",
                                                          "persistence_crps_where_baselines",
                                                          "model_interval_score_where_baselines",
                                                          "persistence_interval_score_where_baselines") if m in g}
                             | {"inside90": f"{g['inside90']} of {g['n']}"}
                             for k, g in val[s]["summary"].items() if k in ("hle", "le")}
                     for s in ("original", "revised")},
        "leave_one_area_out": {k: {m: (round(loo[k][m], 3) if isinstance(loo[k][m], float) else loo[k][m])
                                   for m in ("inside90", "n", "median_width90", "model_crps", "model_median_abs_error",
                                             "persistence_crps", "persistence_median_abs_error") if m in loo[k]}
                               for k in ("hle_2015_17_and_2017_19", "le_2017_19")},
    }
    kept = (rep.get("emulator", {}).get("england") or {}).get("parameters_kept")
    if kept:
        out["england_parameters_kept"] = {s: [k.split(".")[-1] for k in v] for s, v in kept.items()
                                          if s.startswith(("hle_male_true", "le_male"))}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", metavar="LABEL=DIR", help="a label and a calibrate-areas results folder")
    a = ap.parse_args()
    res: dict = {"what": __doc__.splitlines()[0]}
    for item in a.folders:
        label, _, folder = item.partition("=")
        res[label] = summary(Path(folder), label)
    path = ROOT / "calibration" / "experiments" / "emulator_selection.json"
    text = json.dumps(res, indent=1) + "\n"
    write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
