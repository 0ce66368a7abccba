"""What the command line shows: progress bars, tables, numbers, and the small helpers its commands share."""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cli.args import results_table
from cli.parser import UsageError

# Outcomes shown in the terminal tables, each at a period of interest (the last available one if absent).
HEADLINE = [
    ("hle_male", "2015-17"), ("hle_male", "2017-19"), ("hle_male_true", "2017-19"),
    ("hle_female", "2015-17"), ("hle_female", "2017-19"), ("hle_female_true", "2017-19"),
    ("le_male", "2017-19"), ("le_female", "2017-19"),
    ("care_home_admissions_65plus_per_100k", "2017/18"), ("delayed_transfers_per_100k", "2017/18"),
    ("still_at_home_91d_pct", "2018/19"), ("care_quality_good_or_outstanding", "2019"),
    ("cumulative_savings_gbp_m", "2019"), ("workforce", "2019"),
]


UNITS = ("HLE, LE: years at birth (3-year periods; HLE as ONS would publish it from the survey, 'true' from "
         "everyone's health, no survey noise); care-home adm.: admissions 65+ per 100,000 aged 65+ "
         "(financial years); delayed transf.: delayed beds a day per 100,000 aged 18+; home 91d: % still at home "
         "91 days after reablement; care quality: share of care homes good or outstanding; savings: GBP m a year "
         "below the 2010 budget; workforce: council headcount.")


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


def warn_missing(missing: dict[str, dict[str, str]], what: str) -> None:
    """One warning line for outcome periods that could not be measured (reasons are in the outputs)."""
    if missing:
        n = sum(len(v) for v in missing.values())
        first = next(iter(next(iter(missing.values())).values()))
        print(f"warning: {what}: {n} outcome period(s) could not be measured at this scale and are reported as "
              f"null (first reason: {first}); a larger --scale avoids this", file=sys.stderr)


def with_nulls(outcomes: dict[str, dict[str, float]], missing: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Outcomes with every unmeasurable period present as null, in period order."""
    out = {k: dict(v) for k, v in outcomes.items()}
    for name, periods in missing.items():
        merged = {**out.get(name, {}), **{p: None for p in periods}}
        out[name] = dict(sorted(merged.items()))
    return out


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
