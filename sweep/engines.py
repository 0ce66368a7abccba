"""Where the runs of a sweep execute, and how finished runs reach the sweep folder.

* :func:`run_serial`: the runs one after the other in this process, no Dask at all (``--shard I/N``, for
  SLURM or PBS array jobs, and a fallback).
* :func:`run_dask`: the runs as Dask tasks on any Dask cluster: a local one (:func:`local_cluster`, one
  single-threaded worker process per core), an existing scheduler (:func:`connect`), or SLURM/PBS jobs
  started through dask-jobqueue (:func:`jobqueue_cluster`). At most a window of tasks is queued at once,
  so a sweep of a million runs does not flood the scheduler; a worker that dies has its task run again
  elsewhere (Dask's own rescheduling), and a task that kills every worker it is tried on is recorded as
  failed.

Either way each finished run goes to a :class:`Sink`, which writes it to the sweep folder in small batches
(a batch is written when it holds ``batch`` runs or its first run finished ``max_age`` seconds ago) and
reports progress.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .design import Run
from .runner import RunContext, Runner, execute, failed_record
from .storage import SweepStore

__all__ = ["Sink", "run_serial", "run_dask", "local_cluster", "connect", "jobqueue_cluster", "JOBQUEUE_KINDS"]

JOBQUEUE_KINDS = ("slurm", "pbs")


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


# ---------------------------------------------------------------------------------------------
# Dask clusters
# ---------------------------------------------------------------------------------------------
def _quiet_dask() -> None:
    import dask

    dask.config.set({"distributed.admin.tick.limit": "30s", "distributed.scheduler.allowed-failures": 3})
    for name in ("distributed", "distributed.nanny", "distributed.worker", "distributed.scheduler",
                 "distributed.core", "distributed.batched"):
        logging.getLogger(name).setLevel(logging.ERROR)


def local_cluster(workers: int) -> tuple[Any, Any]:
    """A local Dask cluster of ``workers`` single-threaded worker processes, and its client."""
    _quiet_dask()
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():  # "Port 8787 is already in use": another Dask cluster runs; any port will do
        warnings.simplefilter("ignore", UserWarning)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL)  # run errors are recorded per run
    return Client(cluster), cluster


def connect(address: str, timeout: float = 30.0) -> Any:
    """A client of an existing Dask scheduler (``tcp://host:8786`` or a scheduler file)."""
    _quiet_dask()
    from distributed import Client

    if os.path.isfile(address):
        return Client(scheduler_file=address, timeout=timeout)
    return Client(address, timeout=timeout)


def jobqueue_cluster(kind: str, *, queue: str | None, account: str | None, cores: int, memory: str,
                     walltime: str, jobs: int, job_extra: list[str], prologue: list[str],
                     interface: str | None, log_directory: str | None, root: Path) -> Any:
    """A dask-jobqueue cluster (not yet scaled): one single-threaded worker per core of each job."""
    _quiet_dask()
    import dask_jobqueue

    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    kw: dict[str, Any] = dict(
        queue=queue, account=account, cores=cores, processes=cores, memory=memory, walltime=walltime,
        job_extra_directives=list(job_extra), python=sys.executable,
        job_script_prologue=[f"export PYTHONPATH={root}${{PYTHONPATH:+:$PYTHONPATH}}",
                             "export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1",
                             *prologue])
    if interface:
        kw["interface"] = interface
    if log_directory:
        kw["log_directory"] = log_directory
    cluster = cls(**{k: v for k, v in kw.items() if v is not None})
    return cluster
