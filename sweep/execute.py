"""Running a sweep: open (or resume) its folder, pick the runs still to do, run them on the chosen engine, log it.

The command line (`simulate.py sweep`) parses its options into an `Engine` and calls `run_sweep` once; this
module owns the rest: the manifest, the design stored beside the runs, shards, retries, the Dask cluster's
whole life (also on Ctrl-C, when every finished run is flushed first) and the log line of each invocation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from runs import executor, outputs, provenance

from . import design, engines, storage
from .definition import SweepDefinition
from .runner import RunContext

__all__ = ["Engine", "SweepReport", "run_sweep"]


@dataclass(frozen=True)
class Engine:
    """Where the runs execute: 'local' (a Dask cluster of `workers` processes), 'scheduler' (an existing Dask
    scheduler at `scheduler`), 'slurm'/'pbs' (dask-jobqueue, `jobs` jobs made with the `jobqueue` options) or
    'shard' (the `shard` = (I, N) part in this process, without Dask)."""

    kind: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    shard: tuple[int, int] | None = None
    jobs: int = 1
    jobqueue: dict[str, Any] = field(default_factory=dict)


@dataclass
class SweepReport:
    store: storage.SweepStore
    total: int                    # runs in the whole sweep
    mine: int                     # runs of this invocation's part (the shard, or all)
    already: int                  # of those, stored before this invocation
    ok_now: int = 0
    failed_now: int = 0
    stored_ok: int = 0
    stored_failed: int = 0
    workers: int | None = None
    wall_s: float = 0.0
    interrupted: BaseException | None = None


def run_sweep(defn: SweepDefinition, out: str | os.PathLike[str], engine: Engine, *, root: Path,
              argv: list[str], force: bool = False, retry_failed: bool = False, batch: int = 10,
              retries: int | None = None, progress: Callable[[SweepReport, int], None] | None = None,
              starting: Callable[[str], None] | None = None, tick: Callable[[], None] | None = None) -> SweepReport:
    """Run what is left of the sweep into the folder `out` (created, resumed, or refused: storage.StoreError).

    `progress(report, remaining)` is called as runs finish; `starting(what)` before a cluster starts; `tick()`
    between waits (it may raise KeyboardInterrupt, which stops the sweep cleanly: the report says so)."""
    started, t0 = provenance.now_utc(), time.perf_counter()
    pts = design.points(defn)
    design.check_points(defn, pts)
    fresh_runs = design.runs_from_points(pts, defn.replicates)
    store = storage.SweepStore(out)
    manifest = {
        "definition_sha256": defn.sha256, "definition": defn.record(), "points": len(pts), "runs": len(fresh_runs),
        "sweep_file": str(defn.path), "sweep_text": defn.text,
        "base_scenario": provenance.scenario_record(defn.base),
        "created": provenance.build(command="sweep", root=root, argv=argv, started=started, wall_time_s=0.0,
                                    salib=version("SALib"), dask=version("dask")),
    }
    resumed = store.open(manifest, force=force)
    stored_pts = store.read_design()
    if stored_pts is None:
        store.write_design(pts)
        stored_pts = store.read_design()
    runs = design.runs_from_points(stored_pts, defn.replicates)
    mine = design.shard(runs, *engine.shard) if engine.shard else runs
    done_ids = store.stored(include_failed=not retry_failed)
    todo = [r for r in mine if r.run_id not in done_ids]
    rep = SweepReport(store, total=len(runs), mine=len(mine), already=len(mine) - len(todo))
    ctx = RunContext(defn.base, defn.scale, defn.outputs, retries if retries is not None else defn.retries)

    def report(sink: engines.Sink) -> None:
        rep.ok_now, rep.failed_now = sink.ok, sink.failed
        if progress:
            progress(rep, len(todo) - sink.ok - sink.failed)

    sink = engines.Sink(store, batch=batch, report=report)
    client = cluster = None
    try:
        if todo:
            if engine.kind == "shard":
                engines.run_serial(ctx, todo, sink, tick=tick)
            else:
                if engine.kind == "scheduler":
                    client = executor.connect(engine.scheduler)
                elif engine.kind in executor.JOBQUEUE_KINDS:
                    from distributed import Client

                    cluster = executor.jobqueue_cluster(engine.kind, root=root, **engine.jobqueue)
                    cluster.scale(jobs=engine.jobs)
                    client = Client(cluster)
                else:
                    rep.workers = engine.workers or os.cpu_count() or 1
                    if starting:
                        starting(f"starting {rep.workers} local workers")
                    with outputs.signals_deferred():
                        client, cluster = executor.local_cluster(rep.workers)
                engines.run_dask(client, ctx, todo, sink, tick=tick)
    except KeyboardInterrupt as exc:
        rep.interrupted = exc
    finally:
        with outputs.signals_deferred():
            sink.flush()
            for thing in (client, cluster):
                if thing is not None:
                    try:
                        thing.close()
                    except Exception:  # noqa: BLE001 - closing after an interrupt is best effort
                        pass
    rep.ok_now, rep.failed_now = sink.ok, sink.failed
    stored_ok, stored_all = store.stored(include_failed=False), store.stored()
    rep.stored_ok, rep.stored_failed = len(stored_ok), len(stored_all - stored_ok)
    rep.wall_s = time.perf_counter() - t0
    store.log(provenance.build(
        command="sweep", root=root, argv=argv, started=started, wall_time_s=rep.wall_s, engine=engine.kind,
        workers=rep.workers, scheduler=engine.scheduler, shard=list(engine.shard) if engine.shard else None,
        resumed=resumed, interrupted=rep.interrupted is not None, runs_this_time={"ok": sink.ok, "failed": sink.failed},
        run_seconds=round(sink.run_seconds, 3),
        sweep={"runs": rep.total, "stored_ok": rep.stored_ok, "stored_failed": rep.stored_failed}))
    return rep
