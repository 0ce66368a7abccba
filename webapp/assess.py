"""Running an assessment from the app: the same steps as ``simulate.py assess``, at a responsive size."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assess import assessment as A
from assess.council import Council
from runs.batch import run_many
from runs.outputs import number

# Responsive defaults: a dozen runs of a few thousand residents (about 5-10 s on one core), baseline matched at
# 5% scale. The command line's defaults (40 draws x 2 seeds at 10%) take minutes: the app says so.
APP_SETTINGS = {"draws": 6, "seeds": 1, "scale": 0.03, "match_scale": 0.05, "match_seeds": 1}
# The app's assessments share one local Dask cluster kept for the server's life (started when the server starts,
# app.py), so only the server's start pays for starting workers and loading their kernels.
APP_WORKERS = min(2, os.cpu_count() or 1)
FILES = ("assessment.json", "report.md", "fan_outcomes.png", "fan_effects.png", "assessment_details.json")


@dataclass
class Result:
    council: str
    summary: dict[str, Any]
    folder: Path
    headline: list[dict[str, Any]]
    money: dict[str, Any]
    limits: str
    wall_s: float
    decision: str = ""

    def file(self, name: str) -> Path:
        return self.folder / name


def settings(runs_per_arm: int = APP_SETTINGS["draws"], scale: float = APP_SETTINGS["scale"], seed: int = 0,
             start: int | None = None, horizon: int | None = None) -> A.Settings:
    """The app's settings; `start` after 2020 (with `horizon`) asks the prospective question."""
    return A.Settings(draws=int(runs_per_arm), seeds=APP_SETTINGS["seeds"], scale=float(scale), seed=int(seed),
                      match_scale=max(APP_SETTINGS["match_scale"], float(scale)), match_seeds=APP_SETTINGS["match_seeds"],
                      sensitivity=False, start=start, horizon=horizon)


HEADLINE = ("hle_male", "hle_female", "care_home_admissions_65plus_per_100k", "delayed_transfers_per_100k",
            "care_quality_good_or_outstanding", "cumulative_savings_gbp_m")


def headline(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row an outcome, its last period: both arms' medians, the change, the chance of a gain and of harm (the
    assessment's own, in each outcome's direction of benefit)."""
    rows = []
    for name in HEADLINE:
        eff = summary["effects"].get(name, {})
        if not eff:
            continue
        p = list(eff)[-1]
        e = eff[p]
        label, unit = A.LABELS[name]
        rows.append({"outcome": label, "unit": unit, "period": p,
                     "business_as_usual": summary["arms"]["business_as_usual"][name][p]["q50"],
                     "deal": summary["arms"]["deal"][name][p]["q50"], "change": e["q50"], "q05": e["q05"],
                     "q95": e["q95"], "chance_of_gain": e.get("p_gain"),
                     "chance_of_harm": e.get("p_harm")})
    return rows


def money(summary: dict[str, Any]) -> dict[str, Any]:
    eff = summary["effects"]
    net = eff["cumulative_net_savings_gbp_m"]
    last = list(net)[-1]
    pb = next(iter(eff["payback_year"].values()))
    return {"year": last, "net": net[last], "investment": eff["cumulative_investment_gbp_m"][last],
            "tax_forgone": eff["cumulative_tax_forgone_gbp_m"][last], "care_savings": eff["cumulative_care_savings_gbp_m"][last],
            "payback": pb}


def limits_section() -> str:
    """The report's limits, as the app shows them (from the assessment's one list, not parsed from report.md)."""
    return "## Limits: what the evidence can and cannot say\n\n" + "\n".join(f"- {x}" for x in A.LIMITS)


def run(council: Council, s: A.Settings, progress: Callable[[float, str], None] | None = None,
        out_root: Path | None = None) -> Result:
    """prepare -> run (on the one executor: the app's kept cluster of two local workers, reporting progress) ->
    summarise -> write the files into a new folder. Results equal the command line's for the same settings (the
    executor's runs are keyed)."""
    t0 = time.perf_counter()
    say = progress or (lambda f, text: None)
    say(0.0, "preparing the runs")
    plan = A.prepare(council, s, report=lambda text: say(0.02, text))
    n = len(plan.jobs)
    say(0.05, f"running {n} simulations")
    done = [0]

    def finished(_i: int, _r: Any) -> None:
        done[0] += 1
        say(0.05 + 0.85 * done[0] / n, f"simulation {done[0]} of {n}")

    results = run_many(plan.jobs, s.scale, APP_WORKERS, finished=finished, keep=True)
    say(0.92, "summarising")
    summary = A.summarise(plan, results)
    folder = Path(tempfile.mkdtemp(prefix="assessment-", dir=out_root))
    A.write_outputs(folder, summary, plan)
    say(1.0, "done")
    return Result(council=plan.council.name, summary=A.public(summary), folder=folder, headline=headline(summary),
                  money=money(summary), limits=limits_section(), wall_s=time.perf_counter() - t0,
                  decision="\n".join(A.decision_lines(summary, plan.council.name)))


def fmt(x: Any, nd: int = 1) -> str:
    return number(x, nd)

