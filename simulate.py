#!/usr/bin/env python3
"""dealsim command line: run one scenario, compare two over seeds, or check scenario files.

    python simulate.py run scenarios/wigan.yaml --seed 1 --scale 0.1
    python simulate.py compare scenarios/wigan.yaml scenarios/wigan_no_deal.yaml --seeds 5
    python simulate.py check scenarios/*.yaml
    python simulate.py assess scenarios/councils/bolton.yaml
    python simulate.py app --port 8765

Any bad input prints one line, ``error: <message>``, on stderr and exits with status 2; an interrupt
(Ctrl-C) exits with 130. Neither leaves a result folder: results are written into ``DIR.tmp-<pid>`` and
renamed to DIR only when complete. Files are written by runs/outputs.py, figures by runs/plots.py and
the provenance record by runs/provenance.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.args import posterior_for_runs
from cli.parser import UsageError, build_parser as _build_parser
from cli.show import (destination, load, months_of, print_assessment, print_compare, print_run, progress_bar,
                      print_sensitivity, print_sweep_summary, run_bars, safe_name, stamp, warn_missing, overrides_text,
                      shown)
from runs.batch import with_nulls  # noqa: F401  (tests and users reach it as simulate.with_nulls)

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141

WRITTEN: list[Path] = []  # result folders completed by this command (for an honest message on Ctrl-C)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (clean up, no partial output) but exiting with 143."""


# ---------------------------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from runs.batch import run_to_folder

    loaded = load(args.scenario, args.set)
    name, t0 = loaded.scenario.name, time.perf_counter()
    dest = destination(args.out, f"{safe_name(name)}_seed{args.seed}_{stamp()}", args.force)
    with progress_bar(args.quiet) as prog:
        task = prog.add_task(f"{name}: building population and burn-in", total=None)

        def progress(done: int, total: int) -> None:
            check_signals()
            prog.update(task, description=f"{name} seed {args.seed}", total=total, completed=done)

        r, observed = run_to_folder(loaded, args.seed, args.scale, dest, force=args.force, threads=args.threads,
                                    argv=[sys.argv[0], *argv], root=ROOT, written=WRITTEN, progress=progress,
                                    tick=check_signals)
    warn_missing(r.missing, f"{name}, seed {args.seed}")
    if not args.quiet:
        print_run(name, args.seed, args.scale, r.outcomes, observed, dest, time.perf_counter() - t0)
    return 0


def cmd_compare(args: argparse.Namespace, argv: list[str]) -> int:
    from runs.batch import compare_to_folder

    la = load(args.scenario_a, args.set_a, "--set-a")
    lb = load(args.scenario_b, args.set_b, "--set-b")
    na, nb = la.scenario.name, lb.scenario.name
    k = args.seeds if args.seeds is not None else (5 if args.scale < 1 else 3)
    seeds, t0 = list(range(k)), time.perf_counter()
    workers = args.workers or min(2, os.cpu_count() or 1)
    dest = destination(args.out, f"{safe_name(na)}_vs_{safe_name(nb)}_{k}seeds_{stamp()}", args.force)
    label_a, label_b = f"A: {na}{overrides_text(la)}", f"B: {nb}{overrides_text(lb)}"
    labels = [f"{label_a if arm == 'a' else label_b}, seed {seed}" for seed in seeds for arm in ("a", "b")]
    draws, source = posterior_for_runs(args.posterior, k) if args.posterior else (None, None)
    if draws:
        label_a, label_b = label_a + " (posterior draws)", label_b + " (posterior draws)"
    with run_bars(args.quiet, labels, [months_of(lo) for _ in seeds for lo in (la, lb)]) as (progress, finished):
        c = compare_to_folder(la, lb, seeds, args.scale, dest, force=args.force, workers=workers,
                              scheduler=args.scheduler, labels=(label_a, label_b), argv=[sys.argv[0], *argv],
                              root=ROOT, written=WRITTEN, progress=progress, finished=finished, tick=check_signals,
                              draws=draws, draws_source=source)
    if c.missing:
        warn_missing({key: {"": next(iter(next(iter(v.values())).values()))} for key, v in c.missing.items()},
                     f"{len(c.missing)} of {c.runs} runs")
    if not args.quiet:
        print_compare(label_a, label_b, k, args.scale, c.differences, c.observed, dest, time.perf_counter() - t0,
                      workers, posterior=bool(draws))
    return 0


def cmd_assess(args: argparse.Namespace, argv: list[str]) -> int:
    from assess import assessment as A
    from assess.council import load_council
    from runs.batch import run_many

    council = load_council(args.council)
    if args.check:
        for key, b in council.baseline.items():
            print(f"{key}: {'-' if b['value'] is None else b['value']}  # {b['what']}; {b['source']}")
        print(f"{args.council}: valid council file ({council.name}), {len(council.defaults_used)} defaults used",
              flush=True)
        return 0
    d = A.DEFAULTS
    settings = A.Settings(draws=args.draws or d["draws"], seeds=args.seeds or d["seeds"],
                          scale=args.scale if args.scale is not None else d["scale"], start=args.start, horizon=args.horizon,
                          fidelity=args.fidelity, investment=args.investment, sets=list(args.set),
                          posterior=args.posterior, seed=args.seed, sensitivity=not args.no_sensitivity)
    workers = args.workers or min(2, os.cpu_count() or 1)
    dest = destination(args.out, f"assess_{safe_name(council.loaded.scenario.name)}_{stamp()}", args.force)
    t0 = time.perf_counter()
    if not args.quiet:
        print(f"{council.name}: preparing the runs (baseline, parameter draws)...", file=sys.stderr, flush=True)

    def run(jobs: list, labels: list[str]) -> list:
        with run_bars(args.quiet, labels, [months_of(lo) for lo, _ in jobs]) as (progress, finished):
            return run_many(jobs, settings.scale, workers, args.scheduler, progress, finished, check_signals)

    plan, summary = A.assess_to_folder(council, settings, dest, force=args.force, run=run, workers=workers,
                                       argv=[sys.argv[0], *argv], root=ROOT, written=WRITTEN, tick=check_signals)
    if not args.quiet:
        print_assessment(council, plan, {**A.public(summary), **A.details(summary)}, settings.scale, dest,
                         time.perf_counter() - t0, len(plan.jobs) + len(plan.sens_jobs), workers)
    return 0


def cmd_check(args: argparse.Namespace, argv: list[str]) -> int:
    from model.scenario import ScenarioError, describe

    bad = 0
    for path in args.scenarios:
        try:
            loaded = load(path, args.set)
        except ScenarioError as exc:
            _error(str(exc))
            bad += 1
            continue
        if not args.quiet:
            sys.stdout.write(describe(loaded))
        print(f"{path}: valid, sha256 {loaded.sha256}", flush=True)
    return EXIT_USAGE if bad else 0


def cmd_app(args: argparse.Namespace, argv: list[str]) -> int:
    import socket
    import subprocess

    port = args.port
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1" if args.host == "localhost" else args.host, port))
            port = sock.getsockname()[1]
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{port} ({exc.strerror or exc}); choose another --port") from None
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",  # no calls home: councils' networks are closed
           "SOLARA_THEME_SHOW_BANNER": "false", "SOLARA_THEME_TITLE": "dealsim"}  # no footer over the charts
    cmd = [sys.executable, "-m", "solara", "run", str(ROOT / "app.py"), "--port", str(port), "--host", args.host,
           "--no-open", "--production", "--no-check-version", "--log-level", "warning"]
    child = subprocess.Popen(cmd, cwd=ROOT, env=env)
    print(f"dealsim app: http://{args.host}:{port}  (Ctrl-C to stop)", flush=True)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
        print("dealsim app stopped", flush=True)
        return 0


# ---------------------------------------------------------------------------------------------
# Sweeps and sensitivity analysis (the work is done by the sweep/ package)
# ---------------------------------------------------------------------------------------------
def _store_error(exc: Exception) -> UsageError:
    return UsageError(str(exc))


def cmd_sweep(args: argparse.Namespace, argv: list[str]) -> int:
    from sweep import storage
    from sweep.definition import load_sweep
    from sweep.execute import Engine, run_sweep

    engine_opts = [o for o, v in (("--workers", args.workers), ("--scheduler", args.scheduler),
                                  ("--cluster", args.cluster), ("--shard", args.shard)) if v is not None]
    if len(engine_opts) > 1:
        raise UsageError(f"{' and '.join(engine_opts[:2])} cannot be used together (choose one engine)")
    if args.print_job_script and not args.cluster:
        raise UsageError("--print-job-script needs --cluster slurm|pbs")
    defn = load_sweep(args.sweep_file)
    if args.out is None:
        Path("results").mkdir(exist_ok=True)
    out = args.out or str(Path("results") / f"sweep_{safe_name(defn.name)}")
    jq = dict(queue=args.queue, account=args.account, cores=args.cores, memory=args.memory, walltime=args.walltime,
              jobs=args.jobs, job_extra=args.job_extra, prologue=args.prologue, interface=args.interface,
              log_directory=args.log_dir)
    if args.print_job_script:
        cluster = _jobqueue(args.cluster, jq)
        try:
            print(cluster.job_script())
        finally:
            cluster.close()
        return 0
    kind = "shard" if args.shard else "scheduler" if args.scheduler else args.cluster or "local"
    engine = Engine(kind, args.workers, args.scheduler, args.shard, args.jobs, jq)
    part = f" (shard {args.shard[0]}/{args.shard[1]})" if args.shard else ""
    t0 = time.perf_counter()
    with progress_bar(args.quiet) as prog:
        task = prog.add_task(f"{defn.name}{part}", total=None)
        con, last_line = prog.console, [time.monotonic()]

        def progress(rep: Any, remaining: int) -> None:
            done = rep.already + rep.ok_now
            prog.update(task, total=rep.mine, completed=done + rep.failed_now,
                        description=f"{defn.name}{part}: {done} done, {rep.failed_now} failed, {remaining} remaining")
            now = time.monotonic()
            if not args.quiet and not con.is_terminal and (now - last_line[0] >= 30 or remaining == 0):
                last_line[0] = now
                rate = (rep.ok_now + rep.failed_now) / max(time.perf_counter() - t0, 1e-9)
                eta = f", about {remaining / rate / 60:.1f} min left" if rate > 0 and remaining else ""
                print(f"{defn.name}{part}: {done} done, {rep.failed_now} failed, {remaining} remaining{eta}",
                      file=sys.stderr, flush=True)

        try:
            rep = run_sweep(defn, out, engine, root=ROOT, argv=[sys.argv[0], *argv], force=args.force,
                            retry_failed=args.retry_failed, batch=args.batch, retries=args.retries, progress=progress,
                            starting=lambda what: prog.update(task, description=f"{defn.name}: {what}"),
                            tick=check_signals)
        except storage.StoreError as exc:
            raise _store_error(exc) from None
        except (OSError, TimeoutError) as exc:
            if args.scheduler:
                raise UsageError(f"--scheduler {args.scheduler}: cannot connect ({exc})") from None
            raise
        except ValueError as exc:
            if args.cluster:
                raise UsageError(f"--cluster {args.cluster}: {exc}") from None
            raise
    stored = rep.stored_ok + rep.stored_failed
    if rep.interrupted is not None:
        what = "terminated" if isinstance(rep.interrupted, Terminated) else "interrupted"
        _error(f"{what}: {stored} of {rep.total} runs are stored in {shown(rep.store.root)}; run the same "
               "command again to finish the rest")
        return EXIT_TERMINATED if isinstance(rep.interrupted, Terminated) else EXIT_INTERRUPTED
    if not args.quiet:
        left = rep.total - stored
        rest = f"; {left} runs are left to other shards" if args.shard and left else ""
        w = rep.workers
        where = f", {w} worker{'s' if w != 1 else ''}" if w else ""
        print(f"{defn.name}{part}: {rep.ok_now + rep.failed_now} runs now ({rep.ok_now} ok, {rep.failed_now} failed), "
              f"{rep.already} already stored; the sweep has {rep.stored_ok} of {rep.total} runs done, "
              f"{rep.stored_failed} failed{rest}. results: {shown(rep.store.root)} ({rep.wall_s:.1f} s{where})",
              flush=True)
    return 0


def _jobqueue(kind: str, options: dict[str, Any]) -> Any:
    from runs.executor import jobqueue_cluster

    try:
        return jobqueue_cluster(kind, root=ROOT, **options)
    except (ValueError, OSError) as exc:
        raise UsageError(f"--cluster {kind}: {exc}") from None


def cmd_sweep_results(args: argparse.Namespace, argv: list[str]) -> int:
    from runs.outputs import OutputError, write_file
    from sweep import storage, summary

    store = storage.SweepStore(args.dir)
    try:
        s = summary.summarise(store)
        n = write_file(args.csv, lambda p: summary.write_runs_csv(store, p)) if args.csv else None
        if args.levels_csv:
            write_file(args.levels_csv, lambda p: summary.write_levels_csv(s, p))
    except storage.StoreError as exc:
        raise _store_error(exc) from None
    except OutputError as exc:
        raise UsageError(str(exc)) from None
    print_sweep_summary(s, args.quiet)
    if args.csv:
        print(f"runs: {args.csv} ({n} rows)", flush=True)
    if args.levels_csv:
        print(f"levels: {args.levels_csv}", flush=True)
    return 0


def cmd_sensitivity(args: argparse.Namespace, argv: list[str]) -> int:
    from sweep import sensitivity, storage

    store = storage.SweepStore(args.dir)
    try:
        result = sensitivity.analyse(store, args.output or None, num_resamples=args.resamples)
    except storage.StoreError as exc:
        raise _store_error(exc) from None
    if not sensitivity.rows(result):
        reasons = "; ".join(f"{k}: {v['skipped']}" for k, v in result["outputs"].items())
        raise UsageError(f"{args.dir}: no output could be analysed ({reasons})")
    default = args.out is None
    dest = destination(args.out or str(store.root / "sensitivity"), "", args.force or default)
    sensitivity.write_folder(result, store, dest, force=args.force or default, argv=[sys.argv[0], *argv], root=ROOT,
                             written=WRITTEN)
    if not args.quiet:
        print_sensitivity(result, dest)
    return 0


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------
def _error(message: str) -> None:
    line = " ".join(str(message).split())
    print(f"error: {line}", file=sys.stderr, flush=True)


SIGNALLED: list[int] = []  # signals received; re-raised at safe points if Python swallowed the exception


def _on_signal(signum: int, frame: Any) -> None:
    SIGNALLED.append(signum)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def check_signals() -> None:
    """Raise again an interrupt that Python swallowed (one raised inside a weakref callback or __del__
    is only reported as 'Exception ignored'); called at every month and between runs."""
    if SIGNALLED:
        raise Terminated() if SIGNALLED[-1] == signal.SIGTERM else KeyboardInterrupt()


def _unraisable(info: Any) -> None:
    if isinstance(info.exc_value, KeyboardInterrupt):
        return  # counted in SIGNALLED; check_signals() raises it where it can be handled
    sys.__unraisablehook__(info)


COMMANDS: dict[str, Callable[..., int]] = {
    "run": cmd_run, "compare": cmd_compare, "assess": cmd_assess, "check": cmd_check, "app": cmd_app,
    "sweep": cmd_sweep, "sweep_results": cmd_sweep_results, "sensitivity": cmd_sensitivity}


def build_parser() -> Any:
    return _build_parser(COMMANDS)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    sys.unraisablehook = _unraisable
    try:
        from model.scenario import ScenarioError
        from runs.single import RunError

        try:
            args = build_parser().parse_args(argv)
            return args.func(args, argv)
        except (UsageError, ScenarioError, RunError) as exc:
            _error(str(exc))
            return EXIT_USAGE
    except KeyboardInterrupt as exc:
        done = f"after the results were written to {shown(WRITTEN[-1])}" if WRITTEN else "; no results written"
        if isinstance(exc, Terminated):
            _error(f"terminated{' ' if WRITTEN else ''}{done}")
            return EXIT_TERMINATED
        _error(f"interrupted{' ' if WRITTEN else ''}{done}")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `simulate.py check ... | head`: stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    status = main()
    # The work is done (or abandoned cleanly): a late Ctrl-C must not print tracebacks while Python exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(status)
