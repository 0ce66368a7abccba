"""Live charts of a run, redrawn as the model steps, with Wigan's observed points where they exist.

Each chart is a plain function of the model (the explore page wraps it in a component that re-renders
after every step) drawing a Matplotlib figure with :func:`solara.FigureMatplotlib`, so it renders as an image and
needs nothing from the internet. :func:`chart_data` holds the numbers, so tests can check them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from runs.plots import load_observed, outcome_x  # noqa: E402


COLORS = ("#1f77b4", "#d95f02", "#7570b3")


@dataclass
class Series:
    label: str
    x: list[float]
    y: list[float]
    style: str = "line"     # "line" (simulated) or "observed" (Wigan's published points)


@dataclass
class ChartData:
    key: str
    title: str
    unit: str
    series: list[Series] = field(default_factory=list)
    last_month: str = ""

    @property
    def n_simulated(self) -> int:
        return sum(len(s.x) for s in self.series if s.style == "line")


@lru_cache(maxsize=1)
def observed() -> dict[str, Any]:
    return load_observed()


def _results(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(timeseries, outcomes) of the model, computed once per step however many charts read them."""
    cache = getattr(model, "_dealsim_app_cache", None)
    if cache is None or cache[0] != model.steps:
        ts = model.timeseries() if model.steps else {}
        oc = model.outcomes() if model.steps else {}
        cache = (model.steps, ts, oc)
        model._dealsim_app_cache = cache
    return cache[1], cache[2]


def _months(ts: dict[str, Any]) -> list[float]:
    return [int(m[:4]) + (int(m[5:7]) - 0.5) / 12 for m in (str(x) for x in ts.get("month", []))]


def _outcome_series(model: Any, name: str, label: str) -> Series:
    vals = _results(model)[1].get(name, {})
    pts = sorted((outcome_x(name, p), v) for p, v in vals.items())
    pts = [(x, v) for x, v in pts if x is not None and v is not None and np.isfinite(v)]
    return Series(label, [x for x, _ in pts], [float(v) for _, v in pts])


def _observed_series(name: str, label: str = "Wigan (observed)") -> list[Series]:
    pts = observed().get(name, {}).get("wigan", [])
    xy = [(outcome_x(name, p), v) for p, v in pts]
    xy = [(x, v) for x, v in xy if x is not None]
    return [Series(label, [x for x, _ in xy], [v for _, v in xy], "observed")] if xy else []


def _ts_series(model: Any, column: str, label: str, factor: float = 1.0) -> Series:
    ts = _results(model)[0]
    if column not in ts:
        return Series(label, [], [])
    return Series(label, _months(ts), [float(v) * factor for v in ts[column]])


def _hle(m: Any) -> ChartData:
    return ChartData("hle", "Healthy life expectancy at birth (3-year periods)", "years", [
        _outcome_series(m, "hle_male", "men"), _outcome_series(m, "hle_female", "women"),
        *_observed_series("hle_male", "Wigan men (observed)"), *_observed_series("hle_female", "Wigan women (observed)")])


def _care_home(m: Any) -> ChartData:
    return ChartData("care_home", "Care-home admissions of people 65+ (financial years)", "per 100,000 aged 65+ a year", [
        _outcome_series(m, "care_home_admissions_65plus_per_100k", "simulated"),
        *_observed_series("care_home_admissions_65plus_per_100k")])


def _delays(m: Any) -> ChartData:
    return ChartData("delays", "Delayed transfers of care", "beds a day per 100,000 aged 18+", [
        _outcome_series(m, "delayed_transfers_per_100k", "simulated, financial year"),
        _ts_series(m, "delayed_beds_per_day_per_100k_18plus", "simulated, month"),
        *_observed_series("delayed_transfers_per_100k")])


def _staff(m: Any) -> ChartData:
    return ChartData("staff", "Staff practising strengths-based conversations", "% of practitioners", [
        _ts_series(m, "staff_strengths_based_share", "strengths-based", 100.0),
        _ts_series(m, "staff_trained_share", "trained", 100.0)])


def _groups(m: Any) -> ChartData:
    return ChartData("groups", "Community groups active", "groups (borough)", [
        _ts_series(m, "community_groups", "active groups")])


def _volunteers(m: Any) -> ChartData:
    return ChartData("volunteers", "Volunteers", "% of adults volunteering", [
        _ts_series(m, "volunteer_share_adults", "volunteers", 100.0)])


def _money(m: Any) -> ChartData:
    return ChartData("money", "Council spending and savings", "GBP m a year (2010/11 prices)", [
        _ts_series(m, "spend_total_gbp_m", "spending"), _ts_series(m, "savings_gbp_m", "savings against the starting budget"),
        *_observed_series("cumulative_savings_gbp_m", "Wigan savings (observed)")])


CHARTS: dict[str, Callable[[Any], ChartData]] = {
    "hle": _hle, "care_home": _care_home, "delays": _delays, "staff": _staff, "groups": _groups,
    "volunteers": _volunteers, "money": _money,
}


def chart_data(model: Any, key: str) -> ChartData:
    data = CHARTS[key](model)
    ts = _results(model)[0]
    months = ts.get("month", [])
    data.last_month = str(months[-1]) if len(months) else ""
    return data


def figure(model: Any, data: ChartData) -> Figure:
    fig = Figure(figsize=(5.2, 3.0), dpi=80)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.13, right=0.98, top=0.9, bottom=0.1)
    x0 = model.start // 12
    x1 = model.end // 12 + 1
    k = 0
    for s in data.series:
        if s.style == "observed":
            ax.plot(s.x, s.y, "o", color="black" if "women" not in s.label else "0.45", ms=4.5, zorder=5, label=s.label)
            continue
        if s.x:
            ax.plot(s.x, s.y, "-" if len(s.x) > 1 else "o", color=COLORS[k % len(COLORS)], lw=1.6, ms=4, label=s.label)
        else:
            ax.plot([], [], "-", color=COLORS[k % len(COLORS)], label=s.label)
        k += 1
    d = model.sc.deal
    if d.enabled:
        launch = int(d.launch[:4]) + (int(d.launch[5:7]) - 1) / 12
        ax.axvline(launch, color="0.6", ls=":", lw=1)
    ax.set_xlim(x0, x1)
    ys = [y for s in data.series for y in s.y if y is not None]
    if not ys or (min(ys) >= 0 and max(ys) == 0):  # nothing yet, or all zero (no one trained before the Deal)
        ax.set_ylim(0, 1)
    ax.set_title(data.title, fontsize=9.5)
    ax.set_ylabel(data.unit, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=6.5, loc="best")
    if data.n_simulated == 0:
        ax.text(0.5, 0.5, "no simulated value yet: step the model", transform=ax.transAxes, ha="center",
                va="center", fontsize=8, color="0.4")
    return fig


def fingerprint(data: ChartData) -> tuple:
    """What a chart's picture depends on: its series' points. A chart of yearly or 3-year outcomes keeps its
    picture for months at a time, and drawing it again (about 0.1 s) is most of what a step costs the app."""
    return tuple((s.label, s.style, tuple(s.x), tuple(s.y)) for s in data.series)


def make_chart(key: str) -> Callable[[Any], Any]:
    """A chart: a plain function of the model, looked at after every step (webapp.pages.Live) and drawn again when
    its points have changed."""

    def chart(model: Any) -> Any:
        data = chart_data(model, key)
        with solara.Column(gap="0px", classes=[f"dealsim-chart-{key}"]) as col:
            solara.FigureMatplotlib(figure(model, data), format="png", dependencies=[id(model), fingerprint(data)])
            solara.Text(f"{data.title}: {data.n_simulated} simulated values, up to "
                        f"{data.last_month or 'the start'}", classes=[f"dealsim-caption-{key}"])
        return col

    chart.__name__ = f"chart_{key}"
    return chart


def RunStatus(model: Any) -> Any:
    """Where the run is: month, progress through the simulated years, the scenario and its levers."""
    done = model.steps
    total = model.months_total
    ts = _results(model)[0]
    last = str(ts["month"][-1]) if done else "not started"
    d = model.sc.deal
    with solara.Card("Run", classes=["dealsim-status"]) as c:
        solara.Text(f"{model.scenario_name}: month {done} of {total} ({last})", classes=["dealsim-month"])
        solara.ProgressLinear(value=100.0 * done / total)
        solara.Text(
            f"{model.residents.n:,} simulated residents ({model.scale:g} of the borough), seed {model.seed}. "
            + (f"The Deal: pilot {d.pilot_start}, launch {d.launch}, fidelity {d.fidelity:g}, community fund "
               f"GBP {d.fund_gbp_m:.3g}m, care-home fund GBP {d.care_home_fund_gbp_m:.3g}m, staff autonomy "
               f"{d.permitted_autonomy:g}." if d.enabled else "No Deal: business as usual."),
            classes=["dealsim-levers"])
    return c
