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
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.parser import UsageError, build_parser as _build_parser
from cli.show import (UNITS, destination, fmt, headline, load, milestones, months_of, progress_bar, safe_name,  # noqa: F401
                      stamp, stdout_console, table, warn_missing, with_nulls, _describe, _overrides, _shown)
from model.outcomes import REGISTRY

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
def simulate(scenario: Any, seed: int, scale: float, base_dir: Path | None,
             report: Callable[[str, int, int], None] | None = None, threads: int = 1) -> dict[str, Any]:
    """One run (runs.single.run_one) as a plain dict for the worker pool: timeseries, outcomes and timings, or
    {"error": message} when the scenario cannot be run at this scale."""
    from runs.single import RunError, run_one

    if report:
        report("build", 0, 0)
    try:
        r = run_one(scenario, seed, scale, base_dir=base_dir, threads=threads,
                    progress=(lambda done, total: report("month", done, total)) if report else None)
    except RunError as exc:
        return {"error": str(exc)}
    return {"seed": seed, "timeseries": r.timeseries, "outcomes": r.outcomes, "missing": r.missing,
            "build_s": r.build_s, "run_s": r.run_s, "months": r.months}


def run_pool(jobs: list[tuple[Any, int]], scale: float, workers: int, quiet: bool,
             labels: list[str], months: list[int], scheduler: str | None = None) -> list[dict[str, Any]]:
    """Run (loaded scenario, seed) jobs on the executor (a local Dask cluster, or `scheduler`); results in job
    order, with a progress bar for each run and one for all."""
    from runs import executor
    from runs.single import run_job

    with progress_bar(quiet) as prog:
        overall = prog.add_task(f"{len(jobs)} runs: starting {min(workers, len(jobs))} workers", total=sum(months))
        tasks: dict[int, Any] = {}
        done_months = [0] * len(jobs)
        finished = [0]

        def progress(i: int, d: int, total: int) -> None:
            if i not in tasks:
                tasks[i] = prog.add_task(f"  {labels[i]}", total=total)
            prog.update(tasks[i], completed=d, total=total)
            done_months[i] = d
            prog.update(overall, completed=sum(done_months), description=f"{finished[0]}/{len(jobs)} runs done")

        def done(i: int, r: dict[str, Any]) -> None:
            if "error" in r:
                raise UsageError(r["error"])
            finished[0] += 1
            done_months[i] = months[i]
            if i in tasks:
                prog.update(tasks[i], visible=False)
            prog.update(overall, completed=sum(done_months), description=f"{finished[0]}/{len(jobs)} runs done")

        try:
            with executor.session(min(workers, len(jobs)), scheduler) as client:
                return executor.map_jobs(client, run_job, [(lo.scenario, seed, scale, lo.path.parent) for lo, seed in jobs],
                                         progress=progress, finished=done, tick=check_signals, key="dealsim-run")
        except (OSError, TimeoutError) as exc:
            if scheduler:
                raise UsageError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
            raise


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from runs import outputs, plots, provenance

    loaded = load(args.scenario, args.set)
    name = loaded.scenario.name
    dest = destination(args.out, f"{safe_name(name)}_seed{args.seed}_{stamp()}", args.force)
    started, t0 = provenance.now_utc(), time.perf_counter()

    with progress_bar(args.quiet) as prog:
        task = prog.add_task(f"{name}: building population and burn-in", total=None)

        def report(what: str, done: int, total: int) -> None:
            check_signals()
            if what == "month":
                prog.update(task, description=f"{name} seed {args.seed}", total=total, completed=done)

        result = simulate(loaded.scenario, args.seed, args.scale, loaded.path.parent, report, args.threads)
    check_signals()
    if "error" in result:
        raise UsageError(result["error"])
    warn_missing(result["missing"], f"{name}, seed {args.seed}")
    ts, oc = result["timeseries"], result["outcomes"]
    observed = plots.load_observed()

    with outputs.atomic_folder(dest, args.force, WRITTEN) as tmp:
        outputs.write_csv(tmp / "timeseries.csv", ts)
        outputs.write_parquet(tmp / "timeseries.parquet", ts)
        outputs.write_json(tmp / "outcomes.json", with_nulls(oc, result["missing"]))
        outputs.write_text(tmp / "scenario.yaml", _describe(loaded))
        arm = plots.Arm(name, [ts], [oc], milestones(loaded))
        title = f"{name}, seed {args.seed}, scale {args.scale:g}"
        plots.monthly_figure([arm], tmp / "monthly.png", f"{title}: monthly series")
        plots.outcomes_figure([arm], tmp / "outcomes.png", f"{title}: published measures", observed)
        check_signals()
        outputs.write_json(tmp / outputs.MARKER, provenance.build(
            command="run", root=ROOT, argv=[sys.argv[0], *argv], started=started,
            wall_time_s=time.perf_counter() - t0, seed=args.seed, scale=args.scale,
            scenario=provenance.scenario_record(loaded),
            model={"build_s": round(result["build_s"], 3), "run_s": round(result["run_s"], 3),
                   "months": result["months"], "threads": args.threads},
            missing_outcomes=result["missing"],
            files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))

    if not args.quiet:
        con = stdout_console()
        t = table(f"{name}: seed {args.seed}, scale {args.scale:g}",
                  [("outcome", "left"), ("period", "left"), ("model", "right"), ("Wigan observed", "right")])
        for o, p in headline(lambda n: list(oc.get(n, {}))):
            t.add_row((REGISTRY[o].short if o in REGISTRY else o), p, fmt(oc[o][p]), fmt(plots.observed_value(observed, o, p)))
        con.print(t)
        con.print(UNITS, style="dim", highlight=False)
        con.print(f"results: {_shown(dest)}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_compare(args: argparse.Namespace, argv: list[str]) -> int:
    from runs import outputs, plots, provenance

    la = load(args.scenario_a, args.set_a, "--set-a")
    lb = load(args.scenario_b, args.set_b, "--set-b")
    na, nb = la.scenario.name, lb.scenario.name
    k = args.seeds if args.seeds is not None else (5 if args.scale < 1 else 3)
    seeds = list(range(k))
    workers = args.workers or min(2, os.cpu_count() or 1)
    dest = destination(args.out, f"{safe_name(na)}_vs_{safe_name(nb)}_{k}seeds_{stamp()}", args.force)
    started, t0 = provenance.now_utc(), time.perf_counter()

    arms = {"a": la, "b": lb}
    jobs = [(arms[arm], seed) for seed in seeds for arm in ("a", "b")]
    keys = [(arm, seed) for seed in seeds for arm in ("a", "b")]
    label_a, label_b = (f"A: {na}{_overrides(la)}", f"B: {nb}{_overrides(lb)}")
    labels = [f"{label_a if arm == 'a' else label_b}, seed {seed}" for arm, seed in keys]
    results = run_pool(jobs, args.scale, workers, args.quiet, labels, [months_of(loaded) for loaded, _ in jobs],
                       args.scheduler)
    by = {keys[i]: r for i, r in enumerate(results)}
    missing = {f"{arm}/seed {s}": by[arm, s]["missing"] for arm in ("a", "b") for s in seeds if by[arm, s]["missing"]}
    if missing:
        warn_missing({k: {"": next(iter(next(iter(v.values())).values()))} for k, v in missing.items()},
                     f"{len(missing)} of {len(results)} runs")
    oc = {arm: {s: by[arm, s]["outcomes"] for s in seeds} for arm in ("a", "b")}
    diffs = outputs.summarise_differences(oc["a"], oc["b"])
    observed = plots.load_observed()
    meta = {"seeds": seeds, "scale": args.scale,
            "a": {"scenario": na, "sha256": la.sha256}, "b": {"scenario": nb, "sha256": lb.sha256}}

    check_signals()
    with outputs.atomic_folder(dest, args.force, WRITTEN) as tmp:
        outputs.write_json(tmp / "outcomes_by_seed.json", {
            **meta, "outcomes": {arm: {str(s): oc[arm][s] for s in seeds} for arm in ("a", "b")}})
        outputs.write_json(tmp / "differences.json", {
            **meta, "difference": "A - B, per seed (common random numbers) and quantiles over seeds",
            "outcomes": diffs})
        outputs.write_summary_csv(tmp / "summary.csv", diffs)
        outputs.write_parquet(tmp / "timeseries_by_seed.parquet", outputs.long_table(
            [({"arm": arm, "scenario": arms[arm].scenario.name, "seed": s}, by[arm, s]["timeseries"])
             for arm in ("a", "b") for s in seeds]))
        outputs.write_text(tmp / "scenario_a.yaml", _describe(la))
        outputs.write_text(tmp / "scenario_b.yaml", _describe(lb))
        fig_arms = [plots.Arm(lab, [by[arm, s]["timeseries"] for s in seeds], [oc[arm][s] for s in seeds],
                              milestones(arms[arm])) for arm, lab in (("a", label_a), ("b", label_b))]
        title = f"{na} vs {nb}: {k} seeds, scale {args.scale:g}, median and 5-95% band over seeds"
        plots.outcomes_figure(fig_arms, tmp / "fan_outcomes.png", title, observed)
        plots.monthly_figure(fig_arms, tmp / "fan_monthly.png", title)
        check_signals()
        outputs.write_json(tmp / outputs.MARKER, provenance.build(
            command="compare", root=ROOT, argv=[sys.argv[0], *argv], started=started,
            wall_time_s=time.perf_counter() - t0, seeds=seeds, scale=args.scale, workers=workers,
            scenario_a=provenance.scenario_record(la), scenario_b=provenance.scenario_record(lb),
            missing_outcomes=missing,
            runs=[{"arm": arm, "seed": s, "build_s": round(by[arm, s]["build_s"], 3),
                   "run_s": round(by[arm, s]["run_s"], 3)} for arm in ("a", "b") for s in seeds],
            files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))

    if not args.quiet:
        con = stdout_console()
        t = table(f"A = {label_a[3:]}, B = {label_b[3:]}: medians over {k} seeds (scale {args.scale:g}); A - B: median of the "
                  f"per-seed differences, [5%, 95%] over seeds; observed: Wigan's published value",
                  [("outcome", "left"), ("period", "left"), ("A med.", "right"), ("B med.", "right"),
                   ("A - B [5%, 95%]", "right"), ("observed", "right")])
        for o, p in headline(lambda n: list(diffs.get(n, {}))):
            d = diffs[o][p]
            t.add_row((REGISTRY[o].short if o in REGISTRY else o), p, fmt(d["a"]["median"]), fmt(d["b"]["median"]),
                      f"{fmt(d['diff']['median'], True)} [{fmt(d['diff']['q05'], True)}, {fmt(d['diff']['q95'], True)}]",
                      fmt(plots.observed_value(observed, o, p)))
        con.print(t)
        con.print(UNITS, style="dim", highlight=False)
        con.print(f"results: {_shown(dest)}  ({time.perf_counter() - t0:.1f} s, {workers} workers)")
    return 0


def cmd_assess(args: argparse.Namespace, argv: list[str]) -> int:
    from assess import assessment as A
    from runs import outputs, provenance
    from assess.council import load_council

    council = load_council(args.council)
    if args.check:
        for key, b in council.baseline.items():
            v = "-" if b["value"] is None else b["value"]
            print(f"{key}: {v}  # {b['what']}; {b['source']}")
        print(f"{args.council}: valid council file ({council.name}), {len(council.defaults_used)} defaults used",
              flush=True)
        return 0
    d = A.DEFAULTS
    settings = A.Settings(draws=args.draws or d["draws"], seeds=args.seeds or d["seeds"],
                          scale=args.scale if args.scale is not None else d["scale"], start=args.start,
                          fidelity=args.fidelity, investment=args.investment, sets=list(args.set),
                          posterior=args.posterior, seed=args.seed, sensitivity=not args.no_sensitivity)
    workers = args.workers or min(2, os.cpu_count() or 1)
    dest = destination(args.out, f"assess_{safe_name(council.loaded.scenario.name)}_{stamp()}", args.force)
    started, t0 = provenance.now_utc(), time.perf_counter()
    if not args.quiet:
        print(f"{council.name}: matching the baseline and drawing parameter sets...", file=sys.stderr, flush=True)
    plan = A.prepare(council, settings)
    check_signals()
    t_prep = time.perf_counter() - t0
    jobs = plan.jobs + plan.sens_jobs
    labels = [f"{arm}, draw {i}, seed {j}" for arm, i, j in plan.keys] + \
             [f"sensitivity '{lab}', {arm}, seed {j}" for lab, arm, j in plan.sens_keys]
    months = [months_of(lo) for lo, _ in jobs]
    results = run_pool(jobs, settings.scale, workers, args.quiet, labels, months, args.scheduler)
    check_signals()
    main_res, sens_res = results[:len(plan.jobs)], results[len(plan.jobs):]
    summary = A.summarise(plan, main_res, sens_res or None)
    public = {**A.public(summary), **A.details(summary)}
    with outputs.atomic_folder(dest, args.force, WRITTEN) as tmp:
        A.write_outputs(tmp, summary, plan)
        check_signals()
        outputs.write_json(tmp / outputs.MARKER, provenance.build(
            command="assess", root=ROOT, argv=[sys.argv[0], *argv], started=started,
            wall_time_s=time.perf_counter() - t0, scale=settings.scale, workers=workers,
            council={"file": str(council.path), "name": council.name},
            scenario_deal=provenance.scenario_record(plan.deal), scenario_bau=provenance.scenario_record(plan.bau),
            timings={"prepare_s": round(t_prep, 2), "runs": len(jobs),
                     "run_s_mean": round(sum(r["run_s"] for r in results) / max(len(results), 1), 3)},
            files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))

    if not args.quiet:
        con = stdout_console()
        st = public["settings"]
        t = table(f"{council.name}: the Deal vs business as usual, {st['runs_per_arm']} runs per arm "
                  f"({st['draws'] or 'no posterior:'} draws x {st['seeds_per_draw']} seeds, scale {settings.scale:g}); "
                  "median [5%, 95%]",
                  [("outcome", "left"), ("period", "left"), ("as usual", "right"), ("Deal", "right"),
                   ("Deal - as usual [5%, 95%]", "right"), ("P(>0)", "right")])
        for o, p in headline(lambda n: list(public["effects"].get(n, {})) if n in A.OUTCOMES else []):
            e = public["effects"][o][p]
            b, dd = public["arms"]["business_as_usual"][o][p], public["arms"]["deal"][o][p]
            t.add_row((REGISTRY[o].short if o in REGISTRY else o), p, fmt(b["q50"]), fmt(dd["q50"]),
                      f"{fmt(e['q50'], True)} [{fmt(e['q05'], True)}, {fmt(e['q95'], True)}]",
                      fmt(e["p_positive"]))
        net = public["effects"]["cumulative_net_savings_gbp_m"]
        last = list(net)[-1]
        e = net[last]
        t.add_row("net savings GBP m", f"to {last}", "", "",
                  f"{fmt(e['q50'], True)} [{fmt(e['q05'], True)}, {fmt(e['q95'], True)}]", fmt(e["p_positive"]))
        pb = next(iter(public["effects"]["payback_year"].values()))
        t.add_row("payback year", next(iter(public["effects"]["payback_year"])), "", "",
                  f"{pb['q50'] or 'never'} [{pb['q05'] or 'never'}, {pb['q95'] or 'never'}]", fmt(pb["p_positive"]))
        con.print(t)
        con.print(UNITS + " Net savings: care savings less the Deal's investment and the council tax forgone, added up "
                  "from the baseline. P(>0): share of runs with a positive difference (payback: paid back by the end).",
                  style="dim", highlight=False)
        if public["baseline"]["defaults_used"]:
            con.print(f"defaults used (see report.md): {', '.join(public['baseline']['defaults_used'])}",
                      style="dim", highlight=False)
        if not plan.posterior_info.get("file"):
            con.print("warning: " + plan.posterior_info.get("note", "no posterior"), highlight=False)
        con.print(f"results: {_shown(dest)}  ({time.perf_counter() - t0:.1f} s, {len(jobs)} runs, {workers} workers)")
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
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}  # no calls home: councils' networks are closed
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
        _error(f"{what}: {stored} of {rep.total} runs are stored in {_shown(rep.store.root)}; run the same "
               "command again to finish the rest")
        return EXIT_TERMINATED if isinstance(rep.interrupted, Terminated) else EXIT_INTERRUPTED
    if not args.quiet:
        left = rep.total - stored
        rest = f"; {left} runs are left to other shards" if args.shard and left else ""
        w = rep.workers
        where = f", {w} worker{'s' if w != 1 else ''}" if w else ""
        print(f"{defn.name}{part}: {rep.ok_now + rep.failed_now} runs now ({rep.ok_now} ok, {rep.failed_now} failed), "
              f"{rep.already} already stored; the sweep has {rep.stored_ok} of {rep.total} runs done, "
              f"{rep.stored_failed} failed{rest}. results: {_shown(rep.store.root)} ({rep.wall_s:.1f} s{where})",
              flush=True)
    return 0


def _jobqueue(kind: str, options: dict[str, Any]) -> Any:
    from sweep.execute import jobqueue

    try:
        return jobqueue(kind, ROOT, **options)
    except (ValueError, OSError) as exc:
        raise UsageError(f"--cluster {kind}: {exc}") from None


def _write_file(path: str, write: Callable[[str], Any]) -> Any:
    """Write FILE through a temporary sibling, renamed into place when complete."""
    target = Path(path)
    if not target.parent.is_dir():
        raise UsageError(f"{path}: the folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        result = write(str(tmp))
        os.replace(tmp, target)
        return result
    finally:
        if tmp.exists():
            tmp.unlink()


def cmd_sweep_results(args: argparse.Namespace, argv: list[str]) -> int:
    from sweep import storage, summary

    store = storage.SweepStore(args.dir)
    try:
        s = summary.summarise(store)
    except storage.StoreError as exc:
        raise _store_error(exc) from None
    if args.csv:
        n = _write_file(args.csv, lambda p: summary.write_runs_csv(store, p))
    if args.levels_csv:
        _write_file(args.levels_csv, lambda p: summary.write_levels_csv(s, p))
    c = s["counts"]
    con = stdout_console()
    con.print(f"{s['name']}: {s['method']} design, scale {s['scale']:g}, {s['replicates']} replicate(s); "
              f"{c['runs']} runs: {c['ok']} done, {c['failed']} failed, {c['remaining']} remaining", highlight=False)
    if not args.quiet:
        missing = {k: v for k, v in c["missing_values"].items() if v}
        if missing:
            con.print("missing values among successful runs: " + ", ".join(f"{k} {v}" for k, v in missing.items()),
                      highlight=False)
        if s["failures"]:
            t = table(f"failed runs ({len(s['failures'])}; the full tracebacks are in the 'error' column)",
                      [("run", "left"), *[(k, "right") for k in s["parameters"]], ("replicate", "right"),
                       ("attempts", "right"), ("error", "left")])
            for f in s["failures"][:20]:
                t.add_row(f["run_id"], *[str(f[k]) for k in s["parameters"]], str(f["replicate"]), str(f["attempts"]),
                          f["error"][:120])
            con.print(t)
        if c["ok"]:  # one table per output: rows are parameter levels
            con.print("each output by parameter level: median, 5% and 95% over the successful runs", highlight=False)
            for o in s["outputs"]:
                t = table(o,
                          [("parameter", "left"), ("level", "left"), ("runs", "right"), ("median", "right"),
                           ("5%", "right"), ("95%", "right")])
                for row in s["by_level"]:
                    if row["output"] == o:
                        t.add_row(row["parameter"], row["level"], str(row["n"]), fmt(row["median"]),
                                  fmt(row["q05"]), fmt(row["q95"]))
                con.print(t)
    if args.csv:
        print(f"runs: {args.csv} ({n} rows)", flush=True)
    if args.levels_csv:
        print(f"levels: {args.levels_csv}", flush=True)
    return 0


def cmd_sensitivity(args: argparse.Namespace, argv: list[str]) -> int:
    from runs import outputs, provenance
    from sweep import sensitivity, storage

    store = storage.SweepStore(args.dir)
    started, t0 = provenance.now_utc(), time.perf_counter()
    try:
        result = sensitivity.analyse(store, args.output or None, num_resamples=args.resamples)
    except storage.StoreError as exc:
        raise _store_error(exc) from None
    if not sensitivity.rows(result):
        reasons = "; ".join(f"{k}: {v['skipped']}" for k, v in result["outputs"].items())
        raise UsageError(f"{args.dir}: no output could be analysed ({reasons})")
    default = args.out is None
    dest = destination(args.out or str(store.root / "sensitivity"), "", args.force or default)
    m = store.manifest()
    method = result["method"]
    with outputs.atomic_folder(dest, args.force or default, WRITTEN) as tmp:
        outputs.write_json(tmp / "sensitivity.json", {"sweep": m["definition"]["name"],
                                                      "definition_sha256": m["definition_sha256"], **result})
        rows = sensitivity.rows(result)
        cols = sensitivity.COLUMNS[method]
        outputs.write_csv(tmp / "sensitivity.csv", {c: [("" if r[c] is None else r[c]) if c in ("output", "parameter")
                                                         else (math.nan if r[c] is None else r[c]) for r in rows]
                                                     for c in cols})
        sensitivity.plot(result, tmp / f"{method}.png",
                         f"{m['definition']['name']}: {method}, {result['rows']} design rows x {result['replicates']} replicate(s)")
        outputs.write_json(tmp / outputs.MARKER, provenance.build(
            command="sensitivity", root=ROOT, argv=[sys.argv[0], *argv], started=started,
            wall_time_s=time.perf_counter() - t0, sweep=str(store.root), definition_sha256=m["definition_sha256"],
            files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))
    if not args.quiet:
        con = stdout_console()
        conf = int(round(result["conf_level"] * 100))
        if method == "sobol":
            t = table(f"Sobol indices ({conf}% confidence intervals; {result['rows']} rows, mean of "
                      f"{result['replicates']} replicate(s) a row)",
                      [("output", "left"), ("parameter", "left"), ("S1", "right"), ("ST", "right")])
            for r in rows:
                t.add_row(r["output"], r["parameter"], f"{fmt(r['S1'], True)} ± {fmt(r['S1_conf'])}",
                          f"{fmt(r['ST'], True)} ± {fmt(r['ST_conf'])}")
        else:
            t = table(f"Morris elementary effects ({conf}% confidence intervals of mu*)",
                      [("output", "left"), ("parameter", "left"), ("mu*", "right"), ("mu", "right"), ("sigma", "right")])
            for r in rows:
                t.add_row(r["output"], r["parameter"], f"{fmt(r['mu_star'])} ± {fmt(r['mu_star_conf'])}",
                          fmt(r["mu"], True), fmt(r["sigma"]))
        con.print(t)
        for k, v in result["outputs"].items():
            if "skipped" in v:
                con.print(f"{k}: skipped: {v['skipped']}", highlight=False)
        con.print(f"results: {_shown(dest)}")
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

        try:
            args = build_parser().parse_args(argv)
            return args.func(args, argv)
        except (UsageError, ScenarioError) as exc:
            _error(str(exc))
            return EXIT_USAGE
    except KeyboardInterrupt as exc:
        done = f"after the results were written to {_shown(WRITTEN[-1])}" if WRITTEN else "; no results written"
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
