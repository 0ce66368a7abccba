"""One run of a sweep: the base scenario with the run's values, the model run with the run's seed, and the
chosen outputs taken from it. A run that raises is tried again (same seed) up to ``retries`` more times,
then recorded as failed with its traceback; an exception never leaves :func:`execute`.

An outcome missing from a run (at very small scales ``outcomes()`` leaves out HLE periods with too few
deaths to measure) and a non-finite value are kept as null.
"""

from __future__ import annotations

import math
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from model.scenario import LoadedScenario

from .definition import Output
from .design import Run

__all__ = ["RunContext", "simulate_run", "extract", "execute", "Runner"]


@dataclass(frozen=True)
class RunContext:
    """What every run of a sweep shares: sent once to each worker."""

    base: LoadedScenario  # the base scenario with the sweep's fixed overrides
    scale: float
    outputs: tuple[Output, ...]
    retries: int


Runner = Callable[[RunContext, Run], dict[str, float | None]]


def _number(v: Any) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def extract(outcomes: Mapping[str, Mapping[str, float]] | None, timeseries: Mapping[str, Any] | None,
            outputs: tuple[Output, ...]) -> dict[str, float | None]:
    """The chosen outputs by column name (``hle_male@2017-19``, ``good_health_share@final``); missing -> None."""
    values: dict[str, float | None] = {}
    for o in outputs:
        if o.is_final:
            col = (timeseries or {}).get(o.name)
            values[o.column] = _number(col[-1]) if col is not None and len(col) else None
        else:
            values[o.column] = _number((outcomes or {}).get(o.name, {}).get(o.period))
    return values


def simulate_run(ctx: RunContext, run: Run) -> dict[str, float | None]:
    """Run the model once for this run; return its outputs."""
    from runs.single import run_one

    res = run_one(ctx.base, run.seed, ctx.scale, overrides=run.overrides if run.params else None, source="sweep")
    return extract(res.outcomes, res.timeseries, ctx.outputs)


def execute(ctx: RunContext, run: Run, runner: Runner | None = None) -> dict[str, Any]:
    """Run with retries; return the record to store (status ok or failed, never raises an Exception)."""
    fn = runner or simulate_run
    error = None
    t0 = time.perf_counter()
    for attempt in range(1, ctx.retries + 2):
        try:
            values = fn(ctx, run)
        except Exception:  # noqa: BLE001 - every failure is recorded with its traceback
            error = traceback.format_exc()
            continue
        return {"run": run, "status": "ok", "attempts": attempt, "values": values, "error": None,
                "run_s": time.perf_counter() - t0, "host": socket.gethostname()}
    return {"run": run, "status": "failed", "attempts": ctx.retries + 1, "values": {}, "error": error,
            "run_s": time.perf_counter() - t0, "host": socket.gethostname()}


def failed_record(run: Run, attempts: int, error: str) -> dict[str, Any]:
    """A failure seen outside the run itself (e.g. its worker died every time it was tried)."""
    return {"run": run, "status": "failed", "attempts": attempts, "values": {}, "error": error,
            "run_s": None, "host": None}
