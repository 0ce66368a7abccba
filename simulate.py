#!/usr/bin/env python3
"""dealsim command line: run one scenario, compare two over seeds, or check scenario files.

    python simulate.py run scenarios/wigan.yaml --seed 1 --scale 0.1
    python simulate.py compare scenarios/wigan.yaml scenarios/wigan_no_deal.yaml --seeds 5
    python simulate.py check scenarios/*.yaml

Any bad input prints one line, ``error: <message>``, on stderr and exits with status 2; an interrupt
(Ctrl-C) exits with 130. Neither leaves a result folder: results are written into ``DIR.tmp-<pid>`` and
renamed to DIR only when complete. Files are written by model/outputs.py, figures by model/plots.py and
the provenance record by model/provenance.py.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141

# Outcomes shown in the terminal tables, each at a period of interest (the last available one if absent).
HEADLINE = [
    ("hle_male", "2015-17"), ("hle_male", "2017-19"), ("hle_female", "2015-17"), ("hle_female", "2017-19"),
    ("le_male", "2017-19"), ("le_female", "2017-19"),
    ("care_home_admissions_65plus_per_100k", "2017/18"), ("delayed_transfers_per_100k", "2017/18"),
    ("still_at_home_91d_pct", "2018/19"), ("care_quality_good_or_outstanding", "2019"),
    ("cumulative_savings_gbp_m", "2019"), ("workforce", "2019"),
]


SHORT = {  # outcome names as shown in the terminal tables (units in UNITS, printed under the table)
    "hle_male": "HLE male", "hle_female": "HLE female", "le_male": "LE male", "le_female": "LE female",
    "care_home_admissions_65plus_per_100k": "care-home adm.", "delayed_transfers_per_100k": "delayed transf.",
    "still_at_home_91d_pct": "home 91d %", "care_quality_good_or_outstanding": "care quality",
    "cumulative_savings_gbp_m": "savings GBP m", "workforce": "workforce",
}
UNITS = ("HLE, LE: years at birth (3-year periods); care-home adm.: admissions 65+ per 100,000 aged 65+ "
         "(financial years); delayed transf.: delayed beds a day per 100,000 aged 18+; home 91d: % still at home "
         "91 days after reablement; care quality: share of care homes good or outstanding; savings: GBP m a year "
         "below the 2010 budget; workforce: council headcount.")


WRITTEN: list[Path] = []  # result folders completed by this command (for an honest message on Ctrl-C)


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (clean up, no partial output) but exiting with 143."""


# ---------------------------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def scale_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number above 0 and at most 1, got {text!r}") from None
    if not math.isfinite(v) or not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1 (the share of the borough simulated), got {text!r}")
    return v


def _int_arg(what: str, lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            v = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be from {lo} to {hi}, got {v}")
        return v
    parse.__name__ = what
    return parse


seed_arg = _int_arg("a seed", 0, 2**63 - 1)
seeds_arg = _int_arg("the number of seeds", 1, 10_000)
workers_arg = _int_arg("the number of workers", 1, 256)


def set_arg(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as deal.fidelity=0.5, got {text!r}")
    return key.strip(), value


def build_parser() -> Parser:
    p = Parser(prog="simulate.py", description="dealsim: agent-based model of Wigan Council's Deal.",
               epilog="Bad input prints one line 'error: ...' and exits 2; Ctrl-C exits 130; neither leaves a result folder.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)

    def common(sp: argparse.ArgumentParser, compare: bool) -> None:
        sp.add_argument("--scale", type=scale_arg, default=1.0, metavar="F",
                        help="share of the borough's residents simulated, above 0 and at most 1 (default 1: all "
                             "~318,000); counts are scaled back to the whole borough. 0.01-0.1 for quick looks")
        sp.add_argument("--out", metavar="DIR", help="result folder to create (default: " + (
            "results/<A>_vs_<B>_<K>seeds_<timestamp>" if compare else "results/<scenario name>_seed<N>_<timestamp>")
            + "); its parent folder must exist. Refused if DIR exists, unless --force")
        sp.add_argument("--force", action="store_true",
                        help="replace DIR if it exists and is a dealsim result folder (or empty)")
        sp.add_argument("--quiet", "-q", action="store_true", help="no progress bars and no summary table")

    r = sub.add_parser("run", help="run one scenario once", description=(
        "Run one scenario with one seed. Writes timeseries.csv and timeseries.parquet (a row per month, every "
        "column), outcomes.json (the published measures by period), scenario.yaml (every resolved parameter), "
        "provenance.json, monthly.png and outcomes.png, then prints a summary of the outcomes."))
    r.add_argument("scenario", metavar="SCENARIO", help="scenario file (YAML), e.g. scenarios/wigan.yaml")
    r.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="random seed, a whole number >= 0 (default 0)")
    r.add_argument("--set", type=set_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter, e.g. --set deal.fidelity=0.5 (repeatable)")
    common(r, compare=False)
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="compare two scenarios over several seeds", description=(
        "Run scenarios A and B with seeds 0..K-1 (the same seeds for both: common random numbers) in parallel "
        "processes. Writes outcomes_by_seed.json, differences.json (A-B per seed and the median, 5% and 95% "
        "quantiles over seeds, and each arm's median and quantiles), summary.csv, timeseries_by_seed.parquet, "
        "scenario_a.yaml, scenario_b.yaml, provenance.json, and fan charts fan_outcomes.png and fan_monthly.png "
        "(median and 5-95% band over seeds, with Wigan's observed values and England's dashed). Results do not "
        "depend on --workers."))
    c.add_argument("scenario_a", metavar="SCENARIO_A", help="scenario file of arm A, e.g. scenarios/wigan.yaml")
    c.add_argument("scenario_b", metavar="SCENARIO_B", help="scenario file of arm B, e.g. scenarios/wigan_no_deal.yaml")
    c.add_argument("--seeds", type=seeds_arg, default=None, metavar="K",
                   help="number of seeds per arm, seeds 0..K-1 (default 5 when --scale is below 1, 3 at full scale)")
    c.add_argument("--workers", type=workers_arg, default=None, metavar="N",
                   help="parallel worker processes (default min(2, CPUs)); results are the same for any N")
    c.add_argument("--set-a", type=set_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of arm A, e.g. --set-a deal.fidelity=0.5 (repeatable)")
    c.add_argument("--set-b", type=set_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of arm B (repeatable)")
    common(c, compare=True)
    c.set_defaults(func=cmd_compare)

    k = sub.add_parser("check", help="validate scenario files and print their resolved parameters", description=(
        "Validate each scenario file; print its resolved parameters (as YAML, with units and where each was set) "
        "and its SHA-256. Exit status 0 if all are valid, 2 otherwise (one 'error:' line per bad file)."))
    k.add_argument("scenarios", metavar="SCENARIO", nargs="+", help="scenario file(s) to check")
    k.add_argument("--set", type=set_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter before validating (repeatable)")
    k.add_argument("--quiet", "-q", action="store_true", help="print only one line per file: its name and hash")
    k.set_defaults(func=cmd_check)
    return p


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def load(path: str, sets: Sequence[tuple[str, str]], source: str = "--set") -> Any:
    from model.scenario import apply_overrides, load_scenario

    loaded = load_scenario(path)
    if sets:
        loaded = apply_overrides(loaded, dict(sets), source=source)
    return loaded


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "scenario"


def destination(out: str | None, default: str, force: bool) -> Path:
    from model import outputs

    try:
        if out is None:
            Path("results").mkdir(exist_ok=True)
            return outputs.check_destination(outputs.unique_default(Path("results") / default), False)
        return outputs.check_destination(out, force)
    except OSError as exc:
        raise UsageError(f"--out: cannot create the results folder ({exc.strerror or exc})") from None
    except outputs.OutputError as exc:
        raise UsageError(f"--out {exc}") from None


def stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def progress_bar(quiet: bool) -> Any:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(stderr=True)
    return Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    disable=quiet or not console.is_terminal)


def stdout_console() -> Any:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=120)


def table(title: str, columns: list[tuple[str, str]]) -> Any:
    from rich import box
    from rich.table import Table

    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for i, (col, just) in enumerate(columns):
        t.add_column(col, justify=just, no_wrap=i > 0, min_width=15 if i == 0 else None)  # numbers never wrap
    return t


def fmt(v: float | None, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    a = abs(v)
    spec = ",.0f" if a >= 1000 else ".1f" if a >= 10 else ".2f" if a >= 0.1 or a == 0 else ".3f"
    return format(v, ("+" if signed else "") + spec)


def headline(periods_of: Callable[[str], list[str]]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name, period in HEADLINE:
        periods = periods_of(name)
        if not periods:
            continue
        chosen = period if period in periods else periods[-1]
        if (name, chosen) not in rows:
            rows.append((name, chosen))
    return rows


def milestones(loaded: Any) -> list[tuple[str, str]]:
    d = loaded.scenario.deal
    return [(d.pilot_start, "Deal pilot"), (d.launch, "Deal launch")] if d.enabled else []


def months_of(loaded: Any) -> int:
    from model.parameters import month_index

    t = loaded.scenario.time
    return month_index(t.end) - month_index(t.start) + 1


# ---------------------------------------------------------------------------------------------
# One simulation (in this process for `run`, in worker processes for `compare`)
# ---------------------------------------------------------------------------------------------
def simulate(scenario: Any, seed: int, scale: float, base_dir: Path | None,
             report: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Build and run one model. Returns timeseries, outcomes and timings, or {"error": message} when the
    model cannot be built from the scenario (e.g. a missing data file)."""
    from model.model import DealModel

    if report:
        report("build", 0, 0)
    t0 = time.perf_counter()
    try:
        model = DealModel(scenario, seed=seed, scale=scale, base_dir=base_dir)
    except (OSError, ValueError, KeyError) as exc:
        if os.environ.get("DEALSIM_TRACEBACK"):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {"error": f"scenario {scenario.name!r}: cannot build the model: {msg}"}
    build_s = time.perf_counter() - t0
    model.run(progress=(lambda done, total: report("month", done, total)) if report else None)
    try:
        outcomes = model.outcomes()
    except ValueError as exc:  # e.g. too few residents at a small --scale for a life table
        if os.environ.get("DEALSIM_TRACEBACK"):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {"error": f"scenario {scenario.name!r}, seed {seed}, scale {scale:g}: cannot compute the "
                         f"published measures: {msg} (a larger --scale may help)"}
    return {"seed": seed, "timeseries": model.timeseries(), "outcomes": outcomes,
            "build_s": build_s, "run_s": model.elapsed, "months": model.months_total}


_QUEUE: Any = None


def _worker_init(queue: Any) -> None:
    """Workers leave Ctrl-C to the main process, which stops them and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _QUEUE
    _QUEUE = queue


def _worker_job(job: int, scenario: Any, seed: int, scale: float, base_dir: Path | None) -> dict[str, Any]:
    last = [-1.0]

    def report(what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if what == "month" and done < total and now - last[0] < 0.2:
            return
        last[0] = now
        _QUEUE.put((job, what, done, total))

    out = simulate(scenario, seed, scale, base_dir, report)
    out["job"] = job
    return out


def run_pool(jobs: list[tuple[Any, int]], scale: float, workers: int, quiet: bool,
             labels: list[str], months: list[int]) -> list[dict[str, Any]]:
    """Run (loaded scenario, seed) jobs in worker processes; results in job order."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from queue import Empty

    from model import outputs

    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["__main__", "model.model"])
    results: list[dict[str, Any] | None] = [None] * len(jobs)
    queue: Any = None
    pool: Any = None
    ok = False
    try:
        # Worker processes are started while Ctrl-C is held back, so an interrupt never falls between the
        # start of a worker and its registration in the pool (such a worker could not be stopped).
        with outputs.signals_deferred():
            queue = ctx.Queue()
            pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                                       initializer=_worker_init, initargs=(queue,))
            pending = {pool.submit(_worker_job, i, loaded.scenario, seed, scale, loaded.path.parent): i
                       for i, (loaded, seed) in enumerate(jobs)}
        with progress_bar(quiet) as prog:
            overall = prog.add_task(f"{len(jobs)} runs", total=sum(months))
            tasks: dict[int, Any] = {}
            done_months = [0] * len(jobs)
            finished = 0
            while pending:
                check_signals()
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                while True:
                    try:
                        i, what, d, total = queue.get_nowait()
                    except Empty:
                        break
                    if results[i] is not None:
                        continue
                    if i not in tasks:
                        tasks[i] = prog.add_task(f"  {labels[i]}: building", total=None)
                    if what == "month":
                        prog.update(tasks[i], description=f"  {labels[i]}", total=total, completed=d)
                        done_months[i] = d
                for f in done:
                    i = pending.pop(f)
                    r = f.result()
                    if "error" in r:
                        raise UsageError(r["error"])
                    results[i] = r
                    done_months[i] = months[i]
                    finished += 1
                    if i in tasks:
                        prog.update(tasks[i], visible=False)
                prog.update(overall, completed=sum(done_months), description=f"{finished}/{len(jobs)} runs done")
        ok = True
    finally:
        if pool is not None and ok:
            pool.shutdown(wait=True)
        elif pool is not None:
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join(timeout=5)
        if queue is not None:
            queue.close()
            queue.cancel_join_thread()
    return [r for r in results if r is not None]


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from model import outputs, plots, provenance

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

        result = simulate(loaded.scenario, args.seed, args.scale, loaded.path.parent, report)
    check_signals()
    if "error" in result:
        raise UsageError(result["error"])
    ts, oc = result["timeseries"], result["outcomes"]
    observed = plots.load_observed()

    with outputs.atomic_folder(dest, args.force, WRITTEN) as tmp:
        outputs.write_csv(tmp / "timeseries.csv", ts)
        outputs.write_parquet(tmp / "timeseries.parquet", ts)
        outputs.write_json(tmp / "outcomes.json", oc)
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
                   "months": result["months"]},
            files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))

    if not args.quiet:
        con = stdout_console()
        t = table(f"{name}: seed {args.seed}, scale {args.scale:g}",
                  [("outcome", "left"), ("period", "left"), ("model", "right"), ("Wigan observed", "right")])
        for o, p in headline(lambda n: list(oc.get(n, {}))):
            t.add_row(SHORT.get(o, o), p, fmt(oc[o][p]), fmt(plots.observed_value(observed, o, p)))
        con.print(t)
        con.print(UNITS, style="dim", highlight=False)
        con.print(f"results: {_shown(dest)}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def _overrides(loaded: Any) -> str:
    return f" ({', '.join(f'{k}={v}' for k, v in loaded.overrides.items())})" if loaded.overrides else ""


def _describe(loaded: Any) -> str:
    from model.scenario import describe

    return describe(loaded)


def _shown(p: Path) -> str:
    try:
        rel = os.path.relpath(p)
    except ValueError:
        return str(p)
    return str(p) if rel.startswith("..") else rel


def cmd_compare(args: argparse.Namespace, argv: list[str]) -> int:
    from model import outputs, plots, provenance

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
    results = run_pool(jobs, args.scale, workers, args.quiet, labels, [months_of(loaded) for loaded, _ in jobs])
    by = {keys[r["job"]]: r for r in results}
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
            t.add_row(SHORT.get(o, o), p, fmt(d["a"]["median"]), fmt(d["b"]["median"]),
                      f"{fmt(d['diff']['median'], True)} [{fmt(d['diff']['q05'], True)}, {fmt(d['diff']['q95'], True)}]",
                      fmt(plots.observed_value(observed, o, p)))
        con.print(t)
        con.print(UNITS, style="dim", highlight=False)
        con.print(f"results: {_shown(dest)}  ({time.perf_counter() - t0:.1f} s, {workers} workers)")
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
