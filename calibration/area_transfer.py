"""Leave one area out: how well a place the calibration never saw is projected from its baseline alone.

For each control area in turn, the multi-area posterior is refitted without it; the area's business-as-usual
figures are then predicted from its own 2009-11 context (its simulated arm, through the emulator) and the figures
it had published by the end of the baseline (HLE 2009-11), with its area terms drawn from the spread the other
areas show (calibration/likelihood.py) and conditioned on that baseline. This is what an assessment of a new
council can know; its later published figures (HLE 2015-17 and 2017-19, LE 2017-19, ASCOF) score the projection
against persistence (the baseline figure carried forward with its noise).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .area_config import AreaCalibration
from .area_fit import Fit, FitSpec, run_fit
from .area_predict import score_holdout
from .area_targets import AreaTargets
from .emulator import Emulator

__all__ = ["leave_one_area_out", "loao_specs", "BASELINE_KNOWN_BY", "GOAL"]

BASELINE_KNOWN_BY = 2012.0  # the baseline: figures whose data end by the end of 2011 (HLE 2009-11)
# The goal for councils the model has never seen (issue 12): HLE at least 10 of 12 cells inside the
# 90% intervals with median width at most 5 years and a smaller error than persistence; LE 2017-19 at least 5 of
# 6 inside with median width at most 2.5 years.
GOAL = {"hle_inside": 10, "hle_cells": 12, "hle_width": 5.0, "le_inside": 5, "le_cells": 6, "le_width": 2.5}


def _cell(stat: str) -> tuple[str, str]:
    name, period = stat.split("[")
    return name, period.rstrip("]")


def loao_specs(series: set[str], all_arms: dict[str, str], left_out: tuple[str, ...], seed: int = 1
               ) -> dict[str, FitSpec]:
    """Each left-out area's refit, by area: every other area's figures."""
    return {area: FitSpec(f"loao_{area}", series, {a: arm for a, arm in all_arms.items() if a != area},
                          seed=seed + 70 + i) for i, area in enumerate(left_out)}


def leave_one_area_out(cal: AreaCalibration, targets: AreaTargets, emulators: dict[str, Emulator],
                       series: set[str], all_arms: dict[str, str], left_out: tuple[str, ...], *, seed: int = 1,
                       known_by: float = BASELINE_KNOWN_BY, fits: dict[str, Fit] | None = None,
                       **fit_kw: Any) -> dict[str, Any]:
    """Refit without each area of `left_out` and score its projection. Returns {"areas": {area: {"fit": ...,
    "rows": [...]}}, "summary": ...}; rows are `score_holdout`'s with the interval width added. `fits`: the refits
    already run (by area, from `loao_specs`), e.g. in parallel."""
    out: dict[str, Any] = {"known_by": known_by, "areas": {}}
    n_theta = len(cal.keys)
    specs = loao_specs(series, all_arms, left_out, seed)
    for i, area in enumerate(left_out):
        fit = fits[area] if fits is not None else run_fit(cal, targets, emulators, specs[area], **fit_kw)
        baseline = targets.select(series=series, areas={area}, known_by=known_by)
        held = targets.select(series=series, areas={area}, after=known_by)
        # The left-out area's projection: its own arm, conditioned on its baseline figures only.
        proj = replace(fit, spec=replace(fit.spec, arms={area: all_arms[area]}), obs=baseline)
        rows = score_holdout(proj, targets, emulators, held, n_theta, seed=seed + i)
        for r in rows:
            r["model"]["width90"] = r["model"]["q95"] - r["model"]["q05"]
            r["model"]["abs_error"] = abs(r["model"]["q50"] - r["observed"])
            same = [o for o in baseline if o.series == r["series"] and _cell(o.stat)[0] == _cell(r["stat"])[0]]
            if "persistence" in r and same:
                r["persistence"]["abs_error"] = abs(max(same, key=lambda o: o.t).raw - r["observed"])
        out["areas"][area] = {"fit": {"ess": fit.ess, "acceptance": fit.acceptance,
                                      "blocks": fit.info.get("blocks")},
                              "baseline": [{"stat": o.stat, "observed": o.raw} for o in baseline], "rows": rows}
    out["summary"] = summarise(out)
    return out


def summarise(res: dict[str, Any]) -> dict[str, Any]:
    """The goal's cells (HLE 2015-17 and 2017-19 by sex, LE 2017-19 by sex) over all left-out areas, and the other
    held-out figures' coverage and scores."""
    rows = [r for a in res["areas"].values() for r in a["rows"]]
    hle = [r for r in rows if r["stat"].startswith("hle_") and _cell(r["stat"])[1] in ("2015-17", "2017-19")]
    le = [r for r in rows if r["stat"].startswith("le_") and _cell(r["stat"])[1] == "2017-19"]
    rest = [r for r in rows if r not in hle and r not in le]

    def block(rs: list[dict[str, Any]]) -> dict[str, Any]:
        if not rs:
            return {"n": 0}
        g: dict[str, Any] = {
            "n": len(rs), "inside90": sum(r["model"]["inside90"] for r in rs),
            "median_width90": float(np.median([r["model"]["width90"] for r in rs])),
            "model_crps": float(np.mean([r["model"]["crps"] for r in rs])),
            "model_median_abs_error": float(np.median([r["model"]["abs_error"] for r in rs])),
            "pit": [r["model"]["pit"] for r in rs]}
        base = [r for r in rs if "persistence" in r]
        if base:
            g["persistence_crps"] = float(np.mean([r["persistence"]["crps"] for r in base]))
            g["persistence_median_abs_error"] = float(np.median([r["persistence"]["abs_error"] for r in base]))
            g["model_crps_where_persistence"] = float(np.mean([r["model"]["crps"] for r in base]))
        return g

    h, l_ = block(hle), block(le)
    goal = {
        "hle_inside": h.get("inside90", 0) >= GOAL["hle_inside"] if h["n"] == GOAL["hle_cells"] else None,
        "hle_width": h.get("median_width90", np.inf) <= GOAL["hle_width"] if h["n"] else None,
        "hle_beats_persistence": (h["model_median_abs_error"] < h["persistence_median_abs_error"]
                                  and h["model_crps_where_persistence"] < h["persistence_crps"])
        if "persistence_crps" in h else None,
        "le_inside": l_.get("inside90", 0) >= GOAL["le_inside"] if l_["n"] == GOAL["le_cells"] else None,
        "le_width": l_.get("median_width90", np.inf) <= GOAL["le_width"] if l_["n"] else None}
    return {"hle_2015_17_and_2017_19": h, "le_2017_19": l_, "other_figures": block(rest), "goal": GOAL,
            "goal_met": goal}
