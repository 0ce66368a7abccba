"""Run one model: a scenario, a seed and a scale in; the monthly table, the published measures and timings out.

This is the only place the project builds and runs a `DealModel` (the command line, compare, sweeps, calibration,
validation, assessments and the experiments all come here), so what a run is, and which errors count as "this
scenario cannot be run at this scale", is written once.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.parameters import Scenario
from model.scenario import LoadedScenario, apply_overrides

__all__ = ["RunError", "RunResult", "run_one", "run_job"]


class RunError(ValueError):
    """The scenario cannot be built or measured as asked (a missing table, a scale too small, ...)."""


@dataclass
class RunResult:
    seed: int
    scale: float
    timeseries: dict[str, Any]
    outcomes: dict[str, dict[str, float]]
    missing: dict[str, dict[str, str]] = field(default_factory=dict)  # outcome -> period -> why not measured
    build_s: float = 0.0
    run_s: float = 0.0
    months: int = 0


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


_FROZEN: list[bool] = []


def freeze_imports() -> None:
    """Once per process, after the model's imports: move the objects alive now (modules, classes, functions of
    Mesa, NumPy, SciPy, Numba, matplotlib: about 140,000, all kept for the process's life) into the collector's
    permanent generation, so that the full collections a run triggers do not traverse them again and again. It saved
    about 0.5 s of a 9 s full-scale `run` (README, Performance). A collection first, so that no garbage is frozen
    with them."""
    if not _FROZEN:
        gc.collect()
        gc.freeze()
        _FROZEN.append(True)


def run_one(scenario: LoadedScenario | Scenario, seed: int, scale: float, base_dir: Path | None = None,
            threads: int = 1, overrides: Mapping[str, Any] | None = None, source: str = "overrides",
            progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Build and run one model. `scenario` is a loaded scenario (its folder resolves relative tables) or a bare
    Scenario with `base_dir`; `overrides` (dotted keys) are applied first and may raise ScenarioError.

    Raises RunError with one plain line when the model cannot be built or its published measures cannot be
    computed (set DEALSIM_TRACEBACK=1 to see the original error instead)."""
    import time

    from model.model import DealModel

    freeze_imports()
    if overrides:
        if not isinstance(scenario, LoadedScenario):
            raise TypeError("overrides need a loaded scenario")
        scenario = apply_overrides(scenario, dict(overrides), source=source)
    if isinstance(scenario, LoadedScenario):
        sc, base_dir = scenario.scenario, scenario.path.parent
    else:
        sc = scenario
    t0 = time.perf_counter()
    try:
        model = DealModel(sc, seed=seed, scale=scale, base_dir=base_dir, threads=threads)
    except (OSError, ValueError, KeyError) as exc:
        if os.environ.get("DEALSIM_TRACEBACK"):
            raise
        raise RunError(f"scenario {sc.name!r}: cannot build the model: {_first_line(exc)}") from None
    build_s = time.perf_counter() - t0
    model.run(progress=progress)
    try:
        outcomes = model.outcomes()
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:  # e.g. too few residents for a life table
        if os.environ.get("DEALSIM_TRACEBACK"):
            raise
        raise RunError(f"scenario {sc.name!r}, seed {seed}, scale {scale:g}: cannot compute the published "
                       f"measures: {_first_line(exc)} (a larger --scale may help)") from None
    return RunResult(seed, scale, model.timeseries(), outcomes, model.missing_outcomes(), build_s, model.elapsed,
                     model.months_total)


def run_job(index: int, scenario: LoadedScenario | Scenario, seed: int, scale: float, base_dir: Path | None = None,
            threads: int = 1) -> dict[str, Any]:
    """One run as a task of the executor (runs/executor.py): months reported to the client, the result as a plain
    dict, and {"error": message} instead of an exception when the scenario cannot be run at this scale."""
    from .executor import report_months

    try:
        r = run_one(scenario, seed, scale, base_dir=base_dir, threads=threads, progress=report_months(index))
    except RunError as exc:
        return {"error": str(exc)}
    return {"seed": seed, "timeseries": r.timeseries, "outcomes": r.outcomes, "missing": r.missing,
            "build_s": r.build_s, "run_s": r.run_s, "months": r.months}
