"""The runs of a sweep: design points (grid, Latin hypercube, Sobol/Saltelli, Morris) times replicates.

Each run's id is a hash of its parameter values and its replicate number, and its seed is a hash of the
id, so a run's result depends on nothing else: not on the engine, the number of workers, the shard split
or the order in which runs finish. Two design points with the same values (possible when whole-number
parameters are sampled) are the same run.

Runs are listed point by point, replicates within a point; ``shard(runs, i, n)`` takes every n-th run
starting at the i-th (1-based), so the n shards are disjoint and together are the whole sweep.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .definition import SweepDefinition, SweepError

__all__ = ["Run", "points", "problem", "check_points", "run_id", "seed_of", "build_runs", "runs_from_points", "shard"]


@dataclass(frozen=True)
class Run:
    index: int  # position in the sweep's list of runs
    point: int  # the design row it comes from (the first, if several rows have the same values)
    replicate: int
    params: tuple[tuple[str, Any], ...]
    run_id: str
    seed: int

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.params)


def problem(defn: SweepDefinition) -> dict[str, Any]:
    """The SALib problem: names and bounds of the sampled parameters."""
    return {"num_vars": len(defn.parameters), "names": [p.key for p in defn.parameters],
            "bounds": [[p.low, p.high] for p in defn.parameters]}


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def points(defn: SweepDefinition) -> list[dict[str, Any]]:
    """The design's rows, in design order (SALib's order for sobol and morris), as {key: value}."""
    keys = [p.key for p in defn.parameters]
    if defn.method == "grid":
        return [dict(zip(keys, combo)) for combo in itertools.product(*(p.levels for p in defn.parameters))]
    prob = problem(defn)
    if defn.method == "lhs":
        from SALib.sample import latin

        x = latin.sample(prob, defn.samples, seed=defn.design_seed)
    elif defn.method == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(prob, defn.samples, calc_second_order=defn.second_order, scramble=True, seed=defn.design_seed)
    elif defn.method == "morris":
        from SALib.sample import morris

        x = morris.sample(prob, defn.samples, num_levels=defn.morris_levels, seed=defn.design_seed)
    else:  # pragma: no cover - validated in definition.py
        raise ValueError(f"unknown design method {defn.method!r}")
    return [{p.key: p.cast(float(v)) for p, v in zip(defn.parameters, row)} for row in np.asarray(x)]


def check_points(defn: SweepDefinition, pts: list[dict[str, Any]]) -> None:
    """Validate every distinct design point against the scenario schema, including the checks between
    parameters (a launch before the pilot, say), so no run can fail on its values; raise SweepError."""
    from model.scenario import ScenarioError, apply_overrides

    seen: set[str] = set()
    for i, pt in enumerate(pts):
        key = json.dumps({k: _plain(v) for k, v in pt.items()}, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        try:
            apply_overrides(defn.base, pt, source=str(defn.path))
        except ScenarioError as exc:
            values = ", ".join(f"{k}={v!r}" for k, v in pt.items())
            raise SweepError(f"design point {i} ({values}) is not a valid scenario: {exc.key + ': ' if exc.key else ''}"
                             f"{exc.message}", str(defn.path), "parameters") from None


def run_id(params: dict[str, Any], replicate: int) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of the parameter values and the replicate."""
    text = json.dumps({"parameters": {k: _plain(v) for k, v in params.items()}, "replicate": int(replicate)},
                      sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def seed_of(rid: str) -> int:
    """A 63-bit seed from the run id."""
    digest = hashlib.sha256(f"dealsim-sweep-seed:{rid}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def runs_from_points(pts: list[dict[str, Any]], replicates: int) -> list[Run]:
    runs: list[Run] = []
    seen: set[str] = set()
    for i, pt in enumerate(pts):
        params = tuple((k, _plain(v)) for k, v in pt.items())
        for r in range(replicates):
            rid = run_id(dict(params), r)
            if rid in seen:
                continue
            seen.add(rid)
            runs.append(Run(len(runs), i, r, params, rid, seed_of(rid)))
    return runs


def build_runs(defn: SweepDefinition) -> list[Run]:
    """Every run of the sweep, point by point, replicates within a point."""
    return runs_from_points(points(defn), defn.replicates)


def shard(runs: list[Run], i: int, n: int) -> list[Run]:
    """The i-th (1-based) of n disjoint parts: every n-th run, starting at the i-th."""
    if not 1 <= i <= n:
        raise ValueError(f"shard {i}/{n}: I must be from 1 to N")
    return runs[i - 1::n]
