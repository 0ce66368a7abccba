"""The commands' library work: one run written to a result folder, two scenarios compared over seeds, and any
batch of runs on the executor. The command line (simulate.py) parses, calls one of these, and prints.

Every result folder is written atomically (outputs.atomic_folder: into DIR.tmp-<pid>, renamed when complete) with
its provenance record last.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.scenario import LoadedScenario, describe

from . import executor, outputs, plots, provenance
from .single import RunError, RunResult, run_job, run_one

__all__ = ["run_many", "run_to_folder", "compare_to_folder", "Compared", "with_nulls", "milestones"]


def with_nulls(outcomes: dict[str, dict[str, float]], missing: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Outcomes with every unmeasurable period present as null, in period order."""
    out = {k: dict(v) for k, v in outcomes.items()}
    for name, periods in missing.items():
        merged = {**out.get(name, {}), **{p: None for p in periods}}
        out[name] = dict(sorted(merged.items()))
    return out


def milestones(loaded: LoadedScenario) -> list[tuple[str, str]]:
    """The Deal's pilot and launch, for the figures."""
    d = loaded.scenario.deal
    return [(d.pilot_start, "Deal pilot"), (d.launch, "Deal launch")] if d.enabled else []


def run_many(jobs: Sequence[tuple[LoadedScenario, int]], scale: float, workers: int, scheduler: str | None = None,
             progress: Callable[[int, int, int], None] | None = None,
             finished: Callable[[int, dict[str, Any]], None] | None = None,
             tick: Callable[[], None] | None = None, keep: bool = False) -> list[dict[str, Any]]:
    """(loaded scenario, seed) jobs on the executor (a local Dask cluster of `workers`, or `scheduler`); results
    in job order. A run that cannot be made at this scale raises RunError (the others are cancelled). `keep` runs
    them on the process's kept local cluster of `workers` (executor.kept) instead of starting one."""
    def done(i: int, r: dict[str, Any]) -> None:
        if "error" in r:
            raise RunError(r["error"])
        if finished:
            finished(i, r)

    with executor.session(workers if keep else min(workers, len(jobs)), scheduler, keep=keep) as client:
        return executor.map_jobs(client, run_job, [(lo.scenario, seed, scale, lo.path.parent) for lo, seed in jobs],
                                 progress=progress, finished=done, tick=tick, key="dealsim-run")


def run_to_folder(loaded: LoadedScenario, seed: int, scale: float, dest: Path, *, force: bool, threads: int,
                  argv: list[str], root: Path, written: list[Path] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  tick: Callable[[], None] | None = None) -> tuple[RunResult, dict]:
    """One run and its folder: timeseries (CSV, Parquet), outcomes.json (null where unmeasurable), the resolved
    scenario, two figures and provenance. Returns the result and the observed series (for a summary)."""
    started, t0 = provenance.now_utc(), time.perf_counter()
    r = run_one(loaded, seed, scale, threads=threads, progress=progress)
    if tick:
        tick()
    name = loaded.scenario.name
    observed = plots.load_observed()
    with outputs.atomic_folder(dest, force, written) as tmp:
        outputs.write_csv(tmp / "timeseries.csv", r.timeseries)
        outputs.write_parquet(tmp / "timeseries.parquet", r.timeseries)
        outputs.write_json(tmp / "outcomes.json", with_nulls(r.outcomes, r.missing))
        outputs.write_text(tmp / "scenario.yaml", describe(loaded))
        arm = plots.Arm(name, [r.timeseries], [r.outcomes], milestones(loaded))
        title = f"{name}, seed {seed}, scale {scale:g}"
        plots.monthly_figure([arm], tmp / "monthly.png", f"{title}: monthly series")
        plots.outcomes_figure([arm], tmp / "outcomes.png", f"{title}: published measures", observed)
        if tick:
            tick()
        outputs.write_json(tmp / outputs.MARKER, provenance.build(
            command="run", root=root, argv=argv, started=started, wall_time_s=time.perf_counter() - t0, seed=seed,
            scale=scale, scenario=provenance.scenario_record(loaded),
            model={"build_s": round(r.build_s, 3), "run_s": round(r.run_s, 3), "months": r.months, "threads": threads},
            missing_outcomes=r.missing, files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))
    return r, observed


@dataclass
class Compared:
    seeds: list[int]
    outcomes: dict[str, dict[int, dict]]         # arm ('a', 'b') -> seed -> outcomes
    differences: dict[str, Any]                  # outputs.summarise_differences
    missing: dict[str, dict[str, dict[str, str]]]  # 'a/seed 3' -> outcome -> period -> why
    observed: dict
    runs: int


def compare_to_folder(la: LoadedScenario, lb: LoadedScenario, seeds: list[int], scale: float, dest: Path, *,
                      force: bool, workers: int, scheduler: str | None, labels: tuple[str, str], argv: list[str],
                      root: Path, written: list[Path] | None = None,
                      progress: Callable[[int, int, int], None] | None = None,
                      finished: Callable[[int, dict[str, Any]], None] | None = None,
                      tick: Callable[[], None] | None = None, draws: list[dict[str, float]] | None = None,
                      draws_source: dict[str, Any] | None = None) -> Compared:
    """Scenarios A and B over the same seeds (common random numbers), their per-seed differences and quantiles,
    and the folder: outcomes_by_seed.json, differences.json, summary.csv, timeseries_by_seed.parquet, both resolved
    scenarios, two fan charts and provenance. Jobs are ordered seed by seed, A then B.

    With `draws` (parameter sets, e.g. from a posterior; one per seed), seed i runs both arms with draws[i], so
    the quantiles over runs carry the parameters' uncertainty as well as chance, and each pair still shares its
    seed and its parameters."""
    from model.scenario import apply_overrides

    started, t0 = provenance.now_utc(), time.perf_counter()
    arms = {"a": la, "b": lb}
    keys = [(arm, seed) for seed in seeds for arm in ("a", "b")]
    if draws is not None and len(draws) != len(seeds):
        raise ValueError("one parameter draw per seed")

    def arm_of(arm: str, i: int) -> LoadedScenario:
        if draws is None:
            return arms[arm]
        return apply_overrides(arms[arm], draws[i], source=(draws_source or {}).get("file", "posterior"))

    results = run_many([(arm_of(arm, i // 2), seed) for i, (arm, seed) in enumerate(keys)], scale, workers, scheduler,
                       progress, finished, tick)
    by = {keys[i]: r for i, r in enumerate(results)}
    missing = {f"{arm}/seed {s}": by[arm, s]["missing"] for arm in ("a", "b") for s in seeds if by[arm, s]["missing"]}
    oc = {arm: {s: by[arm, s]["outcomes"] for s in seeds} for arm in ("a", "b")}
    diffs = outputs.summarise_differences(oc["a"], oc["b"])
    observed = plots.load_observed()
    meta = {"seeds": seeds, "scale": scale, "a": {"scenario": la.scenario.name, "sha256": la.sha256},
            "b": {"scenario": lb.scenario.name, "sha256": lb.sha256}}
    if draws is not None:
        meta["parameter_draws"] = {**(draws_source or {}), "draws": draws}
    if tick:
        tick()
    with outputs.atomic_folder(dest, force, written) as tmp:
        outputs.write_json(tmp / "outcomes_by_seed.json", {
            **meta, "outcomes": {arm: {str(s): oc[arm][s] for s in seeds} for arm in ("a", "b")}})
        outputs.write_json(tmp / "differences.json", {
            **meta, "difference": "A - B, per seed (common random numbers) and quantiles over seeds",
            "outcomes": diffs})
        outputs.write_summary_csv(tmp / "summary.csv", diffs)
        outputs.write_parquet(tmp / "timeseries_by_seed.parquet", outputs.long_table(
            [({"arm": arm, "scenario": arms[arm].scenario.name, "seed": s}, by[arm, s]["timeseries"])
             for arm in ("a", "b") for s in seeds]))
        outputs.write_text(tmp / "scenario_a.yaml", describe(la))
        outputs.write_text(tmp / "scenario_b.yaml", describe(lb))
        fig_arms = [plots.Arm(lab, [by[arm, s]["timeseries"] for s in seeds], [oc[arm][s] for s in seeds],
                              milestones(arms[arm])) for arm, lab in zip(("a", "b"), labels)]
        title = (f"{la.scenario.name} vs {lb.scenario.name}: {len(seeds)} seeds, scale {scale:g}, median and 5-95% "
                 "band over seeds")
        plots.outcomes_figure(fig_arms, tmp / "fan_outcomes.png", title, observed)
        plots.monthly_figure(fig_arms, tmp / "fan_monthly.png", title)
        if tick:
            tick()
        outputs.write_json(tmp / outputs.MARKER, provenance.build(
            command="compare", root=root, argv=argv, started=started, wall_time_s=time.perf_counter() - t0,
            seeds=seeds, scale=scale, workers=workers, scheduler=scheduler,
            scenario_a=provenance.scenario_record(la), scenario_b=provenance.scenario_record(lb),
            missing_outcomes=missing,
            runs=[{"arm": arm, "seed": s, "build_s": round(by[arm, s]["build_s"], 3),
                   "run_s": round(by[arm, s]["run_s"], 3)} for arm in ("a", "b") for s in seeds],
            files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))
    return Compared(seeds, oc, diffs, missing, observed, len(results))
