"""Where the runs of a sweep execute, and how finished runs reach the sweep folder.

* :func:`run_serial`: the runs one after the other in this process, no Dask at all (``--shard I/N``, for
  SLURM or PBS array jobs, and a fallback).
* :func:`run_dask`: the runs as Dask tasks on any Dask cluster the executor gives (runs/executor.py): a local
  one (one single-threaded worker process per core), an existing scheduler, or SLURM/PBS jobs started through
  dask-jobqueue. At most a window of tasks is queued at once,
  so a sweep of a million runs does not flood the scheduler; a worker that dies has its task run again
  elsewhere (Dask's own rescheduling), and a task that kills every worker it is tried on is recorded as
  failed.

Either way each finished run goes to a :class:`Sink`, which writes it to the sweep folder in small batches
(a batch is written when it holds ``batch`` runs or its first run finished ``max_age`` seconds ago) and
reports progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from .design import Run
from .runner import RunContext, Runner, execute, failed_record
from .storage import SweepStore

__all__ = ["Sink", "run_serial", "run_dask"]


class Sink:
    """Collects finished runs, writes them in batches, counts them, and reports progress."""

    def __init__(self, store: SweepStore, batch: int = 10, max_age: float = 10.0,
                 report: Callable[["Sink"], None] | None = None):
        self.store = store
        self.batch = max(1, batch)
        self.max_age = max_age
        self.report = report
        self.pending: list[dict[str, Any]] = []
        self.first_at = 0.0
        self.ok = 0
        self.failed = 0
        self.stored = 0
        self.run_seconds = 0.0

    def add(self, record: dict[str, Any]) -> None:
        if not self.pending:
            self.first_at = time.monotonic()
        self.pending.append(record)
        if record["status"] == "ok":
            self.ok += 1
        else:
            self.failed += 1
        self.run_seconds += record.get("run_s") or 0.0
        self.maybe_flush()
        if self.report:
            self.report(self)

    def maybe_flush(self) -> None:
        if self.pending and (len(self.pending) >= self.batch or time.monotonic() - self.first_at >= self.max_age):
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.write_batch(self.pending)
            self.stored += len(self.pending)
            self.pending = []


def run_serial(ctx: RunContext, runs: Iterable[Run], sink: Sink, runner: Runner | None = None,
               tick: Callable[[], None] | None = None) -> None:
    """Run in this process, one after the other."""
    for run in runs:
        if tick:
            tick()
        sink.add(execute(ctx, run, runner))
    sink.flush()


def run_dask(client: Any, ctx: RunContext, runs: Iterable[Run], sink: Sink, runner: Runner | None = None,
             tick: Callable[[], None] | None = None, window: int | None = None) -> None:
    """Run as Dask tasks on ``client``'s cluster; records reach ``sink`` as tasks finish."""
    from distributed import as_completed

    if not client.scheduler_info().get("workers"):
        client.wait_for_workers(1)  # e.g. jobqueue jobs still waiting in the batch queue
    ctx_future = client.scatter(ctx, broadcast=True)  # once per worker, not once per run
    todo = iter(runs)
    live: dict[Any, Run] = {}
    ac = as_completed()
    threads = [0, 0.0]  # cached total worker threads, time of the last look

    def limit() -> int:
        if window:
            return window
        now = time.monotonic()
        if now - threads[1] > 2.0:
            threads[0] = sum(client.nthreads().values())
            threads[1] = now
        return max(16, 4 * threads[0])

    def fill() -> None:
        n = limit()
        while len(live) < n:
            run = next(todo, None)
            if run is None:
                return
            f = client.submit(execute, ctx_future, run, runner, key=f"dealsim-run-{run.run_id}", pure=False)
            live[f] = run
            ac.add(f)

    try:
        fill()
        while live:
            if tick:
                tick()
            done = ac.next_batch(block=False)
            if not done:
                sink.maybe_flush()
                time.sleep(0.01)
                continue
            for f in done:
                run = live.pop(f)
                try:
                    rec = f.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the task killed its workers
                    rec = failed_record(run, ctx.retries + 1, f"{type(exc).__name__}: {exc}")
                sink.add(rec)
                f.release()
            fill()
    finally:
        for f in list(live):
            f.cancel()
        sink.flush()
