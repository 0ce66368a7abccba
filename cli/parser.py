"""The command line's arguments: every command, option, type check and help text of simulate.py (argparse,
for its standard library footing and the plain, one-line usage errors it gives through `Parser.error`)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from cli.args import float_arg, int_arg, scale_arg


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")





seed_arg = int_arg("a seed", 0, 2**63 - 1)
seeds_arg = int_arg("the number of seeds", 1, 10_000)
workers_arg = int_arg("the number of workers", 1, 256)


fraction_arg = float_arg("a number from 0 to 1", "from 0 to 1", lambda v: 0 <= v <= 1)
money_arg = float_arg("an amount in GBP m (0 or more)", "from 0 to 1000 (GBP m)", lambda v: 0 <= v <= 1000)


def set_arg(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as deal.fidelity=0.5, got {text!r}")
    return key.strip(), value


def build_parser(commands: Mapping[str, Callable[..., int]]) -> Parser:
    """The command line's parser; `commands` maps each command's name to the function its arguments go to."""
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
    r.add_argument("--threads", type=int_arg("--threads", 1, 1024), default=os.cpu_count() or 1, metavar="N",
                   help="threads for the passes over residents (default: every CPU); results are identical for any N")
    common(r, compare=False)
    r.set_defaults(func=commands["run"])

    c = sub.add_parser("compare", help="compare two scenarios over several seeds", description=(
        "Run scenarios A and B with seeds 0..K-1 (the same seeds for both: common random numbers) on a local Dask "
        "cluster (or --scheduler). Writes outcomes_by_seed.json, differences.json (A-B per seed and the median, 5% and 95% "
        "quantiles over seeds, and each arm's median and quantiles), summary.csv, timeseries_by_seed.parquet, "
        "scenario_a.yaml, scenario_b.yaml, provenance.json, and fan charts fan_outcomes.png and fan_monthly.png "
        "(median and 5-95% band over seeds, with Wigan's observed values and England's dashed). Results do not "
        "depend on --workers."))
    c.add_argument("scenario_a", metavar="SCENARIO_A", help="scenario file of arm A, e.g. scenarios/wigan.yaml")
    c.add_argument("scenario_b", metavar="SCENARIO_B", help="scenario file of arm B, e.g. scenarios/wigan_no_deal.yaml")
    c.add_argument("--seeds", type=seeds_arg, default=None, metavar="K",
                   help="number of seeds per arm, seeds 0..K-1 (default 5 when --scale is below 1, 3 at full scale)")
    c.add_argument("--workers", type=workers_arg, default=None, metavar="N",
                   help="local Dask worker processes (default min(2, CPUs)); results are the same for any N")
    c.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on an existing Dask scheduler (tcp://HOST:8786 or a scheduler file) instead of local "
                        "worker processes; results are the same")
    c.add_argument("--set-a", type=set_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of arm A, e.g. --set-a deal.fidelity=0.5 (repeatable)")
    c.add_argument("--set-b", type=set_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of arm B (repeatable)")
    c.add_argument("--posterior", metavar="FILE", default=None,
                   help="a calibrated posterior (e.g. calibration/posterior/areas.csv): run i uses seed i and the "
                        "i-th parameter set drawn from it, in both arms, so the intervals are over draws and seeds")
    common(c, compare=True)
    c.set_defaults(func=commands["compare"])

    a = sub.add_parser("assess", help="would the Deal work here? assess a council (business as usual vs the Deal)",
                       description=(
        "Assess a council file (scenarios/councils/*.yaml; see TEMPLATE.yaml): run the council under business as "
        "usual and under the Deal over draws from the calibrated posterior x seeds (the same seed for both arms of a "
        "draw), from its baseline to the end year, after matching its baseline healthy life expectancy. Writes "
        "assessment.json (quantiles of both arms and of the effects by period, net savings, payback year, inputs "
        "used with defaults marked), assessment_details.json (settings, posterior, noise, sensitivity), report.md "
        "(plain language), fan_outcomes.png, fan_effects.png, the resolved scenarios and provenance.json, then "
        "prints a summary."))
    a.add_argument("council", metavar="COUNCIL", help="council file (YAML), e.g. scenarios/councils/bolton.yaml")
    a.add_argument("--posterior", metavar="FILE", default=None,
                   help="posterior CSV (default calibration/posterior/areas.csv, the multi-area calibration, with its "
                        "area terms; areas_revised.csv for a prospective assessment; without one the scenario's own "
                        "values, chance only)")
    a.add_argument("--draws", type=int_arg("the number of draws", 1, 10_000), default=None, metavar="N",
                   help="parameter sets drawn from the posterior (default 40)")
    a.add_argument("--seeds", type=seeds_arg, default=None, metavar="K", help="seeds per draw (default 2)")
    a.add_argument("--start", type=int_arg("the start year", 1990, 2100), default=None, metavar="YEAR",
                   help="year the Deal starts (its whole timeline is shifted; default: as planned in the file). A year "
                        "after 2020 makes the assessment prospective: it runs from the council's present state "
                        "(council.present in the file) to --horizon")
    a.add_argument("--horizon", type=int_arg("the horizon year", 1990, 2100), default=None, metavar="YEAR",
                   help="last simulated year (prospective default 2040, at most 2060; retrospective default: the "
                        "file's time.end)")
    a.add_argument("--fidelity", type=fraction_arg, default=None, metavar="F",
                   help="how fully the Deal is run, 0-1 (deal.fidelity; default: as planned)")
    a.add_argument("--investment", type=money_arg, default=None, metavar="GBP_M",
                   help="community investment fund in GBP m (deal.fund_gbp_m; 0: no upfront fund)")
    a.add_argument("--set", type=set_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of the council (both arms), e.g. --set deal.care_home_fund_gbp_m=0")
    a.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="base seed of draws, seeds and noise (default 0)")
    a.add_argument("--check", action="store_true",
                   help="only validate the council file and list the inputs it will use (defaults marked); no runs")
    a.add_argument("--no-sensitivity", action="store_true",
                   help="skip the one-at-a-time runs on the council's own inputs (about a fifth of the time)")
    a.add_argument("--workers", type=workers_arg, default=None, metavar="N",
                   help="local Dask worker processes (default min(2, CPUs)); results are the same for any N")
    a.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on an existing Dask scheduler (tcp://HOST:8786 or a scheduler file) instead of local "
                        "worker processes; results are the same")
    common(a, compare=False)
    a.set_defaults(func=commands["assess"], scale=None)
    for act in a._actions:
        if act.dest == "scale":
            act.default = None
            act.help = ("share of the borough's residents simulated, above 0 and at most 1 (default 0.1); counts are "
                        "scaled back to the whole borough")
        if act.dest == "out":
            act.help = ("result folder to create (default: results/assess_<council>_<timestamp>); its parent folder "
                        "must exist. Refused if DIR exists, unless --force")

    k = sub.add_parser("check", help="validate scenario files and print their resolved parameters", description=(
        "Validate each scenario file; print its resolved parameters (as YAML, with units and where each was set) "
        "and its SHA-256. Exit status 0 if all are valid, 2 otherwise (one 'error:' line per bad file)."))
    k.add_argument("scenarios", metavar="SCENARIO", nargs="+", help="scenario file(s) to check")
    k.add_argument("--set", type=set_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter before validating (repeatable)")
    k.add_argument("--quiet", "-q", action="store_true", help="print only one line per file: its name and hash")
    k.set_defaults(func=commands["check"])
    w = sub.add_parser("app", help="serve the web app (explore a run, assess a council) on localhost", description=(
        "Serve dealsim's web app (Mesa's SolaraViz on Solara; see docs/app.md) and print its address. Works "
        "without internet: Solara's front end is served from the bundled solara-assets. Stop it with Ctrl-C. "
        "The same app runs with 'solara run app.py'."))
    w.add_argument("--port", type=int_arg("the port", 0, 65535), default=8765, metavar="N",
                   help="port to listen on (default 8765; 0 picks a free port)")
    w.add_argument("--host", default="localhost", metavar="HOST",
                   help="address to listen on (default localhost: only this computer)")
    w.set_defaults(func=commands["app"])
    from cli.calibration import add_commands as add_calibration_commands
    add_calibration_commands(sub)
    add_sweep_commands(sub, commands)
    return p


def shard_arg(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected I/N such as 3/16 (the I-th of N parts, I from 1 to N), got {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"I must be from 1 to N, got {text!r}")
    return i, n


def memory_arg(text: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", text.strip(), re.IGNORECASE):
        raise argparse.ArgumentTypeError(f"expected an amount such as 16GB or 4000MB, got {text!r}")
    return text.strip()


def walltime_arg(text: str) -> str:
    if not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}(:\d{2})?", text.strip()):
        raise argparse.ArgumentTypeError(f"expected HH:MM:SS (or D-HH:MM:SS), got {text!r}")
    return text.strip()


def add_sweep_commands(sub: Any, commands: Mapping[str, Callable[..., int]]) -> None:
    s = sub.add_parser("sweep", help="run a parameter sweep (grid, Latin hypercube, Sobol, Morris) on Dask or in shards",
                       description=(
        "Run every run of a sweep file (sweeps/*.yaml): design points x replicate seeds. Each finished run is "
        "written at once to a Parquet dataset under DIR/runs (with its parameters, seed and outputs); "
        "DIR/manifest.json records the sweep's resolved definition and provenance. Running the same command "
        "again skips the runs already stored and finishes the rest. A run that raises is retried, then "
        "recorded as failed with its traceback, and the sweep goes on. Results do not depend on the engine, "
        "the number of workers, the shard split or the order of completion. Engines: a local Dask cluster "
        "(default), an existing Dask scheduler (--scheduler), SLURM or PBS jobs through dask-jobqueue "
        "(--cluster), or one shard in this process without Dask (--shard). See docs/cluster.md."))
    s.add_argument("sweep_file", metavar="SWEEP", help="sweep file (YAML), e.g. sweeps/deal_levers.yaml")
    s.add_argument("--out", metavar="DIR", help="sweep folder (default results/sweep_<name>); created if absent, "
                   "resumed if it holds the same sweep, refused if it holds another (unless --force)")
    s.add_argument("--workers", type=workers_arg, default=None, metavar="N",
                   help="local Dask worker processes (default: one per core)")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="connect to a running Dask scheduler (tcp://host:8786, or a scheduler file) instead of starting one")
    s.add_argument("--cluster", choices=("slurm", "pbs"), help="start Dask workers as SLURM or PBS jobs (dask-jobqueue)")
    s.add_argument("--shard", type=shard_arg, metavar="I/N",
                   help="run only the I-th of N disjoint parts (I from 1 to N), in this process, without Dask; "
                        "for array jobs: the N parts together are the whole sweep")
    s.add_argument("--batch", type=int_arg("the batch size", 1, 100_000), default=10, metavar="K",
                   help="finished runs per Parquet file (default 10; a batch is also written 10 s after its first run finished)")
    s.add_argument("--retries", type=int_arg("the number of retries", 0, 20), default=None, metavar="R",
                   help="extra attempts for a run that raises (default: the sweep file's 'retries', else 2)")
    s.add_argument("--retry-failed", action="store_true", help="run again the runs stored as failed")
    s.add_argument("--force", action="store_true", help="if DIR holds a different sweep, delete its runs and start afresh")
    s.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    q = s.add_argument_group("options for --cluster slurm|pbs (each job runs one single-threaded worker per core)")
    q.add_argument("--queue", metavar="NAME", help="partition (SLURM) or queue (PBS)")
    q.add_argument("--account", metavar="NAME", help="account or project to charge")
    q.add_argument("--cores", type=int_arg("the cores per job", 1, 1024), default=8, metavar="N", help="cores per job (default 8)")
    q.add_argument("--memory", type=memory_arg, default="16GB", metavar="MEM", help="memory per job (default 16GB)")
    q.add_argument("--walltime", type=walltime_arg, default="01:00:00", metavar="HH:MM:SS", help="wall time per job (default 01:00:00)")
    q.add_argument("--jobs", type=int_arg("the number of jobs", 1, 10_000), default=1, metavar="J", help="jobs to start (default 1)")
    q.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                   help="extra scheduler directive, e.g. --job-extra='--qos=short' (repeatable)")
    q.add_argument("--prologue", action="append", default=[], metavar="COMMAND",
                   help="shell command run before each worker starts, e.g. 'module load python/3.12' (repeatable)")
    q.add_argument("--interface", metavar="NIC", help="network interface of the workers, e.g. ib0")
    q.add_argument("--log-dir", metavar="DIR", help="folder for the jobs' output files")
    q.add_argument("--print-job-script", action="store_true", help="print the job script that would be submitted, and stop")
    s.set_defaults(func=commands["sweep"])

    r = sub.add_parser("sweep-results", help="summarise a sweep folder and export its runs", description=(
        "Summarise a sweep folder: counts of runs done, failed and remaining, the failures, and each output's "
        "median and 5-95%% range by parameter level (quartile bins for sampled parameters). Works on a "
        "sweep that is still running or was interrupted."))
    r.add_argument("dir", metavar="DIR", help="sweep folder (the --out of 'sweep')")
    r.add_argument("--csv", metavar="FILE", help="write every stored run (parameters, seed, status, outputs, error) to FILE")
    r.add_argument("--levels-csv", metavar="FILE", help="write the quantiles by parameter level to FILE")
    r.add_argument("--quiet", "-q", action="store_true", help="print only the counts")
    r.set_defaults(func=commands["sweep_results"])

    a = sub.add_parser("sensitivity", help="Sobol indices or Morris elementary effects of a finished sweep (SALib)",
                       description=(
        "Compute Sobol indices (first order S1 and total ST, with confidence intervals) or Morris elementary "
        "effects (mu*, sigma) with SALib from a sweep of that design; a design row's value is the mean over "
        "its replicates. Prints the table and writes sensitivity.json, sensitivity.csv, a plot and "
        "provenance.json to DIR/sensitivity (or --out)."))
    a.add_argument("dir", metavar="DIR", help="sweep folder of a sobol or morris sweep")
    a.add_argument("--output", action="append", default=[], metavar="NAME@PERIOD",
                   help="analyse only this output (repeatable; default all)")
    a.add_argument("--resamples", type=int_arg("the number of resamples", 10, 100_000), default=1000, metavar="K",
                   help="bootstrap resamples for the confidence intervals (default 1000)")
    a.add_argument("--out", metavar="DIR2", help="result folder (default DIR/sensitivity, replaced each time)")
    a.add_argument("--force", action="store_true", help="replace --out if it exists and is a dealsim result folder")
    a.add_argument("--quiet", "-q", action="store_true", help="no table")
    a.set_defaults(func=commands["sensitivity"])
