"""The multi-area targets (``calibration/targets/areas.yaml``): every observed figure as one `Obs`.

Each figure is put on the scale its noise is modelled on (years; log rates; logit shares), with its time, its
period's first year (for overlapping 3-year periods) and the key of the simulated statistic it is compared with.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from model import yamlfile

from .config import CalibrationError

__all__ = ["Obs", "AreaTargets", "load_area_targets", "transform", "untransform", "period_time", "KINDS"]

KINDS = ("hle", "le", "2a2", "2b1", "dtoc", "quality")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Area(_Strict):
    population_65plus: float = Field(gt=0)
    reference: bool = False
    treated: bool = False
    reason: str = Field(min_length=1)


class _Sd(_Strict):
    borough: float = Field(gt=0)
    england: float = Field(gt=0)


class _Series(_Strict):
    kind: Literal["hle", "le", "2a2", "2b1", "dtoc", "quality"]
    outcome: str = Field(min_length=1)
    source: Any
    unit: str
    sd: _Sd | None = None
    sd_reason: str | None = None
    series_offset: bool = False
    homes: int | None = Field(None, gt=0)
    homes_reason: str | None = None
    values: dict[str, dict[str, Any]]


class _File(_Strict):
    areas: dict[str, _Area] = Field(min_length=2)
    series: dict[str, _Series] = Field(min_length=1)


@dataclass(frozen=True)
class Obs:
    """One observed figure on its noise scale."""

    series: str
    kind: str
    area: str
    sex: str | None
    period: str
    stat: str          # the simulated statistic's key, "outcome[period]"
    y: float           # transformed value
    raw: float         # as published
    t: float           # mid-point in years (2009-11 -> 2010.5; 2014/15 -> 2015.0; 2017 -> 2017.5)
    first_year: int    # the period's first calendar year
    end_year: float    # when the figure's data end (for splits by what was known when)


def period_time(period: str) -> tuple[float, int, float]:
    """(mid-point, first year, end) of '2009-11', '2014/15' or '2017'."""
    if "-" in period:
        y0 = int(period[:4])
        return y0 + 1.5, y0, y0 + 3.0
    if "/" in period:
        y0 = int(period[:4])
        return y0 + 1.0, y0, y0 + 1.25
    y0 = int(period)
    return y0 + 0.5, y0, y0 + 1.0


def transform(kind: str, value: float | np.ndarray) -> Any:
    """Published value -> the scale the noise is modelled on."""
    v = np.asarray(value, dtype=float)
    if kind in ("hle", "le"):
        return v
    if kind in ("2a2", "dtoc"):
        return np.log(np.maximum(v, 1e-6))
    if kind == "2b1":
        p = np.clip(v / 100.0, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))
    if kind == "quality":
        p = np.clip(v, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))
    raise ValueError(kind)


def untransform(kind: str, z: float | np.ndarray) -> Any:
    """The inverse of `transform`: shares come back inside (0, 1) (or 0-100%) whatever the noise."""
    z = np.asarray(z, dtype=float)
    if kind in ("hle", "le"):
        return z
    if kind in ("2a2", "dtoc"):
        return np.exp(z)
    if kind == "2b1":
        return 100.0 / (1.0 + np.exp(-z))
    if kind == "quality":
        return 1.0 / (1.0 + np.exp(-z))
    raise ValueError(kind)


@dataclass(frozen=True)
class AreaTargets:
    path: Path
    areas: dict[str, _Area]
    series: dict[str, _Series]
    obs: list[Obs]

    def select(self, *, series: set[str] | None = None, areas: set[str] | None = None,
               known_by: float | None = None, after: float | None = None) -> list[Obs]:
        """Figures of the named series and areas; `known_by`: data ending by then; `after`: ending after then."""
        out = []
        for o in self.obs:
            if series is not None and o.series not in series:
                continue
            if areas is not None and o.area not in areas:
                continue
            if known_by is not None and o.end_year > known_by:
                continue
            if after is not None and o.end_year <= after:
                continue
            out.append(o)
        return out


def load_area_targets(path: str | os.PathLike[str]) -> AreaTargets:
    """Read and check the targets; CalibrationError with the file, key and line on any problem."""
    shown = os.fspath(path)
    data, prov, _ = yamlfile.read(path, what="multi-area targets file", example="areas: {...}")
    lines = {k: line for k, (_, line) in prov.items()}
    try:
        f = _File.model_validate(data, strict=False)
    except ValidationError as exc:
        raise yamlfile.from_validation(exc, prov, shown, _File) from None
    refs = [a for a, v in f.areas.items() if v.reference]
    if len(refs) != 1:
        raise CalibrationError(f"exactly one area must be the reference (found {len(refs)})", shown, "areas",
                               lines.get("areas"))
    obs: list[Obs] = []
    for name, s in f.series.items():
        for area, by in s.values.items():
            where = f"series.{name}.values.{area}"
            if area not in f.areas:
                raise CalibrationError(f"unknown area {area!r} (areas: {', '.join(f.areas)})", shown, where,
                                       lines.get(where))
            sexes = ("male", "female") if "{sex}" in s.outcome else (None,)
            for sex in sexes:
                periods = by.get(sex) if sex else by
                if not isinstance(periods, dict):
                    raise CalibrationError("expected {period: value, ...}" + (f" under {sex}" if sex else ""), shown,
                                           where, lines.get(where))
                for period, v in periods.items():
                    period = str(period)
                    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                        raise CalibrationError(f"expected a number, got {yamlfile.show(v)}", shown,
                                               f"{where}.{sex + '.' if sex else ''}{period}",
                                               lines.get(f"{where}.{sex + '.' if sex else ''}{period}", lines.get(where)))
                    t, y0, end = period_time(period)
                    outcome = s.outcome.replace("{sex}", sex) if sex else s.outcome
                    obs.append(Obs(name, s.kind, area, sex, period, f"{outcome}[{period}]",
                                   float(transform(s.kind, v)), float(v), t, y0, end))
    return AreaTargets(Path(os.path.expanduser(shown)).resolve(), dict(f.areas), dict(f.series), obs)
