"""What the command line shows: progress bars, tables, numbers, and the small helpers its commands share."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from cli.args import results_table
from cli.parser import UsageError
from model.outcomes import REGISTRY

# Outcomes shown in the terminal tables, each at a period of interest (the last available one if absent).
HEADLINE = [
    ("hle_male", "2015-17"), ("hle_male", "2017-19"), ("hle_male_true", "2015-17"), ("hle_male_true", "2017-19"),
    ("hle_female", "2015-17"), ("hle_female", "2017-19"), ("hle_female_true", "2015-17"), ("hle_female_true", "2017-19"),
    ("le_male", "2017-19"), ("le_female", "2017-19"),
    ("care_home_admissions_65plus_per_100k", "2017/18"), ("delayed_transfers_per_100k", "2017/18"),
    ("still_at_home_91d_pct", "2018/19"), ("care_quality_good_or_outstanding", "2019"),
    ("cumulative_savings_gbp_m", "2019"), ("workforce", "2019"),
]


UNITS = ("HLE, LE: years at birth (3-year periods; HLE as ONS would publish it from the survey, 'true' from "
         "everyone's health, no survey noise); care-home adm.: admissions 65+ per 100,000 aged 65+ "
         "(financial years); delayed transf.: delayed beds a day per 100,000 aged 18+; home 91d: % still at home "
         "91 days after reablement; care quality: share of care homes good or outstanding; savings: GBP m a year "
         "below the starting budget (2010/11's; in a prospective assessment the council's present budget if it gave "
         "one, else its 2010/11 budget carried forward), negative where spending is above it; workforce: council "
         "headcount.")


def load(path: str, sets: Sequence[tuple[str, str]], source: str = "--set") -> Any:
    from model.scenario import apply_overrides, load_scenario

    loaded = load_scenario(path)
    if sets:
        loaded = apply_overrides(loaded, dict(sets), source=source)
    return loaded


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "scenario"


def destination(out: str | None, default: str, force: bool) -> Path:
    from runs import outputs

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
    return results_table(title, columns, first_min_width=15)


def fmt(v: float | None, signed: bool = False) -> str:
    """Terminal tables: runs.outputs.number with as many decimals as the size calls for."""
    from runs.outputs import number

    return number(v, None, signed)


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


def months_of(loaded: Any) -> int:
    from model.parameters import month_index

    t = loaded.scenario.time
    return month_index(t.end) - month_index(t.start) + 1


# ---------------------------------------------------------------------------------------------
# One simulation (in this process for `run`, in worker processes for `compare`)
# ---------------------------------------------------------------------------------------------


def warn_missing(missing: dict[str, dict[str, str]], what: str) -> None:
    """One warning line for outcome periods that could not be measured (reasons are in the outputs)."""
    if missing:
        n = sum(len(v) for v in missing.values())
        first = next(iter(next(iter(missing.values())).values()))
        print(f"warning: {what}: {n} outcome period(s) could not be measured at this scale and are reported as "
              f"null (first reason: {first}); a larger --scale avoids this", file=sys.stderr)


def overrides_text(loaded: Any) -> str:
    return f" ({', '.join(f'{k}={v}' for k, v in loaded.overrides.items())})" if loaded.overrides else ""


def shown(p: Path) -> str:
    try:
        rel = os.path.relpath(p)
    except ValueError:
        return str(p)
    return str(p) if rel.startswith("..") else rel


@contextmanager
def run_bars(quiet: bool, labels: list[str], months: list[int]) -> Iterator[tuple[Callable, Callable]]:
    """A progress bar for each run of a batch and one for all: yields (progress, finished) for runs.batch."""
    with progress_bar(quiet) as prog:
        overall = prog.add_task(f"{len(labels)} runs: starting workers", total=sum(months))
        tasks: dict[int, Any] = {}
        done_months = [0] * len(labels)
        count = [0]

        def update() -> None:
            prog.update(overall, completed=sum(done_months), description=f"{count[0]}/{len(labels)} runs done")

        def progress(i: int, d: int, total: int) -> None:
            if i not in tasks:
                tasks[i] = prog.add_task(f"  {labels[i]}", total=total)
            prog.update(tasks[i], completed=d, total=total)
            done_months[i] = d
            update()

        def finished(i: int, r: Any) -> None:
            count[0] += 1
            done_months[i] = months[i]
            if i in tasks:
                prog.update(tasks[i], visible=False)
            update()

        yield progress, finished


def short(name: str) -> str:
    return REGISTRY[name].short if name in REGISTRY else name


def spread(d: dict[str, Any], lo: str = "q05", mid: str = "q50", hi: str = "q95") -> str:
    """'+1.2 [+0.3, +2.0]': a signed median and its 5-95% range."""
    return f"{fmt(d[mid], True)} [{fmt(d[lo], True)}, {fmt(d[hi], True)}]"


def print_run(name: str, seed: int, scale: float, oc: dict, observed: dict, dest: Path, seconds: float) -> None:
    from runs import plots

    con = stdout_console()
    t = table(f"{name}: seed {seed}, scale {scale:g}",
              [("outcome", "left"), ("period", "left"), ("model", "right"), ("Wigan observed", "right")])
    for o, p in headline(lambda n: list(oc.get(n, {}))):
        t.add_row(short(o), p, fmt(oc[o][p]), fmt(plots.observed_value(observed, o, p)))
    con.print(t)
    con.print(UNITS, style="dim", highlight=False)
    con.print(plots.LEVEL_NOTE, style="dim", highlight=False)
    con.print(f"results: {shown(dest)}  ({seconds:.1f} s)")


def print_compare(label_a: str, label_b: str, k: int, scale: float, diffs: dict, observed: dict, dest: Path,
                  seconds: float, workers: int, posterior: bool = False) -> None:
    """The compare table; with `posterior`, run i is seed i with posterior draw i, so its spread is over both."""
    from runs import plots

    con = stdout_console()
    over = f"{k} runs (posterior draw i with seed i)" if posterior else f"{k} seeds"
    per = "per-run" if posterior else "per-seed"
    t = table(f"A = {label_a[3:]}, B = {label_b[3:]}: medians over {over} (scale {scale:g}); A - B: median of the "
              f"{per} differences, [5%, 95%] over {'runs' if posterior else 'seeds'}; observed: Wigan's published value",
              [("outcome", "left"), ("period", "left"), ("A med.", "right"), ("B med.", "right"),
               ("A - B [5%, 95%]", "right"), ("observed", "right")])
    for o, p in headline(lambda n: list(diffs.get(n, {}))):
        d = diffs[o][p]
        t.add_row(short(o), p, fmt(d["a"]["median"]), fmt(d["b"]["median"]), spread(d["diff"], mid="median"),
                  fmt(plots.observed_value(observed, o, p)))
    con.print(t)
    con.print(UNITS, style="dim", highlight=False)
    con.print(plots.LEVEL_NOTE, style="dim", highlight=False)
    con.print(f"results: {shown(dest)}  ({seconds:.1f} s, {workers} workers)")


def print_assessment(council: Any, plan: Any, public: dict, scale: float, dest: Path, seconds: float, runs: int,
                     workers: int) -> None:
    from assess import assessment as A

    con = stdout_console()
    st = public["settings"]
    t = table(f"{council.name}: the Deal vs business as usual, {st['runs_per_arm']} runs per arm "
              f"({st['draws'] or 'no posterior:'} draws x {st['seeds_per_draw']} seeds, scale {scale:g}); "
              "median [5%, 95%]",
              [("outcome", "left"), ("period", "left"), ("as usual", "right"), ("Deal", "right"),
               ("Deal - as usual [5%, 95%]", "right"), ("P(>0)", "right")])
    for o, p in headline(lambda n: list(public["effects"].get(n, {})) if n in A.OUTCOMES else []):
        e = public["effects"][o][p]
        b, dd = public["arms"]["business_as_usual"][o][p], public["arms"]["deal"][o][p]
        t.add_row(short(o), p, fmt(b["q50"]), fmt(dd["q50"]), spread(e), fmt(e["p_positive"]))
    net = public["effects"]["cumulative_net_savings_gbp_m"]
    last = list(net)[-1]
    t.add_row("net savings GBP m", f"to {last}", "", "", spread(net[last]), fmt(net[last]["p_positive"]))
    ap = public["appraisal"]
    t.add_row("NPV GBP m (Green Book)", f"{ap['base_year']}-{ap['horizon_year']}", "", "",
              spread(ap["npv_gbp_m"]), fmt(ap["p_npv_positive"]))
    pb = next(iter(public["effects"]["payback_year"].values()))
    t.add_row("payback year", next(iter(public["effects"]["payback_year"])), "", "",
              f"{pb['q50'] or 'never'} [{pb['q05'] or 'never'}, {pb['q95'] or 'never'}]", fmt(pb["p_positive"]))
    con.print(t)
    con.print(UNITS + " Here HLE (published) is the model's true HLE plus this council's area term (and, in ONS's "
              "revised series, that series' offset) plus the survey's noise, the same in both arms: its level can "
              "differ from the 'true' row's, its difference cannot."
              " Net savings: care savings less the Deal's investment and the council tax forgone, added up "
              f"from the baseline, 2010/11 prices. NPV: the same flows in {ap['prices']}, discounted at "
              f"{100 * ap['discount_rate']:.1f}% a year to {ap['base_year']}"
              + (f", costs +{100 * ap['optimism_bias']:.0f}% optimism bias" if ap["optimism_bias"] else "")
              + ". P(>0): share of runs with a positive difference (payback: paid back by the end, discounted).",
              style="dim", highlight=False)
    if public["baseline"]["defaults_used"]:
        con.print(f"defaults used (see report.md): {', '.join(public['baseline']['defaults_used'])}",
                  style="dim", highlight=False)
    if not plan.posterior_info.get("file"):
        con.print("warning: " + plan.posterior_info.get("note", "no posterior"), highlight=False)
    con.print(f"results: {shown(dest)}  ({seconds:.1f} s, {runs} runs, {workers} workers)")


def print_sweep_summary(s: dict, quiet: bool) -> None:
    """A sweep folder's counts, failures and each output by parameter level."""
    c = s["counts"]
    con = stdout_console()
    con.print(f"{s['name']}: {s['method']} design, scale {s['scale']:g}, {s['replicates']} replicate(s); "
              f"{c['runs']} runs: {c['ok']} done, {c['failed']} failed, {c['remaining']} remaining", highlight=False)
    if quiet:
        return
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
            t = table(o, [("parameter", "left"), ("level", "left"), ("runs", "right"), ("median", "right"),
                          ("5%", "right"), ("95%", "right")])
            for row in s["by_level"]:
                if row["output"] == o:
                    t.add_row(row["parameter"], row["level"], str(row["n"]), fmt(row["median"]), fmt(row["q05"]),
                              fmt(row["q95"]))
            con.print(t)


def print_sensitivity(result: dict, dest: Path) -> None:
    """Sobol indices or Morris effects as a table, the outputs skipped and where the files are."""
    from sweep.sensitivity import rows

    con = stdout_console()
    conf = int(round(result["conf_level"] * 100))
    if result["method"] == "sobol":
        t = table(f"Sobol indices ({conf}% confidence intervals; {result['rows']} rows, mean of "
                  f"{result['replicates']} replicate(s) a row)",
                  [("output", "left"), ("parameter", "left"), ("S1", "right"), ("ST", "right")])
        for r in rows(result):
            t.add_row(r["output"], r["parameter"], f"{fmt(r['S1'], True)} ± {fmt(r['S1_conf'])}",
                      f"{fmt(r['ST'], True)} ± {fmt(r['ST_conf'])}")
    else:
        t = table(f"Morris elementary effects ({conf}% confidence intervals of mu*)",
                  [("output", "left"), ("parameter", "left"), ("mu*", "right"), ("mu", "right"), ("sigma", "right")])
        for r in rows(result):
            t.add_row(r["output"], r["parameter"], f"{fmt(r['mu_star'])} ± {fmt(r['mu_star_conf'])}",
                      fmt(r["mu"], True), fmt(r["sigma"]))
    con.print(t)
    for k, v in result["outputs"].items():
        if "skipped" in v:
            con.print(f"{k}: skipped: {v['skipped']}", highlight=False)
    con.print(f"results: {shown(dest)}")
