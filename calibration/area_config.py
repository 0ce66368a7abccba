"""The multi-area calibration's settings (``calibration/areas.yaml``): arms, shared parameters, hyperparameters.

Read through the project's one YAML reader, so a mistake is one line naming the file, the key and the line.
Each parameter has a prior (uniform or normal, a normal truncated to the design box) and a design box, the
range the simulator is run over; the box must hold the prior's bulk and lie inside the parameter's allowed
range in the schema.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import stats

from .config import CalibrationError, read_settings, referenced_file
from .likelihood import HYPER as HYPER_NAMES, OFFSETS as OFFSET_NAMES

__all__ = ["AreaPrior", "Arm", "AreaCalibration", "load_area_calibration"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _pair(v: list[float], what: str) -> list[float]:
    if not all(math.isfinite(x) for x in v):
        raise ValueError(f"the {what} must be finite numbers")
    return v


class AreaPrior(_Strict):
    """``uniform: [low, high]`` or ``normal: [mean, sd]`` (truncated to the design box)."""

    uniform: list[float] | None = Field(None, min_length=2, max_length=2)
    normal: list[float] | None = Field(None, min_length=2, max_length=2)

    @model_validator(mode="after")
    def _one(self) -> "AreaPrior":
        if (self.uniform is None) == (self.normal is None):
            raise ValueError("give exactly one of uniform: [low, high] or normal: [mean, sd]")
        if self.uniform is not None:
            lo, hi = _pair(self.uniform, "bounds")
            if not lo < hi:
                raise ValueError(f"the lower bound must be below the upper bound (got [{lo:g}, {hi:g}])")
        if self.normal is not None:
            _, sd = _pair(self.normal, "mean and sd")
            if not sd > 0:
                raise ValueError(f"the sd must be positive (got {sd:g})")
        return self

    def describe(self) -> str:
        if self.uniform is not None:
            return f"uniform({self.uniform[0]:g}, {self.uniform[1]:g})"
        return f"normal({self.normal[0]:g}, {self.normal[1]:g})"

    def scaled(self, factor: float) -> "AreaPrior":
        """The same prior with its width multiplied by `factor` about its centre (prior sensitivity)."""
        if self.uniform is not None:
            lo, hi = self.uniform
            c, h = (lo + hi) / 2, (hi - lo) / 2 * factor
            return AreaPrior(uniform=[c - h, c + h])
        return AreaPrior(normal=[self.normal[0], self.normal[1] * factor])

    def logpdf(self, x: np.ndarray, box: tuple[float, float]) -> np.ndarray:
        """Log density (up to a constant) inside the design box, -inf outside it and outside a uniform's range."""
        lo, hi = box
        out = np.where((x >= lo) & (x <= hi), 0.0, -np.inf)
        if self.uniform is not None:
            return np.where((x >= self.uniform[0]) & (x <= self.uniform[1]), out, -np.inf)
        m, s = self.normal
        return out - 0.5 * ((x - m) / s) ** 2

    def interval90(self, box: tuple[float, float]) -> tuple[float, float]:
        """The prior's central 90% interval (inside the design box)."""
        if self.uniform is not None:
            lo, hi = max(self.uniform[0], box[0]), min(self.uniform[1], box[1])
            return lo + 0.05 * (hi - lo), hi - 0.05 * (hi - lo)
        m, s = self.normal
        a, b = (box[0] - m) / s, (box[1] - m) / s
        d = stats.truncnorm(a, b, loc=m, scale=s)
        return float(d.ppf(0.05)), float(d.ppf(0.95))


class _Param(_Strict):
    prior: AreaPrior
    design: list[float] = Field(min_length=2, max_length=2)
    reason: str = Field(min_length=1)

    @field_validator("design")
    @classmethod
    def _box(cls, v: list[float]) -> list[float]:
        lo, hi = _pair(v, "design bounds")
        if not lo < hi:
            raise ValueError(f"the design box's lower bound must be below its upper bound (got [{lo:g}, {hi:g}])")
        return v

    @model_validator(mode="after")
    def _inside(self) -> "_Param":
        lo, hi = self.design
        if self.prior.uniform is not None and (self.prior.uniform[0] < lo or self.prior.uniform[1] > hi):
            raise ValueError(f"the prior {self.prior.describe()} must lie inside the design box [{lo:g}, {hi:g}]")
        if self.prior.normal is not None and not lo <= self.prior.normal[0] <= hi:
            raise ValueError(f"the prior's mean must lie inside the design box [{lo:g}, {hi:g}]")
        return self


class _Arm(_Strict):
    scenario: str = Field(min_length=1)
    area: str = Field(min_length=1)
    deal: bool | None = None          # None: as the scenario says
    shift_years: int = 0              # move the Deal's whole timeline (placebo in time)
    end: str | None = None

    @field_validator("end")
    @classmethod
    def _month(cls, v: str | None) -> str | None:
        import re

        if v is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v):
            raise ValueError(f"expected a month as 'YYYY-MM' in quotes, got {v!r}")
        return v


class _Refine(_Strict):
    """The second stage: a design over the region the first stage's posterior (with doubled prior widths) holds."""

    size: int = Field(ge=2, le=1_000_000)
    quantiles: list[float] = Field([0.005, 0.995], min_length=2, max_length=2)
    widen: float = Field(0.5, ge=0, le=10)


class _Design(_Strict):
    scale: float = Field(gt=0, le=1)
    end: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    size: int = Field(ge=2, le=1_000_000)
    seed: int = Field(ge=0)
    refine: _Refine | None = None


class _Hyper(_Strict):
    half_normal: float = Field(gt=0)
    unit: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class _Offset(_Strict):
    normal_sd: float = Field(gt=0)
    unit: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class _Fit(_Strict):
    draws: int = Field(4000, ge=10)
    walkers: int = Field(64, ge=4)
    primary_walkers: int = Field(256, ge=4)  # the headline fits (both series) and the replicate seeds'
    steps: int = Field(6000, ge=10)
    seed: int = Field(1, ge=0)


class _File(_Strict):
    targets: str = Field(min_length=1)
    design: _Design
    arms: dict[str, _Arm] = Field(min_length=1)
    parameters: dict[str, _Param] = Field(min_length=1)
    hyper: dict[str, _Hyper]
    offsets: dict[str, _Offset]
    fit: _Fit = _Fit()

    @model_validator(mode="after")
    def _section_names(self) -> "_File":
        for section, have, want in (("hyper", self.hyper, HYPER_NAMES), ("offsets", self.offsets, OFFSET_NAMES)):
            missing = [h for h in want if h not in have]
            extra = [h for h in have if h not in want]
            if missing or extra:
                raise ValueError(f"{section}: needs exactly {', '.join(want)}"
                                 + (f"; missing {', '.join(missing)}" if missing else "")
                                 + (f"; unknown {', '.join(extra)}" if extra else ""))
        return self


@dataclass(frozen=True)
class Arm:
    name: str
    area: str
    loaded: Any            # model.scenario.LoadedScenario
    overrides: dict[str, Any]
    end: str


@dataclass(frozen=True)
class AreaCalibration:
    path: Path
    sha256: str
    targets_path: Path
    scale: float
    end: str
    size: int
    seed: int
    arms: dict[str, Arm]
    priors: dict[str, AreaPrior]
    boxes: dict[str, tuple[float, float]]
    reasons: dict[str, str]
    hyper: dict[str, _Hyper]
    offsets: dict[str, _Offset]
    fit: _Fit
    refine: _Refine | None = None
    stage: int = 1           # 1: the design box; 2: the refined box (boxes replaced)
    lines: dict[str, int] = field(default_factory=dict)   # line of each key in the file, for messages

    def check_emulable(self, limit: int | None = None) -> None:
        """Refuse a design too small for its emulator before any run: a quadratic in d parameters is fitted to at
        least twice its coefficients (`emulator.min_points`), and with fewer points every statistic would be
        dropped. `limit` is --points, which caps both stages."""
        from .emulator import min_points

        need = min_points(len(self.keys))
        sizes = {"design.size": self.size, "design.refine.size": self.refine.size if self.refine else None}
        for where, size in sizes.items():
            if size is None:
                continue
            n, what = (size, f"{size} points") if limit is None or limit >= size else (limit, f"--points {limit}")
            if n < need:
                raise CalibrationError(f"{what}: too few for the emulator, a quadratic in {len(self.keys)} parameters "
                                       f"needs at least {need} runs (twice its coefficients)", str(self.path), where,
                                       self.lines.get(where, self.lines.get("design")))

    @property
    def keys(self) -> list[str]:
        return list(self.priors)

    def with_seed(self, seed: int) -> "AreaCalibration":
        from dataclasses import replace

        return replace(self, seed=seed)

    def refined(self, boxes: dict[str, tuple[float, float]]) -> "AreaCalibration":
        """The second stage: the same calibration over narrower boxes, with the refined design's size."""
        from dataclasses import replace

        if self.refine is None:
            raise ValueError("no design.refine in the calibration file")
        return replace(self, boxes=dict(boxes), size=self.refine.size, stage=2)


def load_area_calibration(path: str | os.PathLike[str]) -> AreaCalibration:
    """Read and check ``areas.yaml``; raise CalibrationError (or ScenarioError) naming the file, key and line."""
    from model.adoption import shifted_timeline
    from model.scenario import ScenarioError, apply_overrides, load_scenario

    shown = os.fspath(path)
    f, lines, raw, here = read_settings(path, _File, what="multi-area calibration file",
                                        example="targets: targets/areas.yaml",
                                        expect="targets, design, arms, parameters, hyper, offsets")
    targets = referenced_file(here, f.targets, shown, "targets", lines, "targets")
    arms: dict[str, Arm] = {}
    for name, a in f.arms.items():
        where = f"arms.{name}"
        loaded = load_scenario(referenced_file(here, a.scenario, shown, where + ".scenario", lines, "scenario"))
        ov: dict[str, Any] = {}
        if a.deal is not None:
            ov["deal.enabled"] = a.deal
        if a.shift_years:
            ov.update(shifted_timeline(loaded.scenario.deal, a.shift_years))
        end = a.end or f.design.end
        ov["time.end"] = end
        try:
            apply_overrides(loaded, ov, source=shown)
        except ScenarioError as exc:
            raise CalibrationError(exc.message, shown, where, lines.get(where)) from None
        arms[name] = Arm(name, a.area, loaded, ov, end)
    for key, par in f.parameters.items():
        where = f"parameters.{key}"
        any_arm = next(iter(arms.values()))
        for bound in par.design:
            try:
                apply_overrides(any_arm.loaded, {key: float(bound)}, source=shown)
            except ScenarioError as exc:
                raise CalibrationError(f"design box {par.design}: {exc.message}", shown, where + ".design",
                                       lines.get(where + ".design", lines.get(where))) from None
    return AreaCalibration(
        path=Path(os.path.expanduser(shown)).resolve(), sha256=hashlib.sha256(raw).hexdigest(),
        targets_path=targets.resolve(), scale=float(f.design.scale), end=f.design.end, size=f.design.size,
        seed=f.design.seed, arms=arms, priors={k: p.prior for k, p in f.parameters.items()},
        boxes={k: (float(p.design[0]), float(p.design[1])) for k, p in f.parameters.items()},
        reasons={k: p.reason for k, p in f.parameters.items()}, hyper=dict(f.hyper),
        offsets=dict(f.offsets), fit=f.fit,
        refine=f.design.refine, lines=dict(lines))
