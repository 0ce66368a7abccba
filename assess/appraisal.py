"""The arithmetic of an HM Treasury Green Book style appraisal of a council's reform: would it pay off?

This module is standalone (numpy only) so that the appraisal arithmetic can be read, checked and tested apart
from the model that produces the flows.

**Price year.** Every figure in an appraisal must be in the prices of one stated year, the *price year*
(:attr:`Appraisal.price_year`), so that a pound in 2015 and a pound in 2024 are compared as like with like. Flows
given in nominal (cash) terms, or in another year's prices, are converted with a *deflator* series (an index by
year, any base, e.g. the ONS GDP deflator): a figure in year-``y`` prices becomes
``figure * deflator[price_year] / deflator[y]`` in price-year prices (:func:`to_price_year`). Years are plain
integers; a financial year such as 2019/20 is keyed by its first calendar year (2019), and the deflator must be
keyed the same way.

**Discounting.** Real (price-year) flows are discounted to the *base year* (default: the first year of the flows)
at the Green Book's social time preference rate of 3.5% a year (configurable): a flow in year ``t`` is multiplied
by ``1 / (1 + r) ** (t - base_year)``. The Green Book's rate declines for the long term (3.5% for years 0-30,
then 3.0% for years 31-75, and lower beyond); the horizons appraised here are below 30 years, so a constant rate is
used, and a flow more than 30 years after the base year is refused rather than discounted at the wrong rate.
Flows before the base year are refused too: the Green Book treats past costs as sunk, not as appraisal flows.

**Optimism bias.** Appraisals systematically understate costs; the Green Book's supplementary guidance on
optimism bias gives uplift ranges by project type. Here the uplift is a stated proportion added to every cost
(:attr:`Appraisal.optimism_bias`, e.g. 0.2 for +20%). No value is invented: the default is 0.0, and a council
should state and justify its own.

**Net present value** is the sum over years of discounted ``benefits - costs * (1 + optimism_bias)``.

**Payback year** is the first year from which the cumulative discounted net benefit is non-negative in every
later year of the horizon (that year included), or ``None`` if there is no such year (the cumulative is negative
in the final year). A flow that turns positive, dips negative again and recovers pays back at the recovery, not at
the first crossing. The comparison is exact (``>= 0``), with no tolerance.

**Draws.** :func:`npv_draws` and :func:`payback_draws` do the same over an array of draws (draws x years), e.g.
from the model's uncertainty runs, and :func:`summary` reduces them to quantiles for reporting. Money is expected
in £ million (the summary's ``npv_gbp_m``); the arithmetic itself is unit-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from runs.outputs import quantiles

GREEN_BOOK_DISCOUNT_RATE = 0.035
"""The Green Book's social time preference rate for years 0-30."""

CONSTANT_RATE_HORIZON = 30
"""Years after the base year up to which the Green Book's rate is constant (it declines after)."""


@dataclass(frozen=True)
class Appraisal:
    """The settings of one appraisal, stated once so every figure it reports says what it assumed.

    ``deflator`` is an index by year (any base); it is copied on construction and left out of the hash so that an
    ``Appraisal`` stays usable as a dictionary key.
    """

    price_year: int
    discount_rate: float = GREEN_BOOK_DISCOUNT_RATE
    base_year: int | None = None
    optimism_bias: float = 0.0
    deflator: dict[int, float] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not _is_int(self.price_year):
            raise ValueError(f"price_year must be a whole year, got {self.price_year!r}")
        if self.base_year is not None and not _is_int(self.base_year):
            raise ValueError(f"base_year must be a whole year or None, got {self.base_year!r}")
        if not _is_real(self.discount_rate) or not 0.0 <= self.discount_rate <= 0.2:
            raise ValueError(f"discount_rate must be between 0 and 0.2 (0.035 is 3.5%), got {self.discount_rate!r}")
        if not _is_real(self.optimism_bias) or not 0.0 <= self.optimism_bias <= 2.0:
            raise ValueError(f"optimism_bias must be between 0 and 2 (0.2 is +20% on costs), "
                             f"got {self.optimism_bias!r}")
        if self.deflator is not None:
            d: dict[int, float] = {}
            for y, v in dict(self.deflator).items():
                if not _is_int(y):
                    raise ValueError(f"deflator years must be whole years, got {y!r}")
                if not _is_real(v) or not v > 0:
                    raise ValueError(f"deflator value for {y} must be a positive number, got {v!r}")
                d[int(y)] = float(v)
            if self.price_year not in d:
                raise ValueError(f"deflator has no value for the price year {self.price_year}")
            object.__setattr__(self, "deflator", d)


def to_price_year(values: Mapping[int, float], prices_of: int | Mapping[int, int], a: Appraisal) -> dict[int, float]:
    """Convert a year -> value series into ``a.price_year`` prices, so it can be added to other price-year flows.

    ``prices_of`` is the price year of every figure (an int), or each year's own price year (a mapping year ->
    price year; for nominal cash figures each year maps to itself). Figures already in ``a.price_year`` pass
    unchanged; any other needs ``a.deflator`` with a value for its price year, else ValueError naming the year.
    """
    out: dict[int, float] = {}
    for y, v in values.items():
        if isinstance(prices_of, Mapping):
            if y not in prices_of:
                raise ValueError(f"no price year given for the figure of year {y}")
            p = prices_of[y]
        else:
            p = prices_of
        if p == a.price_year:
            out[y] = float(v)
            continue
        if a.deflator is None:
            raise ValueError(f"the figure of year {y} is in {p} prices, not {a.price_year} prices, "
                             f"and no deflator is given to convert it")
        if p not in a.deflator:
            raise ValueError(f"the deflator has no value for the year {p} (price year of the figure of year {y})")
        out[y] = float(v) * a.deflator[a.price_year] / a.deflator[p]
    return out


def discount_factors(years: Sequence[int], a: Appraisal) -> np.ndarray:
    """``1 / (1 + r) ** (year - base_year)`` for each year: what a pound in that year is worth in the base year.

    The base year is ``a.base_year``, or else the first (earliest) of ``years``. A year before the base year, or
    more than 30 years after it (where the Green Book's rate declines), raises ValueError.
    """
    ys = np.asarray(list(years), dtype=float)
    if ys.size == 0:
        return np.zeros(0)
    base = _base_year(years, a)
    t = ys - base
    if np.any(t < 0):
        raise ValueError(f"year {int(ys[t < 0].min())} is before the base year {base}: "
                         f"past costs are sunk and are not appraisal flows")
    if np.any(t > CONSTANT_RATE_HORIZON):
        raise ValueError(f"year {int(ys[t > CONSTANT_RATE_HORIZON].max())} is more than {CONSTANT_RATE_HORIZON} "
                         f"years after the base year {base}: the Green Book's declining long-term rates apply "
                         f"there and are not implemented")
    return 1.0 / (1.0 + a.discount_rate) ** t


def npv(benefits: Mapping[int, float], costs: Mapping[int, float], a: Appraisal) -> float:
    """Net present value: the sum of discounted ``benefits - costs * (1 + optimism_bias)`` over all years.

    Years are the union of both series; a year missing from one counts as zero there.
    """
    years, net = _net_series(benefits, costs, a.optimism_bias)
    return float(np.sum(net * discount_factors(years, a)))


def cumulative_discounted(benefits: Mapping[int, float], costs: Mapping[int, float],
                          a: Appraisal) -> tuple[list[int], np.ndarray]:
    """The years (sorted) and the running total of the discounted net benefit up to each: the payback curve."""
    years, net = _net_series(benefits, costs, a.optimism_bias)
    return years, np.cumsum(net * discount_factors(years, a))


def payback_year(benefits: Mapping[int, float], costs: Mapping[int, float], a: Appraisal) -> int | None:
    """The first year from which the cumulative discounted net benefit is non-negative in every later year of the
    horizon, or None if there is none (including when there are no flows)."""
    years, cum = cumulative_discounted(benefits, costs, a)
    return _payback_rows(cum[None, :], years)[0]


def npv_draws(benefits: np.ndarray, costs: np.ndarray, years: Sequence[int], a: Appraisal) -> np.ndarray:
    """The NPV of each draw (row) of ``benefits`` and ``costs`` (draws x years, columns in the order of ``years``,
    which must be strictly increasing); equal row by row to :func:`npv`."""
    net, ys = _net_draws(benefits, costs, years, a)
    return net @ discount_factors(ys, a)


def payback_draws(benefits: np.ndarray, costs: np.ndarray, years: Sequence[int], a: Appraisal) -> list[int | None]:
    """The payback year of each draw (row), as :func:`payback_year`; None for a draw that never pays back."""
    net, ys = _net_draws(benefits, costs, years, a)
    return _payback_rows(np.cumsum(net * discount_factors(ys, a), axis=1), ys)


def payback_quantiles(payback: Sequence[int | None]) -> dict[str, Any]:
    """Payback-year quantiles over draws, "never" counted as +infinity, each an order statistic (numpy's
    ``inverted_cdf``) so it is a year some draw paid back in, or None where it falls among draws that never do;
    and the share of draws that never pay back."""
    pb = np.array([math.inf if p is None else float(p) for p in payback])
    if pb.size == 0:
        return {"q05": None, "q50": None, "q95": None, "p_never": None}

    def q(level: float) -> int | None:
        x = float(np.quantile(pb, level, method="inverted_cdf"))
        return None if math.isinf(x) else int(x)

    return {"q05": q(0.05), "q50": q(0.5), "q95": q(0.95), "p_never": float(np.mean(np.isinf(pb)))}


def summary(npv: np.ndarray, payback: list[int | None], a: Appraisal) -> dict:
    """The appraisal over draws, for a report: the settings it assumed, NPV quantiles (£m), the probability the NPV
    is positive, and payback-year quantiles with the share of draws that never pay back.

    NPV quantiles interpolate linearly. Payback quantiles treat "never" as +infinity and take an order statistic
    (numpy's ``inverted_cdf``: the smallest draw's year with at least that share of draws at or below it), so each
    is a year some draw actually paid back in, or None when the quantile falls among the draws that never do.
    """
    v = np.asarray(npv, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError("npv must be a non-empty one-dimensional array of draws")
    if len(payback) != v.size:
        raise ValueError(f"npv has {v.size} draws but payback has {len(payback)}")
    if not np.all(np.isfinite(v)):
        raise ValueError("npv has a value that is not a finite number")
    return {
        "price_year": a.price_year,
        "discount_rate": a.discount_rate,
        "optimism_bias": a.optimism_bias,
        "npv_gbp_m": quantiles(v, median="q50", count=False, rnd=None),
        "p_npv_positive": float(np.mean(v > 0)),
        "payback_year": payback_quantiles(payback),
    }


# ------------------------------------------------------------------ helpers
def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _is_real(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


def _base_year(years: Sequence[int], a: Appraisal) -> int:
    return a.base_year if a.base_year is not None else int(min(years))


def _net_series(benefits: Mapping[int, float], costs: Mapping[int, float],
                optimism_bias: float) -> tuple[list[int], np.ndarray]:
    """Sorted union of years and the net benefit in each, costs uplifted by ``optimism_bias``."""
    years = sorted(set(benefits) | set(costs))
    b = np.array([float(benefits.get(y, 0.0)) for y in years])
    c = np.array([float(costs.get(y, 0.0)) for y in years])
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(c))):
        raise ValueError("benefits and costs must be finite numbers")
    return years, b - c * (1.0 + optimism_bias)


def _net_draws(benefits: np.ndarray, costs: np.ndarray, years: Sequence[int],
               a: Appraisal) -> tuple[np.ndarray, list[int]]:
    b = np.asarray(benefits, dtype=float)
    c = np.asarray(costs, dtype=float)
    ys = [int(y) for y in years]
    if b.ndim != 2 or c.shape != b.shape:
        raise ValueError(f"benefits and costs must be arrays of the same shape, draws x years; "
                         f"got {b.shape} and {c.shape}")
    if b.shape[1] != len(ys):
        raise ValueError(f"the arrays have {b.shape[1]} year columns but {len(ys)} years are given")
    if any(y1 <= y0 for y0, y1 in zip(ys, ys[1:])):
        raise ValueError("years must be strictly increasing")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(c))):
        raise ValueError("benefits and costs must be finite numbers")
    return b - c * (1.0 + a.optimism_bias), ys


def _payback_rows(cum: np.ndarray, years: list[int]) -> list[int | None]:
    """Per row of cumulative values: the year after the last negative one (the first year if none is negative),
    None if the last year is negative or there are no years."""
    n = len(years)
    if n == 0:
        return [None] * cum.shape[0]
    neg = cum < 0
    any_neg = neg.any(axis=1)
    last_neg = n - 1 - np.argmax(neg[:, ::-1], axis=1)
    out: list[int | None] = []
    for has, last in zip(any_neg, last_neg):
        if not has:
            out.append(years[0])
        elif last == n - 1:
            out.append(None)
        else:
            out.append(years[int(last) + 1])
    return out
