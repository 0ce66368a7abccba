"""The one executor for every batch of runs: Dask (`distributed`).

compare, assessments, validation, sweeps and the calibration experiments all hand their runs to a Dask client:

* `session(workers, scheduler)`: a client of the scheduler at `scheduler` (``tcp://host:8786`` or a scheduler
  file), else of a local cluster of `workers` single-threaded worker processes (one per core by default);
* `jobqueue_cluster(...)`: SLURM or PBS jobs as Dask workers (dask-jobqueue), for sweeps on a cluster;
* `kept(workers)`: a local cluster kept for the life of the process (the web app: its workers keep their imports
  and loaded kernels from one assessment to the next, so only the first pays for starting them);
* `map_jobs(client, fn, jobs)`: fn(*job) for every job, results in job order, with one progress display (each
  run reports its months through Dask's event log) and one Ctrl-C path: on any interruption or error the
  jobs not yet finished are cancelled before the exception goes on.

Results do not depend on the executor: every draw is keyed (model/rng.py), so a run gives the same numbers in
any process, on any worker, in any order.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["quiet_dask", "local_cluster", "connect", "jobqueue_cluster", "session", "kept", "map_jobs", "report_months",
           "JOBQUEUE_KINDS"]

JOBQUEUE_KINDS = ("slurm", "pbs")
TOPIC = "dealsim-progress"


def quiet_dask() -> None:
    """Dask's own logging down to errors (run failures are reported per run), and a patient scheduler."""
    import dask

    dask.config.set({"distributed.admin.tick.limit": "30s", "distributed.scheduler.allowed-failures": 3})
    for name in ("distributed", "distributed.nanny", "distributed.worker", "distributed.scheduler",
                 "distributed.core", "distributed.batched", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def local_cluster(workers: int) -> tuple[Any, Any]:
    """A local Dask cluster of `workers` single-threaded worker processes, and its client."""
    quiet_dask()
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():  # "Port 8787 is already in use": another Dask cluster runs; any port will do
        warnings.simplefilter("ignore", UserWarning)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


def connect(address: str, timeout: float = 30.0) -> Any:
    """A client of an existing Dask scheduler (``tcp://host:8786`` or a scheduler file)."""
    quiet_dask()
    from distributed import Client

    if os.path.isfile(address):
        return Client(scheduler_file=address, timeout=timeout)
    return Client(address, timeout=timeout)


def jobqueue_cluster(kind: str, *, queue: str | None, account: str | None, cores: int, memory: str,
                     walltime: str, jobs: int, job_extra: list[str], prologue: list[str],
                     interface: str | None, log_directory: str | None, root: Path) -> Any:
    """A dask-jobqueue cluster (not yet scaled): one single-threaded worker per core of each job."""
    quiet_dask()
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
    return cls(**{k: v for k, v in kw.items() if v is not None})


_KEPT: dict[int, tuple[Any, Any]] = {}
_KEPT_LOCK = threading.Lock()


def _close_kept() -> None:
    for client, cluster in list(_KEPT.values()):
        try:
            client.close(timeout=5)
            cluster.close(timeout=5)
        except Exception:  # noqa: BLE001 - the interpreter is going down
            pass
    _KEPT.clear()


def kept(workers: int) -> Any:
    """The client of a local cluster of `workers` processes that stays up until the process exits (started on first
    asking; later callers with the same count share it). For a long-lived process that runs batch after batch."""
    with _KEPT_LOCK:
        entry = _KEPT.get(workers)
        if entry is not None and entry[0].status == "running":
            return entry[0]
        from .outputs import signals_deferred

        with signals_deferred():
            client, cluster = local_cluster(max(1, workers))
        if not _KEPT:
            import atexit

            atexit.register(_close_kept)
        _KEPT[workers] = (client, cluster)
        return client


@contextmanager
def session(workers: int | None = None, scheduler: str | None = None, keep: bool = False) -> Iterator[Any]:
    """A Dask client for a batch: of `scheduler` if given, else of a local cluster with `workers` processes
    (all cores by default). The local cluster is closed afterwards, also on Ctrl-C, unless `keep` asks for the
    process's kept cluster (`kept`)."""
    if keep and not scheduler:
        yield kept(max(1, workers or os.cpu_count() or 1))
        return
    if scheduler:
        client = connect(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    from .outputs import signals_deferred

    with signals_deferred():  # a Ctrl-C while workers start takes effect once they can be stopped
        client, cluster = local_cluster(max(1, workers or os.cpu_count() or 1))
    try:
        yield client
    finally:
        with signals_deferred():
            try:
                client.close(timeout=10)
            finally:
                cluster.close(timeout=10)


def report_months(job: int) -> Callable[[int, int], None]:
    """A progress callback for a run inside a Dask task: months done, at most every 0.2 s, to the client."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not inside a Dask worker
        return lambda done, total: None
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.2:
            return
        last[0] = now
        worker.log_event(TOPIC, (job, done, total))

    return report


def map_jobs(client: Any, fn: Callable[..., Any], jobs: Sequence[tuple], *,
             progress: Callable[[int, int, int], None] | None = None, finished: Callable[[int, Any], None] | None = None,
             tick: Callable[[], None] | None = None, key: str = "dealsim-job") -> list[Any]:
    """fn(index, *job) for every job as Dask tasks; the results in job order.

    `progress(job, months_done, months_total)` receives what runs report through `report_months(index)`;
    `finished(job, result)` is called as each job ends; `tick()` runs between waits (it may raise, e.g. on a
    signal). Any exception (an error of a job, Ctrl-C) cancels the jobs still pending and is raised."""
    from distributed import as_completed

    lock = threading.Lock()
    events: list[tuple[int, int, int]] = []

    def on_event(event: tuple) -> None:
        with lock:
            events.append(tuple(event[1]))

    if progress is not None:
        client.subscribe_topic(TOPIC, on_event)
    futures = [client.submit(fn, i, *job, key=f"{key}-{i}-{os.getpid()}-{time.monotonic_ns()}", pure=False)
               for i, job in enumerate(jobs)]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    try:
        ac = as_completed(futures)
        left = len(futures)
        while left:
            if tick:
                tick()
            done = ac.next_batch(block=False)
            if progress is not None:
                with lock:
                    batch, events[:] = list(events), []
                for e in batch:
                    progress(*e)
            if not done:
                time.sleep(0.05)
                continue
            for f in done:
                i = index[f.key]
                results[i] = f.result()
                left -= 1
                if finished:
                    finished(i, results[i])
                f.release()
        return results
    except BaseException:
        client.cancel([f for f in futures if not f.done()], force=True)
        raise
    finally:
        if progress is not None:
            try:
                client.unsubscribe_topic(TOPIC)
            except Exception:  # noqa: BLE001 - the client may already be closing
                pass
