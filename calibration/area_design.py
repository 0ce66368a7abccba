"""The multi-area calibration's design: every arm simulated at parameter points spread over the design box.

A Latin hypercube of ``design.size`` points over the design box; at each point every arm (Wigan with and without
the Deal, England, the controls, the placebo arms) runs with the same seed, so differences between arms at one
point carry common random numbers. The runs go to the project's one executor (Dask). Each finished run is one
line of a JSON-lines file, written and flushed as it lands, so an interrupted design resumes where it stopped
(a line cut short by the interruption is dropped on reading) and is never half-trusted: the file's first line
holds the hash of everything that defines the design, and a file made under other settings is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .area_config import AreaCalibration
from .config import CalibrationError

__all__ = ["design_points", "design_hash", "run_design", "load_design", "Design", "flatten", "merge_designs",
           "recorded_boxes"]


def design_points(cal: AreaCalibration) -> np.ndarray:
    """The design's parameter points (size x parameters), a seeded Latin hypercube scaled to the boxes."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(cal.keys), seed=cal.seed if cal.stage == 1 else cal.seed * 1000 + cal.stage
                           ).random(cal.size)
    lo = np.array([cal.boxes[k][0] for k in cal.keys])
    hi = np.array([cal.boxes[k][1] for k in cal.keys])
    return lo + u * (hi - lo)


def point_seed(design_seed: int, j: int, stage: int = 1) -> int:
    """The run seed of design point j: every arm at a point shares it (common random numbers)."""
    tag = f"{design_seed}" if stage == 1 else f"{design_seed}|stage{stage}"
    return int.from_bytes(hashlib.sha256(f"dealsim-design|{tag}|{j}".encode()).digest()[:8], "big") >> 1


def design_hash(cal: AreaCalibration) -> str:
    """Hash of what defines the design's runs: the arms' resolved scenarios and overrides, boxes, scale, size, seed."""
    spec = {"arms": {n: {"scenario": a.loaded.resolved, "overrides": a.overrides} for n, a in cal.arms.items()},
            "boxes": cal.boxes, "scale": cal.scale, "size": cal.size, "seed": cal.seed}
    if cal.stage != 1:
        spec["stage"] = cal.stage
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def flatten(outcomes: dict[str, dict[str, float]]) -> dict[str, float]:
    """outcomes.json's {outcome: {period: value}} as {"outcome[period]": value} (numbers only)."""
    out: dict[str, float] = {}
    for name, periods in outcomes.items():
        if isinstance(periods, dict):
            for period, v in periods.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out[f"{name}[{period}]"] = float(v)
    return out


def _job(index: int, loaded: Any, overrides: dict[str, Any], seed: int, scale: float) -> dict[str, Any]:
    from .simulation import run_model

    t0 = time.perf_counter()
    out, why = run_model(loaded, overrides, seed, scale)
    if out is None:
        return {"error": why, "s": time.perf_counter() - t0}
    return {"stats": flatten(out), "s": time.perf_counter() - t0}


def _read_done(path: Path, want: str) -> set[tuple[int, str]]:
    done: set[tuple[int, str]] = set()
    if not path.exists():
        return done
    with path.open() as fh:
        first = fh.readline()
        try:
            head = json.loads(first)
        except json.JSONDecodeError:
            head = {}
        if head.get("design_hash") != want:
            raise CalibrationError(f"{path} was made under other design settings (its hash "
                                   f"{head.get('design_hash')!r} is not this file's {want[:12]}...); use --fresh to "
                                   f"start again, or --recheck N to keep it if N of its points rerun identically",
                                   str(path))
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by an interruption
            done.add((int(rec["j"]), str(rec["arm"])))
    return done


def _recheck(cal: AreaCalibration, path: Path, want: str, points: int, workers: int | None, scheduler: str | None,
             say: Callable[[str], None]) -> None:
    """A design file made under another hash (other code or settings): rerun every arm at `points` of its points,
    spread over the file, here and now. If every run gives the stored statistics exactly, the file is kept, its
    header taking this hash and a record of the check; otherwise CalibrationError, and the file is left as it was.
    For a change that leaves the runs as they were (a new parameter at a default that changes nothing)."""
    from runs import executor
    from runs.outputs import write_file

    lines = path.read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    recs = {}
    for line in lines[1:]:
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        recs[(int(r["j"]), str(r["arm"]))] = r
    complete = sorted({j for j, _ in recs if all((j, a) in recs for a in cal.arms)})
    if not complete:
        raise CalibrationError(f"{path} has no complete point to recheck; use --fresh to start again", str(path))
    chosen = [complete[int(i)] for i in np.unique(np.linspace(0, len(complete) - 1, min(points, len(complete))))]
    theta = design_points(cal)
    jobs, meta = [], []
    for j in chosen:
        ov_theta = {k: float(theta[j, i]) for i, k in enumerate(cal.keys)}
        for name, arm in cal.arms.items():
            if recs[(j, name)].get("seed") != point_seed(cal.seed, j, cal.stage):
                raise CalibrationError(f"{path}: the seed of point {j} differs from this design's", str(path))
            jobs.append((arm.loaded, {**arm.overrides, **ov_theta}, recs[(j, name)]["seed"], cal.scale))
            meta.append((j, name))
    say(f"{path.name} was made under another hash: rerunning {len(jobs)} of its runs ({len(chosen)} points x "
        f"{len(cal.arms)} arms) to see whether they are unchanged")
    with executor.session(workers, scheduler) as client:
        results = executor.map_jobs(client, _job, jobs, key=f"dealsim-recheck-{cal.seed}")
    stored = lambda r: json.dumps({k: r.get(k) for k in ("stats", "error")}, sort_keys=True)  # noqa: E731
    differ = [m for m, res in zip(meta, results) if stored(json.loads(json.dumps(res))) != stored(recs[m])]
    if differ:
        raise CalibrationError(f"{path} was made under other design settings, and {len(differ)} of {len(jobs)} "
                               f"rechecked runs differ now (first: point {differ[0][0]}, arm {differ[0][1]}); use "
                               f"--fresh to start again", str(path))
    head.setdefault("rechecked", []).append({"from": head.get("design_hash"), "runs": len(jobs), "identical": len(jobs),
                                             "points": chosen})
    head["design_hash"] = want
    text = "\n".join([json.dumps(head), *lines[1:]]) + "\n"
    write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable=True)
    say(f"  all {len(jobs)} identical: {path.name} kept under this design's hash")


def _truncate_partial(path: Path) -> None:
    """Drop a last line cut short by an interruption, so appended lines start on a line of their own."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def run_design(cal: AreaCalibration, out: Path, *, workers: int | None = None, scheduler: str | None = None,
               fresh: bool = False, limit: int | None = None, recheck: int = 0,
               say: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> Path:
    """Run (or resume) the design into ``out/design_seed{seed}.jsonl``; returns the file's path.

    `limit` runs only the first points (a smaller design, e.g. for tests). Ctrl-C stops it; what finished stays.
    `recheck` N: a file made under another hash is kept if every arm at N of its points reruns identically
    (`_recheck`); without it such a file is refused."""
    from runs import executor

    out.mkdir(parents=True, exist_ok=True)
    path = out / (f"design_seed{cal.seed}.jsonl" if cal.stage == 1 else f"design_seed{cal.seed}_stage{cal.stage}.jsonl")
    want = design_hash(cal)
    if fresh and path.exists():
        path.unlink()
    if recheck and path.exists():
        with path.open() as fh:
            if json.loads(fh.readline()).get("design_hash") != want:
                _recheck(cal, path, want, recheck, workers, scheduler, say)
    done = _read_done(path, want)
    theta = design_points(cal)
    n = cal.size if limit is None else min(limit, cal.size)
    jobs, meta = [], []
    for j in range(n):
        ov_theta = {k: float(theta[j, i]) for i, k in enumerate(cal.keys)}
        seed = point_seed(cal.seed, j, cal.stage)
        for name, arm in cal.arms.items():
            if (j, name) in done:
                continue
            jobs.append((arm.loaded, {**arm.overrides, **ov_theta}, seed, cal.scale))
            meta.append((j, name, seed))
    if not path.exists():
        path.write_text(json.dumps({"design_hash": want, "keys": cal.keys, "arms": list(cal.arms),
                                    "scale": cal.scale, "size": cal.size, "seed": cal.seed, "stage": cal.stage,
                                    "boxes": {k: list(v) for k, v in cal.boxes.items()}}) + "\n")
    else:
        _truncate_partial(path)
    total = n * len(cal.arms)
    say(f"design seed {cal.seed}: {total - len(jobs)} of {total} runs already done; {len(jobs)} to run "
        f"({n} points x {len(cal.arms)} arms at scale {cal.scale:g})")
    if not jobs:
        return path
    t0 = time.monotonic()
    state = {"n": 0, "errors": 0, "last": 0.0}
    with path.open("a") as fh:
        def finished(i: int, result: dict[str, Any]) -> None:
            j, name, seed = meta[i]
            rec = {"j": j, "arm": name, "seed": seed, **result}
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            state["n"] += 1
            state["errors"] += "error" in result
            now = time.monotonic()
            if now - state["last"] > 30 or state["n"] == len(jobs):
                state["last"] = now
                rate = state["n"] / max(now - t0, 1e-9)
                eta = (len(jobs) - state["n"]) / rate if rate > 0 else math.inf
                say(f"  {state['n']}/{len(jobs)} runs, {rate:.2f} a second, about {eta / 60:.0f} min left"
                    + (f", {state['errors']} refused" if state["errors"] else ""))

        with executor.session(workers, scheduler) as client:
            executor.map_jobs(client, _job, jobs, finished=finished, key=f"dealsim-design-{cal.seed}")
        os.fsync(fh.fileno())
    return path


@dataclass
class Design:
    """A finished (or partial) design: the points and, per arm, each statistic's value at each point (NaN when a
    run was refused or did not report it). Only points where every arm ran are kept."""

    keys: list[str]
    theta: np.ndarray                        # points x parameters
    stats: dict[str, dict[str, np.ndarray]]  # arm -> statistic -> values at the points
    seed: int
    scale: float
    run_seconds: float

    @property
    def size(self) -> int:
        return self.theta.shape[0]


def load_design(cal: AreaCalibration, path: Path) -> Design:
    """Read a design file (complete points only) made under `cal`'s settings."""
    want = design_hash(cal)
    recs: dict[tuple[int, str], dict] = {}
    with path.open() as fh:
        head = json.loads(fh.readline())
        if head.get("design_hash") != want:
            raise CalibrationError(f"{path} was made under other design settings", str(path))
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            recs[(int(rec["j"]), rec["arm"])] = rec
    arms = list(cal.arms)
    points = sorted({j for j, _ in recs if all((j, a) in recs for a in arms)})
    theta_all = design_points(cal)
    theta = theta_all[points] if points else np.zeros((0, len(cal.keys)))
    stats: dict[str, dict[str, np.ndarray]] = {}
    seconds = 0.0
    for a in arms:
        names = sorted({s for j in points for s in recs[(j, a)].get("stats", {})})
        col = {s: np.full(len(points), np.nan) for s in names}
        for i, j in enumerate(points):
            r = recs[(j, a)]
            seconds += float(r.get("s", 0.0))
            for s, v in r.get("stats", {}).items():
                col[s][i] = v
        stats[a] = col
    return Design(cal.keys, theta, stats, cal.seed, cal.scale, seconds)


def merge_designs(first: Design, second: Design, boxes: dict[str, tuple[float, float]]) -> Design:
    """The second stage's points and the first stage's points that fall inside its (refined) boxes."""
    lo = np.array([boxes[k][0] for k in first.keys])
    hi = np.array([boxes[k][1] for k in first.keys])
    inside = np.all((first.theta >= lo) & (first.theta <= hi), axis=1)
    stats: dict[str, dict[str, np.ndarray]] = {}
    for arm, cols in second.stats.items():
        a = first.stats.get(arm, {})
        stats[arm] = {s: np.concatenate([a.get(s, np.full(first.size, np.nan))[inside], v]) for s, v in cols.items()}
    return Design(first.keys, np.concatenate([first.theta[inside], second.theta]), stats, second.seed, second.scale,
                  first.run_seconds + second.run_seconds)


def recorded_boxes(cal: AreaCalibration, out: Path, stage: int = 2) -> dict[str, tuple[float, float]] | None:
    """The boxes a stage's design file was made over (None if there is no such file yet): a resumed calibration
    keeps the stage-2 region it chose the first time, whatever later changes to the fits would choose."""
    path = out / f"design_seed{cal.seed}_stage{stage}.jsonl"
    if not path.exists():
        return None
    with path.open() as fh:
        head = json.loads(fh.readline())
    boxes = head.get("boxes")
    return None if boxes is None else {k: (float(v[0]), float(v[1])) for k, v in boxes.items()}
