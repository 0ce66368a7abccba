"""The calibration commands of the command line: ``calibrate`` and ``validate``.

simulate.py wires them in with ``cli.calibration.add_commands(subparsers)``; each parser's ``func`` is
``cmd_calibrate`` / ``cmd_validate``, called as ``func(args)`` or ``func(args, argv)``, returning the exit status:
0 done, 2 bad input (one line 'error: ...' on stderr), 130 interrupted (143 on SIGTERM). They also run on their
own: ``python -m cli.calibration calibrate calibration/wigan.yaml``.

    python simulate.py calibrate calibration/wigan.yaml [--workers N] [--scheduler ADDRESS] [--scale F] [--out DIR]
    python simulate.py validate [--posterior FILE] [--draws N] [--seeds K] [--scale F] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cli.args import int_arg, results_table, scale_arg
from cli.show import shown

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # python -m cli.calibration from elsewhere
    sys.path.insert(0, str(ROOT))

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

__all__ = ["add_commands", "cmd_calibrate", "cmd_calibrate_areas", "cmd_validate", "main"]


# ---------------------------------------------------------------------------------------------
# Argument types
# ---------------------------------------------------------------------------------------------
_scale = scale_arg
_int = int_arg


def _minutes(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of minutes, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of minutes, got {text!r}")
    return v


def add_commands(subparsers: Any) -> None:
    """Add ``calibrate`` and ``validate`` to an argparse subparsers object."""
    c = subparsers.add_parser("calibrate", help="calibrate the free parameters against Wigan's observed series (ABC-SMC)",
                              description=(
        "Approximate Bayesian computation (ABC-SMC, pyabc) of the parameters a calibration file marks as free, "
        "each with its prior, against the 'fit' values of its targets. Each simulation runs the scenario with the "
        "proposed values to simulation.end at simulation.scale, with a seed derived from the values; the distance is "
        "Euclidean with each statistic divided by its target's sd. Stops at abc.max_generations, when the acceptance "
        "rate falls below abc.min_acceptance_rate, or before a generation predicted to end after "
        "abc.max_walltime_minutes. Writes the weighted posterior to calibration/posterior/<name>.csv (weight and "
        "every free parameter) with its provenance in <name>.json, and copies both into the output folder, which "
        "also keeps the pyabc database (abc.db): run the same command again to resume an interrupted calibration "
        "from its last completed generation."))
    c.add_argument("calibration", metavar="CALIBRATION", help="calibration file (YAML), e.g. calibration/wigan.yaml")
    c.add_argument("--workers", type=_int("the number of workers", 1, 1024), default=None, metavar="N",
                   help="local worker processes (default: all cores); ignored with --scheduler")
    c.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the simulations on a Dask cluster: its scheduler address, e.g. tcp://10.0.0.5:8786 "
                        "(workers need dealsim installed and the scenario's data files)")
    c.add_argument("--scale", type=_scale, default=None, metavar="F",
                   help="share of the borough simulated, overriding simulation.scale in the calibration file")
    c.add_argument("--out", metavar="DIR", default=None,
                   help="folder for the pyabc database abc.db, state.json and a copy of the posterior (default "
                        "results/calibration_<name>); an existing calibration there is resumed")
    c.add_argument("--posterior", metavar="FILE", default=None,
                   help="where to write the posterior CSV (and its .json) (default calibration/posterior/<name>.csv "
                        "beside the calibration file)")
    c.add_argument("--population-size", type=_int("the population size", 2, 100_000), default=None, metavar="N",
                   help="particles per generation, overriding abc.population_size")
    c.add_argument("--max-generations", type=_int("the number of generations", 1, 1000), default=None, metavar="N",
                   help="overrides abc.max_generations (raise it to continue a finished calibration)")
    c.add_argument("--max-walltime-minutes", type=_minutes, default=None, metavar="M",
                   help="overrides abc.max_walltime_minutes: wall time over all sessions of this calibration (raise it "
                        "to continue one stopped by the time limit)")
    c.add_argument("--fresh", action="store_true",
                   help="discard the database in the output folder and start again instead of resuming")
    c.add_argument("--quiet", "-q", action="store_true", help="no progress lines and no summary table")
    c.set_defaults(func=cmd_calibrate)

    a = subparsers.add_parser("calibrate-areas", help="calibrate Wigan against England and three control areas "
                              "(emulator + MCMC); attribution, placebos, proper scores",
                              description=(
        "The multi-area calibration (docs/calibration.md): every arm of the calibration file (Wigan with and without "
        "the Deal, an England-average borough, Barnsley, Doncaster and Bolton, and the placebo arms) is run at the "
        "points of a Latin-hypercube design over the design box, then of a second one over the region the first "
        "stage's posterior holds; a quadratic emulator of each statistic is fitted to the points in that region, and "
        "the posterior of the shared parameters and the area terms' "
        "spreads is sampled by MCMC (emcee) under the observation model of calibration/likelihood.py. Writes "
        "posterior/areas.csv (original HLE series) and areas_revised.csv (revised series, co-primary) with their "
        ".json, posterior/areas_report.json (diagnostics, widths, agreement of the two calibrations), "
        "experiments/attribution.json, placebo.json, prior_sensitivity.json, recovery_areas.json and "
        "validation/areas.json (proper scores on held-out figures). The design runs are kept in --out, one line per "
        "run: run the same command again to resume an interrupted design."))
    a.add_argument("calibration", metavar="CALIBRATION", nargs="?", default="calibration/areas.yaml",
                   help="multi-area calibration file (default calibration/areas.yaml)")
    a.add_argument("--workers", type=_int("the number of workers", 1, 1024), default=None, metavar="N",
                   help="local worker processes (default: all cores); ignored with --scheduler")
    a.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the design on a Dask cluster: its scheduler address, e.g. tcp://10.0.0.5:8786")
    a.add_argument("--seeds", default="1", metavar="S1[,S2]",
                   help="design seeds, comma-separated (default 1: the reported calibration; 1,2 adds an independent "
                        "replicate and reports whether the two agree)")
    a.add_argument("--points", type=_int("the number of design points", 2, 1_000_000), default=None, metavar="N",
                   help="use only the first N points of each design (a smaller, quicker calibration)")
    a.add_argument("--quick", action="store_true", help="short MCMC chains (for trying the machinery, not results)")
    a.add_argument("--out", metavar="DIR", default=None,
                   help="folder of the design runs (default results/calibration_areas); resumed if present")
    a.add_argument("--results", metavar="DIR", default=None,
                   help="where the posterior and reports go (default: the calibration file's folder)")
    a.add_argument("--fresh", action="store_true", help="discard the design runs in --out and start again")
    a.add_argument("--recheck", type=_int("the number of points to recheck", 1, 1000), default=0, metavar="N",
                   help="keep design files made by other code or settings (another hash) if every arm at N of their "
                        "points reruns identically now; without it such files are refused")
    a.add_argument("--select-parameters", action="store_true",
                   help="emulators keep, per statistic, only the parameters it depends on (an experiment: it made the "
                        "posterior overconfident; docs/calibration.md)")
    a.add_argument("--quiet", "-q", action="store_true", help="no progress lines and no summary table")
    a.set_defaults(func=cmd_calibrate_areas)

    v = subparsers.add_parser("validate", help="posterior predictive check against every fit and holdout target",
                              description=(
        "Run parameter sets drawn from the posterior (weighted), each with several seeds, over the whole period the "
        "targets need (to 2020-12 for Wigan's), in parallel processes. For every target and period, fit and "
        "holdout, report the observed value, the predictive median and 90% interval (simulated statistic plus the "
        "target's observation noise N(0, sd)) and whether the observation fell inside, with the coverage over holdout "
        "targets. Writes validation.json, predictive_runs.json, fan_charts.png and provenance.json. Results do not "
        "depend on --workers."))
    v.add_argument("--posterior", metavar="FILE", default=None,
                   help="posterior CSV written by 'calibrate' (default calibration/posterior/wigan.csv)")
    v.add_argument("--calibration", metavar="FILE", default=None,
                   help="calibration file whose scenario and targets to use (default: the one the posterior's "
                        "provenance names)")
    v.add_argument("--draws", type=_int("the number of draws", 1, 100_000), default=50, metavar="N",
                   help="parameter sets drawn from the posterior (default 50)")
    v.add_argument("--seeds", type=_int("the number of seeds", 1, 1000), default=2, metavar="K",
                   help="runs per parameter set, each with its own seed (default 2)")
    v.add_argument("--scale", type=_scale, default=None, metavar="F",
                   help="share of the borough simulated (default: the scale the posterior was calibrated at)")
    v.add_argument("--seed", type=_int("a seed", 0, 2**63 - 1), default=0, metavar="S",
                   help="seed for drawing parameter sets and observation noise (default 0)")
    v.add_argument("--workers", type=_int("the number of workers", 1, 1024), default=None, metavar="N",
                   help="parallel worker processes (default: all cores); results are the same for any N")
    v.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on an existing Dask scheduler (tcp://HOST:8786 or a scheduler file) instead of local "
                        "worker processes")
    v.add_argument("--out", metavar="DIR", default=None,
                   help="result folder to create (default results/validation_<name>_<timestamp>); refused if it "
                        "exists, unless --force")
    v.add_argument("--force", action="store_true", help="replace DIR if it exists and is a dealsim result folder")
    v.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no table")
    v.set_defaults(func=cmd_validate)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _error(message: str) -> None:
    print("error: " + " ".join(str(message).split()), file=sys.stderr, flush=True)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _fmt(v: float | None) -> str:
    from runs.outputs import number

    return number(v)


def _console() -> Any:
    from rich.console import Console

    con = Console()
    return con if con.is_terminal else Console(width=130)


_table = results_table


def _argv(argv: Sequence[str] | None) -> list[str]:
    return [sys.argv[0], *argv] if argv is not None else list(sys.argv)


def _interrupted(exc: BaseException) -> int:
    return EXIT_TERMINATED if type(exc).__name__ == "Terminated" or getattr(exc, "terminated", False) else EXIT_INTERRUPTED


# ---------------------------------------------------------------------------------------------
# calibrate
# ---------------------------------------------------------------------------------------------
def cmd_calibrate(args: argparse.Namespace, argv: Sequence[str] | None = None) -> int:
    from model.scenario import ScenarioError

    from model.yamlfile import InputError as CalibrationError
    from calibration.config import load_calibration

    try:
        cal = load_calibration(args.calibration)
        changes = {}
        if args.population_size is not None:
            changes["population_size"] = args.population_size
        if args.max_generations is not None:
            changes["max_generations"] = args.max_generations
        if args.max_walltime_minutes is not None:
            changes["max_walltime_minutes"] = args.max_walltime_minutes
        if changes:
            cal = cal.replace(**changes)
        from calibration.abc import Interrupted, run_calibration  # pyabc is imported only now

        try:
            res = run_calibration(cal, args.out, workers=args.workers, scheduler=args.scheduler, scale=args.scale,
                                  posterior_path=args.posterior, fresh=args.fresh,
                                  report=None if args.quiet else _say, argv=_argv(argv))
        except Interrupted as exc:
            if exc.generations:
                _error(f"interrupted after {exc.generations} completed generation(s), kept in {exc.out_dir}; run the "
                       "same command again to resume")
            else:
                _error("interrupted before the first generation completed; nothing to resume")
            return _interrupted(exc)
    except (CalibrationError, ScenarioError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # before the sampler started: nothing to keep
        _error("interrupted; nothing calibrated")
        return _interrupted(exc)
    if not args.quiet:
        post = res.posterior
        prov = res.provenance
        con = _console()
        t = _table(f"posterior of {cal.name}: {len(post)} particles (ESS {post.ess():.0f}), {prov['generations_run']} "
                   f"generations, {prov['simulations']:,} simulations, {prov['wall_time_s'] / 60:.1f} min",
                   [("parameter", "left"), ("prior", "left"), ("mean", "right"), ("median", "right"),
                    ("90% interval", "right")])
        for k, s in prov["posterior_summary"].items():
            t.add_row(k, cal.parameters[k].describe(), _fmt(s["mean"]), _fmt(s["median"]),
                      f"[{_fmt(s['q05'])}, {_fmt(s['q95'])}]")
        con.print(t)
        con.print(f"stopped: {res.stop_reason}")
        con.print(f"posterior: {shown(res.posterior_path)} (+ .json); database and copy: {shown(res.out_dir)}")
    return 0


# ---------------------------------------------------------------------------------------------
# calibrate-areas
# ---------------------------------------------------------------------------------------------
def cmd_calibrate_areas(args: argparse.Namespace, argv: Sequence[str] | None = None) -> int:
    import json

    from model.scenario import ScenarioError
    from model.yamlfile import InputError as CalibrationError

    try:
        try:
            seeds = tuple(int(x) for x in str(args.seeds).split(",") if x.strip())
        except ValueError:
            raise CalibrationError(f"--seeds: expected whole numbers separated by commas, got {args.seeds!r}") from None
        if not seeds or any(x < 0 for x in seeds):
            raise CalibrationError(f"--seeds: expected one or more non-negative whole numbers, got {args.seeds!r}")
        from calibration.areas_pipeline import calibrate_areas

        written = calibrate_areas(args.calibration, out=Path(args.out) if args.out else None,
                                  results=Path(args.results) if args.results else None, workers=args.workers,
                                  scheduler=args.scheduler, fresh=args.fresh, seeds=seeds, limit=args.points,
                                  quick=args.quick, recheck=args.recheck, select_parameters=args.select_parameters,
                                  say=(lambda s: None) if args.quiet else _say)
    except (CalibrationError, ScenarioError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        _error("interrupted; the design runs finished so far are kept: run the same command again to resume")
        return _interrupted(exc)
    if not args.quiet:
        con = _console()
        att = json.loads(written["experiments/attribution.json"].read_text())
        for series in ("original", "revised"):
            t = _table(f"the Deal's effect in Wigan, {series} HLE series (posterior draws, 90% interval)",
                       [("outcome", "left"), ("median", "right"), ("90% interval", "right"), ("P(> 0)", "right")])
            for k, e in att[series]["effects"].items():
                t.add_row(k, _fmt(e["q50"]), f"[{_fmt(e['q05'])}, {_fmt(e['q95'])}]", f"{e['p_positive']:.2f}")
            con.print(t)
        for name, p in written.items():
            con.print(f"{name}: {shown(p)}")
    return 0


# ---------------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace, argv: Sequence[str] | None = None) -> int:
    from runs import outputs
    from runs import provenance as mprov
    from model.scenario import ScenarioError

    from model.yamlfile import InputError as CalibrationError
    from calibration.posterior_io import load_posterior
    from calibration.validate import calibration_of, fan_figure, run_validation, table_rows

    started, t0 = mprov.now_utc(), time.perf_counter()
    try:
        post = load_posterior(args.posterior)
        cal = calibration_of(post, args.calibration)
        recorded = (post.provenance.get("targets") or {}).get("sha256")
        notes = []
        if recorded and recorded != cal.targets.sha256:
            notes.append(f"note: {shown(cal.targets.path)} has changed since the calibration (sha256 differs)")
        try:
            if args.out is None:
                Path("results").mkdir(exist_ok=True)
                dest = outputs.check_destination(outputs.unique_default(
                    Path("results") / f"validation_{cal.name}_{datetime.now().strftime('%Y%m%d-%H%M%S')}"))
            else:
                dest = outputs.check_destination(args.out, args.force)
        except outputs.OutputError as exc:
            raise CalibrationError(f"--out {exc}") from None
        except OSError as exc:
            raise CalibrationError(f"--out: cannot create the results folder ({exc.strerror or exc})") from None
        workers = args.workers or os.cpu_count() or 1
        for n in notes:
            _say(n)

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, disable=args.quiet or not console.is_terminal) as prog:
            task = prog.add_task("posterior predictive runs", total=args.draws * args.seeds)
            res = run_validation(cal, post, draws=args.draws, seeds=args.seeds, scale=args.scale, seed=args.seed,
                                 workers=workers, progress=lambda d, n: prog.update(task, completed=d),
                                 scheduler=args.scheduler)
        if res.settings["failed_runs"] == res.settings["runs"]:
            first = next(r["error"] for r in res.runs if r["error"])
            raise CalibrationError(f"every run failed ({first}); a larger --scale may help")
        title = (f"{cal.name}: posterior predictive, {args.draws} draws x {args.seeds} seeds, scale "
                 f"{res.settings['scale']:g}; median and 90% interval incl. observation noise")
        with outputs.atomic_folder(dest, args.force) as tmp:
            outputs.write_json(tmp / "validation.json", {
                "posterior": {"file": shown(post.path) if post.path else None,
                              "calibration_provenance": {k: post.provenance.get(k) for k in (
                                  "date", "calibration", "scenario", "scale", "generations_run", "simulations",
                                  "stop_reason", "git_commit")}},
                "calibration": {"file": shown(cal.path), "sha256": cal.sha256},
                "targets": {"file": shown(cal.targets.path), "sha256": cal.targets.sha256},
                "settings": res.settings, "coverage": res.coverage, "statistics": res.stats,
            })
            outputs.write_json(tmp / "predictive_runs.json", {"settings": res.settings, "runs": res.runs})
            fan_figure(res, cal.stats("all"), tmp / "fan_charts.png", title)
            outputs.write_json(tmp / outputs.MARKER, mprov.build(
                command="validate", root=ROOT, argv=_argv(argv), started=started,
                wall_time_s=time.perf_counter() - t0, posterior=shown(post.path) if post.path else None,
                calibration=shown(cal.path), scenario=mprov.scenario_record(cal.loaded), workers=workers,
                **{k: v for k, v in res.settings.items() if k != "noise"},
                files=sorted(p.name for p in tmp.iterdir()) + [outputs.MARKER]))
    except (CalibrationError, ScenarioError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        _error("interrupted; no results written")
        return _interrupted(exc)
    if not args.quiet:
        con = _console()
        t = _table(title, [("target", "left"), ("role", "left"), ("period", "left"), ("observed", "right"),
                           ("median", "right"), ("90% interval", "right"), ("inside", "right")])
        for row in table_rows(res):
            t.add_row(*row)
        con.print(t)
        for role in ("holdout", "fit"):
            c = res.coverage[role]
            if c["total"]:
                con.print(f"coverage of the 90% intervals, {role}: {c['inside']}/{c['total']} = {c['share']:.2f}")
        if res.settings["failed_runs"]:
            con.print(f"{res.settings['failed_runs']} of {res.settings['runs']} runs failed (see predictive_runs.json)")
        con.print(f"results: {shown(dest)}  ({time.perf_counter() - t0:.1f} s, {workers} workers)")
    return 0


# ---------------------------------------------------------------------------------------------
# Standalone
# ---------------------------------------------------------------------------------------------
class _Terminated(KeyboardInterrupt):
    terminated = True


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cli.calibration calibrate|validate ...`` (the same commands as simulate.py's)."""
    import signal

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            _error(f"{message} (see '{self.prog} --help')")
            raise SystemExit(EXIT_USAGE)

    def on_term(signum: int, frame: Any) -> None:
        raise _Terminated()

    signal.signal(signal.SIGTERM, on_term)
    p = Parser(prog="python -m cli.calibration", description="dealsim calibration commands")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    add_commands(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(argv)
    return args.func(args, argv)


if __name__ == "__main__":
    sys.exit(main())
