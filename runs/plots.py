"""Figures of a run and of a comparison (matplotlib, Agg backend: no display needed).

* :func:`monthly_figure` - the main monthly series of one run, or of several arms as fan charts (median
  and 5-95% band over seeds): good health, care-home admissions, delayed transfers, strengths-based
  practice, community groups, volunteers, spending by line, savings, care settings.
* :func:`outcomes_figure` - the published measures (HLE, ASCOF, CQC, savings, workforce) of one run or as
  fan charts over seeds, with Wigan's observed values (points) and England's (dashed) from
  ``model/data/wigan_england.yaml`` (the ORIGINAL HLE series).

Every series is read with ``.get`` so a column the model stops recording leaves an empty panel rather
than an error.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from model import yamlfile  # noqa: E402
from model.outcomes import REGISTRY  # noqa: E402

__all__ = ["Arm", "LEVEL_NOTE", "load_observed", "observed_value", "period_x", "monthly_figure", "outcomes_figure",
           "OUTCOME_PANELS", "MONTHLY_PANELS", "outcome_x"]

DATA = Path(__file__).resolve().parents[1] / "model" / "data" / "wigan_england.yaml"
COLORS = ("#1f77b4", "#d95f02", "#7570b3", "#1b9e77")
WIGAN_OBS = dict(color="black", marker="o", linestyle="none", markersize=4.5, zorder=5)
ENGLAND_OBS = dict(color="0.45", linestyle="--", linewidth=1.2, marker=".", markersize=4, zorder=4)


@dataclass
class Arm:
    """One line on a figure: a scenario's runs. ``timeseries`` and ``outcomes`` hold one item per seed."""

    label: str
    timeseries: Sequence[Mapping[str, Any]]
    outcomes: Sequence[Mapping[str, Mapping[str, float]]]
    milestones: Sequence[tuple[str, str]] = ()  # (month 'YYYY-MM', label), e.g. the Deal's pilot and launch


# ---------------------------------------------------------------------------------------------
# Time axis
# ---------------------------------------------------------------------------------------------
def period_x(label: Any, kind: str | None = None) -> float | None:
    """A period label as a decimal year at its middle: '2009-11' (kind 'three_year') -> 2010.5,
    '2014/15' (financial year) -> 2014.75, '2017' -> 2017.5 ('year_end': 2018.0), '2015-05' -> 2015.375."""
    s = str(label).strip()
    m = re.fullmatch(r"(\d{4})/(\d{2})", s)
    if m:
        return int(m.group(1)) + 0.75
    m = re.fullmatch(r"(\d{4})-(\d{2})", s)
    if m:
        y, b = int(m.group(1)), int(m.group(2))
        if kind == "three_year":
            return y + 1.5
        if 1 <= b <= 12 and kind != "financial_year":
            return y + (b - 0.5) / 12
        return y + 0.75  # '2016-17': a financial year
    m = re.fullmatch(r"c?(\d{4})", s)
    if m:
        return int(m.group(1)) + (1.0 if kind == "year_end" else 0.5)
    return None


def outcome_x(name: str, label: Any) -> float | None:
    """Where a period of a registered outcome sits on a time axis (a year recorded in December at its end)."""
    o = REGISTRY.get(name)
    if o is None:
        return period_x(label)
    return period_x(label, "year_end" if o.period == "year" and o.record_month == 12 else o.period)


def _month_x(months: Sequence[str]) -> np.ndarray:
    out = []
    for s in months:
        y, mo = str(s).split("-")[:2]
        out.append(int(y) + (int(mo) - 0.5) / 12)
    return np.asarray(out)


# ---------------------------------------------------------------------------------------------
# Observed data
# ---------------------------------------------------------------------------------------------
def _pairs(periods: Sequence[Any], values: Sequence[Any] | None) -> list[tuple[str, float]]:
    if not values:
        return []
    return [(str(p), float(v)) for p, v in zip(periods, values) if v is not None]


def load_observed(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """Observed outcomes by model outcome name: ``{name: {"wigan": [(period, value)], "england": [...]}}``.

    Reads the ORIGINAL HLE series. Anything missing or malformed in the data file is left out.
    """
    try:
        d = yamlfile.read(path or DATA, what="observed data file")[0]
    except yamlfile.InputError:
        return {}
    out: dict[str, dict[str, list[tuple[str, float]]]] = {}

    def put(name: str, who: str, pairs: list[tuple[str, float]]) -> None:
        if pairs:
            out.setdefault(name, {})[who] = pairs

    def safe(fn: Any) -> None:
        try:
            fn()
        except (KeyError, TypeError, ValueError, AttributeError):
            pass

    def hle() -> None:
        h = d["healthy_life_expectancy_original"]
        for sex in ("male", "female"):
            put(f"hle_{sex}", "wigan", _pairs(h["periods"], h.get(f"wigan_{sex}")))
            put(f"hle_{sex}", "england", _pairs(h["periods"], h.get(f"england_{sex}")))

    def le() -> None:
        h = d["life_expectancy"]
        for sex in ("male", "female"):
            put(f"le_{sex}", "wigan", _pairs(h["periods"], h.get(f"wigan_{sex}")))
            put(f"le_{sex}", "england", _pairs(h["periods"], h.get(f"england_{sex}")))

    def care_homes() -> None:
        c = d["care_home_admissions_65plus"]
        put("care_home_admissions_65plus_per_100k", "wigan", _pairs(c["years"], c.get("wigan")))
        put("care_home_admissions_65plus_per_100k", "england", _pairs(c["years"], c.get("england")))

    def reablement() -> None:
        c = d["still_at_home_91_days_after_reablement"]
        put("still_at_home_91d_pct", "wigan", _pairs(c["years"], c.get("wigan_2b1")))
        put("still_at_home_91d_pct", "england", _pairs(c["years"], c.get("england_2b1")))

    def delays() -> None:
        c = d["delayed_transfers_of_care"]
        put("delayed_transfers_per_100k", "wigan", _pairs(c["years"], c.get("wigan_total")))
        put("delayed_transfers_per_100k", "england", _pairs(c["years"], c.get("england_total")))

    def quality() -> None:
        c = d["care_quality_good_or_outstanding"]
        put("care_quality_good_or_outstanding", "wigan",
            [(str(k), float(v)) for k, v in (c.get("wigan_care_homes") or {}).items() if v is not None])
        put("care_quality_good_or_outstanding", "england",
            [(str(k), float(v)) for k, v in (c.get("england_adult_social_care") or {}).items() if v is not None])

    def savings() -> None:
        items = d["council_finance"]["cumulative_savings_gbp_m"]
        put("cumulative_savings_gbp_m", "wigan",
            [(str(i["as_of"]), float(i["value"])) for i in items if isinstance(i, dict) and i.get("value") is not None])

    def workforce() -> None:
        w = d["workforce"]["size_c2016_17"]
        put("workforce", "wigan", [("2016-17", float(w["value"]))])

    for fn in (hle, le, care_homes, reablement, delays, quality, savings, workforce):
        safe(fn)
    return out


def observed_value(observed: Mapping[str, Any], outcome: str, period: str, who: str = "wigan") -> float | None:
    for p, v in observed.get(outcome, {}).get(who, []):
        if p == period:
            return v
    return None


# ---------------------------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------------------------
OUTCOME_PANELS = ["hle_male", "hle_female", "care_home_admissions_65plus_per_100k", "delayed_transfers_per_100k",
                  "still_at_home_91d_pct", "care_quality_good_or_outstanding", "cumulative_savings_gbp_m", "workforce"]


def _col(ts: Mapping[str, Any], name: str) -> np.ndarray | None:
    v = ts.get(name)
    return None if v is None else np.asarray(v, dtype=float)


def _rolling(x: np.ndarray, k: int = 12) -> np.ndarray:
    """Trailing mean over up to k months (shorter at the start)."""
    c = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(idx - k, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _ratio(num: np.ndarray | None, den: np.ndarray | None, factor: float) -> np.ndarray | None:
    if num is None or den is None:
        return None
    return num / np.where(den > 0, den, np.nan) * factor


@dataclass
class Series:
    label: str
    fn: Any  # timeseries -> array or None
    style: str = "-"


@dataclass
class Panel:
    title: str
    unit: str
    series: list[Series]
    stacked: bool = False


def _monthly_panels(multi: bool) -> list[Panel]:
    spend_lines = [("staff", "staff"), ("home_care", "home care"), ("care_homes", "care homes"),
                   ("reablement", "reablement"), ("community_fund", "community fund"),
                   ("care_home_fund", "care home fund"), ("training", "training"), ("other", "other services")]
    panels = [
        Panel("Residents in good health", "% of residents", [Series("good health", lambda t: _pct(_col(t, "good_health_share")))]),
        Panel("Care-home admissions 65+ (funded)", "per 100,000 aged 65+ a year, 12-month mean", [Series(
            "admissions", lambda t: _smooth(_ratio(_col(t, "care_home_admissions_65_funded"), _col(t, "population_65_plus"), 12e5)))]),
        Panel("Delayed transfers of care", "beds/day per 100,000 aged 18+, 12-month mean", [Series(
            "delayed beds", lambda t: _smooth(_col(t, "delayed_beds_per_day_per_100k_18plus")))]),
        Panel("Strengths-based practice", "% of practitioners", [
            Series("strengths-based", lambda t: _pct(_col(t, "staff_strengths_based_share"))),
            Series("trained", lambda t: _pct(_col(t, "staff_trained_share")), ":")]),
        Panel("Community groups", "active groups", [Series("groups", lambda t: _col(t, "community_groups"))]),
        Panel("Volunteers", "% of residents aged 16+", [Series("volunteers", lambda t: _pct(_col(t, "volunteer_share_adults")))]),
    ]
    if multi:
        panels.append(Panel("Council spending", "GBP m a year", [
            Series("total", lambda t: _col(t, "spend_total_gbp_m")),
            Series("adult social care", lambda t: _sum(t, ["home_care", "care_homes", "reablement"]), ":")]))
    else:
        panels.append(Panel("Spending by line", "GBP m a year", [
            Series(label, (lambda key: lambda t: _col(t, f"spend_{key}_gbp_m"))(key)) for key, label in spend_lines],
            stacked=True))
    panels += [
        Panel("Savings since 2010", "GBP m a year", [
            Series("savings", lambda t: _col(t, "savings_gbp_m")),
            Series("overspend", lambda t: _col(t, "overspend_gbp_m"), ":")]),
        Panel("Care settings", "residents", [
            Series("home care", lambda t: _col(t, "home_care_clients")),
            Series("care homes", lambda t: _col(t, "care_home_residents"), "--")]),
    ]
    return panels


MONTHLY_PANELS = [p.title for p in _monthly_panels(False)]


def _pct(x: np.ndarray | None) -> np.ndarray | None:
    return None if x is None else x * 100.0


def _smooth(x: np.ndarray | None) -> np.ndarray | None:
    return None if x is None else _rolling(np.nan_to_num(x))


def _sum(t: Mapping[str, Any], keys: list[str]) -> np.ndarray | None:
    parts = [_col(t, f"spend_{k}_gbp_m") for k in keys]
    parts = [p for p in parts if p is not None]
    return None if not parts else np.sum(parts, axis=0)


def _band(values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = np.vstack(values).astype(float)
    if m.shape[0] == 1:
        return m[0], m[0], m[0]
    # np.quantile works on the whole array at once; nanquantile loops over columns in Python.
    q05, med, q95 = (np.quantile(m, [0.05, 0.5, 0.95], axis=0) if np.isfinite(m).all()
                     else np.nanquantile(m, [0.05, 0.5, 0.95], axis=0))
    return med, q05, q95


def fan(ax: Any, x: Any, mid: Any, lo: Any = None, hi: Any = None, color: str = "#1f77b4", label: str | None = None,
        band_label: str | None = None, alpha: float = 0.2, line: str = "-", lw: float = 1.5, **line_kw: Any) -> None:
    """The project's one fan chart: a median line and, when given, its band (5-95% unless the caller says)."""
    if lo is not None and hi is not None:
        ax.fill_between(x, lo, hi, color=color, alpha=alpha, linewidth=0, label=band_label)
    ax.plot(x, mid, line, color=color, linewidth=lw, label=label, **line_kw)


def _grid(n: int, cols: int = 3) -> tuple[int, int]:
    return (n + cols - 1) // cols, cols


def _milestones(ax: Any, arms: Sequence[Arm], x0: float, x1: float) -> None:
    seen: set[str] = set()
    for arm in arms:
        for month, text in arm.milestones:
            if month in seen:
                continue
            seen.add(month)
            x = _month_x([month])[0]
            if x0 <= x <= x1:
                ax.axvline(x, color="0.6", linewidth=0.8, linestyle=":", zorder=1)
                ax.text(x, 0.99, f" {text}", transform=ax.get_xaxis_transform(), fontsize=6.5, color="0.4",
                        va="top", ha="left", rotation=90)


def wrap_title(text: str, width: int = 46) -> str:
    """A panel title on as many lines as it needs, so that it stays over its own panel."""
    return "\n".join(textwrap.wrap(text, width))


def fixed_layout(fig: Any, rows: int) -> None:
    """Margins set once (a constrained layout measured every label and took seconds per figure)."""
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.05 + 0.1 / rows, top=1.0 - 0.25 / rows, wspace=0.28,
                        hspace=0.42)


def _empty(ax: Any, text: str = "not recorded") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.5")


def monthly_figure(arms: Sequence[Arm], path: str | os.PathLike[str], title: str) -> None:
    """The main monthly series; one line per arm (median and 5-95% band when an arm has several seeds)."""
    multi = len(arms) > 1
    panels = _monthly_panels(multi)
    rows, cols = _grid(len(panels))
    fig = Figure(figsize=(5.0 * cols, 3.3 * rows))
    fixed_layout(fig, rows)
    fig.suptitle(title, fontsize=12)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax, panel in zip(axes, panels):
        ax.set_title(panel.title, fontsize=10)
        ax.set_ylabel(panel.unit, fontsize=7.5)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
        drawn = False
        x = None
        if panel.stacked and not multi:
            arm = arms[0]
            t = arm.timeseries[0]
            x = _month_x(t["month"])
            ys = [(s.label, s.fn(t)) for s in panel.series]
            ys = [(lab, y) for lab, y in ys if y is not None]
            if ys:
                ax.stackplot(x, *[np.clip(y, 0, None) for _, y in ys], labels=[lab for lab, _ in ys], alpha=0.85)
                ax.legend(fontsize=6.5, loc="upper right", ncol=2, framealpha=0.8)
                drawn = True
        else:
            for i, arm in enumerate(arms):
                color = COLORS[i % len(COLORS)]
                for s in panel.series:
                    values = [s.fn(t) for t in arm.timeseries]
                    values = [v for v in values if v is not None]
                    if not values:
                        continue
                    x = _month_x(arm.timeseries[0]["month"])
                    med, lo, hi = _band(values)
                    name = s.label if not multi else (arm.label if len(panel.series) == 1 else f"{arm.label}: {s.label}")
                    many = len(values) > 1
                    fan(ax, x, med, lo if many else None, hi if many else None, color, name, line=s.style, lw=1.4)
                    drawn = True
            if drawn and (multi or len(panel.series) > 1):
                ax.legend(fontsize=6.5, loc="best", framealpha=0.8)
        if not drawn:
            _empty(ax)
        elif x is not None:
            _milestones(ax, arms, float(x[0]), float(x[-1]))
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.savefig(path, dpi=110)


LEVEL_NOTE = ("The model's levels are for Wigan's context alone. The calibration fits Wigan's own level beside them "
              "(an area term, docs/calibration.md), so they can sit a year or two off Wigan's published points: read "
              "the gap between the arms and the changes over time, not the levels.")


def outcomes_figure(arms: Sequence[Arm], path: str | os.PathLike[str], title: str,
                    observed: Mapping[str, Any] | None = None, names: Sequence[str] = OUTCOME_PANELS,
                    note: str | None = LEVEL_NOTE) -> None:
    """The published measures: each arm's value (median and 5-95% band over seeds), observed Wigan
    (points) and England (dashed); `note` under the panels says how far the levels can be set against the points."""
    observed = load_observed() if observed is None else observed
    rows, cols = _grid(len(names), 4 if len(names) % 4 == 0 else 3)
    fig = Figure(figsize=(4.6 * cols, 3.8 * rows))
    fixed_layout(fig, rows)
    fig.suptitle(title, fontsize=12)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax, name in zip(axes, names):
        o = REGISTRY.get(name)
        label, unit = (o.title, o.unit) if o else (name, "")
        ax.set_title(label, fontsize=10)
        ax.set_ylabel(unit, fontsize=7.5)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
        drawn = False
        xs_all: list[float] = []
        for i, arm in enumerate(arms):
            color = COLORS[i % len(COLORS)]
            periods: dict[str, None] = {}
            for oc in arm.outcomes:
                for p in oc.get(name, {}):
                    periods.setdefault(p, None)
            pts = [(outcome_x(name, p), p) for p in periods]
            pts = sorted((x, p) for x, p in pts if x is not None)
            if not pts:
                continue
            x = np.asarray([a for a, _ in pts])
            vals = np.asarray([[oc.get(name, {}).get(p, np.nan) for _, p in pts] for oc in arm.outcomes], dtype=float)
            med, lo, hi = _band(list(vals))
            many = len(arm.outcomes) > 1
            fan(ax, x, med, lo if many else None, hi if many else None, color, arm.label, marker=".", markersize=3)
            xs_all += x.tolist()
            drawn = True
        obs = (observed or {}).get(name, {})
        for who, style, lab in (("england", ENGLAND_OBS, "England (observed)"), ("wigan", WIGAN_OBS, "Wigan (observed)")):
            pts = sorted((outcome_x(name, p), v) for p, v in obs.get(who, []) if outcome_x(name, p) is not None)
            if pts:
                if name == "care_quality_good_or_outstanding" and who == "england":
                    lab = "England, all adult social care"
                ax.plot([a for a, _ in pts], [b for _, b in pts], label=lab, **style)
                drawn = True
        if not drawn:
            _empty(ax)
        else:
            if xs_all:
                _milestones(ax, arms, min(xs_all) - 1, max(xs_all) + 1)
            ax.legend(fontsize=6.5, loc="best", framealpha=0.8)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if note:
        fig.text(0.5, 0.004, note, ha="center", va="bottom", fontsize=7.5, color="0.3", wrap=True)
    fig.savefig(path, dpi=110)
