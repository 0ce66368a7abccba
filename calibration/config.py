"""Calibration settings (``calibration/wigan.yaml``): scenario, targets, simulation, ABC settings, free parameters.

::

    scenario: ../scenarios/wigan.yaml     # relative to this file
    targets: targets/wigan.yaml           # relative to this file
    simulation:
      scale: 0.1                          # share of the borough simulated (--scale overrides it)
      end: "2018-03"                      # last simulated month (must cover every fit period)
    abc:
      population_size: 150
      max_generations: 8
      min_epsilon: 0.0
      max_walltime_minutes: 45
      min_acceptance_rate: 0.02
      transition_scaling: 3.0             # optional: factor on the proposal covariance (pyabc's default is 1)
    parameters:
      health.threshold_male:              # any scenario parameter, by its dotted key
        prior: {uniform: [2.2, 2.8]}
        reason: "..."

Loading checks the file (unknown keys refused, types, ranges), loads the scenario and the targets, and checks
that every free parameter exists in the scenario schema and that both ends of its prior are valid values of it
(so no proposal can be refused by the model), and that ``simulation.end`` reaches every fit period.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from model import yamlfile
from model.yamlfile import InputError as CalibrationError
from .targets import Stat, Targets, load_targets, needed_end

__all__ = ["Calibration", "Prior", "load_calibration", "month_key"]


_MISSING = object()

#: Factor on the covariance of pyabc's multivariate normal transition (pyabc's default 1). With 15 free
#: parameters that the targets identify only weakly, the default collapsed the importance weights (effective
#: sample size 150 -> 22 -> 5 in three generations at scale 0.02; 150 -> 23 -> 9 -> 7 -> 3 on a synthetic model of
#: the same shape), because a narrow Gaussian proposal samples a nearly flat posterior badly; 3 kept it near 70-100
#: for about twice the simulations. Set abc.transition_scaling to change it.
TRANSITION_SCALING = 3.0


def month_key(text: str) -> tuple[int, int]:
    return int(text[:4]), int(text[5:7])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prior(_Strict):
    """A prior distribution. Only ``uniform: [low, high]`` is supported."""

    uniform: list[float] = Field(min_length=2, max_length=2)

    @field_validator("uniform")
    @classmethod
    def _range(cls, v: list[float]) -> list[float]:
        lo, hi = v
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("the bounds must be finite numbers")
        if not lo < hi:
            raise ValueError(f"the lower bound must be below the upper bound (got [{lo:g}, {hi:g}])")
        return v

    @property
    def low(self) -> float:
        return float(self.uniform[0])

    @property
    def high(self) -> float:
        return float(self.uniform[1])

    def describe(self) -> str:
        return f"uniform({self.low:g}, {self.high:g})"


class Parameter(_Strict):
    prior: Prior
    reason: str = Field(min_length=1)


class Simulation(_Strict):
    scale: float = Field(gt=0, le=1)
    end: str | None = None

    @field_validator("end")
    @classmethod
    def _month(cls, v: str | None) -> str | None:
        if v is not None:
            import re

            if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v):
                raise ValueError(f"expected a month as 'YYYY-MM' in quotes, got {v!r}")
        return v


class Abc(_Strict):
    population_size: int = Field(ge=2, le=100_000)
    max_generations: int = Field(ge=1, le=1000)
    min_epsilon: float = Field(0.0, ge=0)
    max_walltime_minutes: float | None = Field(None, gt=0)
    min_acceptance_rate: float = Field(0.0, ge=0, lt=1)
    transition_scaling: float = Field(TRANSITION_SCALING, gt=0, le=100)


class _File(_Strict):
    scenario: str = Field(min_length=1)
    targets: str = Field(min_length=1)
    simulation: Simulation
    abc: Abc
    parameters: dict[str, Parameter] = Field(min_length=1)

    @model_validator(mode="after")
    def _keys(self) -> "_File":
        for k in self.parameters:
            if not k or any(not p.strip() for p in k.split(".")):
                raise ValueError(f"parameters: {k!r} is not a dotted key such as 'health.threshold_male'")
        return self


@dataclass(frozen=True)
class Calibration:
    """A loaded, checked calibration: settings, the loaded scenario and targets, and the file's hash."""

    path: Path
    sha256: str
    scenario_path: Path
    loaded: Any                # model.scenario.LoadedScenario (the scenario as written, no overrides)
    targets: Targets
    scale: float
    end: str                   # last simulated month during calibration
    population_size: int
    max_generations: int
    min_epsilon: float
    max_walltime_minutes: float | None
    min_acceptance_rate: float
    transition_scaling: float
    parameters: dict[str, Prior]
    reasons: dict[str, str]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def keys(self) -> list[str]:
        return list(self.parameters)

    def stats(self, role: str = "fit") -> list[Stat]:
        return self.targets.stats(role)

    def replace(self, **changes: Any) -> "Calibration":
        from dataclasses import replace

        return replace(self, **changes)


def _resolve(base: Path, ref: str) -> Path:
    p = Path(os.path.expanduser(ref))
    return p if p.is_absolute() else base / p


def read_settings(path: str | os.PathLike[str], shape: type[BaseModel], *, what: str, example: str, expect: str
                  ) -> tuple[Any, dict[str, int | None], bytes, Path]:
    """A calibration settings file read through the one YAML reader and its shape checked by pydantic: the
    validated model, each key's line, the raw bytes (for the hash) and the file's folder. `expect` names the
    top-level keys for the message when the file is not a mapping."""
    shown = os.fspath(path)
    data, prov, raw = yamlfile.read(path, what=what, example=example)
    if not isinstance(data, dict):
        raise CalibrationError(f"expected a mapping with keys {expect}", shown)
    try:
        f = shape.model_validate(data, strict=True)
    except ValidationError as exc:
        raise yamlfile.from_validation(exc, prov, shown, shape) from None
    return f, {k: line for k, (_, line) in prov.items()}, raw, Path(os.path.expanduser(shown)).resolve().parent


def referenced_file(here: Path, ref: str, shown: str, key: str, lines: dict[str, int | None], what: str) -> Path:
    """A file a settings file names, relative to its folder; CalibrationError at the key's line if missing."""
    p = _resolve(here, ref)
    if not p.is_file():
        raise CalibrationError(f"{what} file {ref!r} not found (looked for {p})", shown, key,
                               lines.get(key, lines.get(key.rsplit(".", 1)[0])))
    return p


def load_calibration(path: str | os.PathLike[str]) -> Calibration:
    """Read and check a calibration file; raise CalibrationError (or model.scenario.ScenarioError for a bad
    scenario) with one line naming the file, key and line."""
    from model.scenario import ScenarioError, apply_overrides, load_scenario

    shown = os.fspath(path)
    f, lines, raw, here = read_settings(path, _File, what="calibration file",
                                        example="scenario: ../scenarios/wigan.yaml",
                                        expect="scenario, targets, simulation, abc, parameters")
    scen_path = referenced_file(here, f.scenario, shown, "scenario", lines, "scenario")
    loaded = load_scenario(scen_path)
    targ_path = referenced_file(here, f.targets, shown, "targets", lines, "targets")
    targets = load_targets(targ_path)
    if not targets.stats("fit"):
        raise CalibrationError(f"{f.targets} has no 'fit' values to calibrate on", shown, "targets", lines.get("targets"))

    # Every free parameter must be a scenario parameter, and both ends of its prior valid values of it.
    for key, par in f.parameters.items():
        where = f"parameters.{key}"
        if key in ("time.end", "time.start"):
            raise CalibrationError("the simulated period cannot be calibrated", shown, where, lines.get(where))
        node: Any = loaded.resolved
        for part in key.split("."):
            node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
        if isinstance(node, dict):
            raise CalibrationError("not a scenario parameter: a section of the scenario, not a single parameter",
                                   shown, where, lines.get(where))
        if node is _MISSING:
            why = "unknown key"
            try:
                apply_overrides(loaded, {key: par.prior.low}, source=shown)
            except ScenarioError as exc:
                why = exc.message
            raise CalibrationError(f"not a scenario parameter: {why}", shown, where, lines.get(where))
        if not isinstance(node, float):
            kind = "a whole number" if isinstance(node, int) and not isinstance(node, bool) else repr(node)
            raise CalibrationError(f"only real-valued parameters can be calibrated (this one is {kind} in the "
                                   "scenario)", shown, where, lines.get(where))
        for bound in (par.prior.low, par.prior.high):
            try:
                apply_overrides(loaded, {key: float(bound)}, source=shown)
            except ScenarioError as exc:
                raise CalibrationError(f"prior {par.prior.describe()}: {exc.message}", shown, where + ".prior",
                                       lines.get(where + ".prior", lines.get(where))) from None

    # The simulated period must reach every fit period.
    t = loaded.scenario.time
    end = f.simulation.end or t.end
    need = needed_end(targets.stats("fit"))
    if month_key(end) < month_key(need):
        raise CalibrationError(f"the run must reach {need} to report every fit target (got {end})", shown,
                               "simulation.end", lines.get("simulation.end"))
    if month_key(end) < month_key(t.start):
        raise CalibrationError(f"ends before the scenario starts ({t.start})", shown, "simulation.end",
                               lines.get("simulation.end"))
    return Calibration(
        path=Path(os.path.expanduser(shown)).resolve(), sha256=hashlib.sha256(raw).hexdigest(),
        scenario_path=scen_path.resolve(), loaded=loaded, targets=targets, scale=float(f.simulation.scale),
        end=end, population_size=f.abc.population_size, max_generations=f.abc.max_generations,
        min_epsilon=float(f.abc.min_epsilon), max_walltime_minutes=(
            None if f.abc.max_walltime_minutes is None else float(f.abc.max_walltime_minutes)),
        min_acceptance_rate=float(f.abc.min_acceptance_rate), transition_scaling=float(f.abc.transition_scaling),
        parameters={k: p.prior for k, p in f.parameters.items()},
        reasons={k: p.reason for k, p in f.parameters.items()},
    )
