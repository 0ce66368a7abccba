"""Calibration targets: Wigan's observed series, each with its observation model, noise and fit/holdout split.

A targets file (``calibration/targets/wigan.yaml``) lists targets; each names the model outcome it is compared
with (a key of ``DealModel.outcomes()``), how the statistic is formed from it (``measure``), the observation
noise ``sd`` of the published figure, and its observed values by period for the two roles::

    targets:
      - name: care_home_admissions_fit_mean
        outcome: care_home_admissions_65plus_per_100k
        source: ASCOF_LGI
        unit: per 100,000 aged 65+
        measure: mean            # value: one statistic per period; mean: one statistic, the mean over the periods
        sd: 60.0
        fit:     {2014/15: 792.6, 2015/16: 714.2, 2016/17: 616.4, 2017/18: 692.6}
        holdout: {2018/19: 378.4}

Loading validates everything (unknown keys, unknown outcomes, period labels of the wrong kind, a period in both
roles, duplicate names) and reports problems as one line naming the file, key and line.

A *statistic* (:class:`Stat`) is what the calibration compares: for ``measure: value`` one per period, named
``"{target}[{period}]"``; for ``measure: mean`` one per role, named ``"{target}[mean {first}..{last}]"``.
:func:`simulated` computes them from a run's outcomes (NaN when a period is missing), :func:`distance` is the
weighted Euclidean distance used by the ABC (each difference divided by the target's ``sd``).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from model import yamlfile
from model.yamlfile import InputError as CalibrationError
from model.outcomes import PERIOD_KINDS, REGISTRY, period_end_month, period_ok

__all__ = [
    "OUTCOMES", "ROLES", "Stat", "Target", "Targets", "CalibrationError",
    "load_targets", "simulated", "observed", "sds", "distance", "period_end_month", "needed_end",
]

ROLES = ("fit", "holdout")

#: Model outcomes that can be targets: the registry's, except the survey's standard errors and the true-prevalence
#: HLE (no published series measures them).
OUTCOMES: dict[str, str] = {n: o.period for n, o in REGISTRY.items() if not n.endswith(("_se", "_true"))}


# ---------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Series = dict[str, float]


class Target(_Strict):
    """One observed series and its observation model."""

    name: str = Field(min_length=1)
    outcome: str
    source: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    measure: Literal["value", "mean"]
    sd: float = Field(gt=0, allow_inf_nan=False)
    fit: Series | None = None
    holdout: Series | None = None
    note: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", v):
            raise ValueError(f"a target name is letters, digits and underscores, starting with a letter (got {v!r})")
        return v

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, v: str) -> str:
        if v not in OUTCOMES:
            import difflib

            guess = difflib.get_close_matches(v, list(OUTCOMES), n=1, cutoff=0.6)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            raise ValueError(f"unknown model outcome {v!r} ({hint}known: {', '.join(OUTCOMES)})")
        return v

    @field_validator("fit", "holdout", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        # A year written without quotes (2017: 0.55) is read by YAML as a number: accept it as the label '2017'.
        if isinstance(v, dict):
            return {(str(k) if isinstance(k, int) and not isinstance(k, bool) else k): x for k, x in v.items()}
        return v

    @field_validator("fit", "holdout")
    @classmethod
    def _values(cls, v: Series | None) -> Series | None:
        if v is not None:
            if not v:
                raise ValueError("no periods given (leave the role out instead)")
            for k, x in v.items():
                if not math.isfinite(x):
                    raise ValueError(f"period {k!r}: the observed value must be a finite number")
        return v

    @model_validator(mode="after")
    def _periods(self) -> "Target":
        kind = OUTCOMES[self.outcome]
        for role in ROLES:
            for p in (getattr(self, role) or {}):
                if not period_ok(kind, p):
                    raise ValueError(f"{role}: period {p!r} is not {PERIOD_KINDS[kind]}, as {self.outcome} is reported")
        if not self.fit and not self.holdout:
            raise ValueError("give observed values for 'fit', 'holdout' or both")
        both = sorted(set(self.fit or {}) & set(self.holdout or {}))
        if both:
            raise ValueError(f"period {both[0]!r} is in both 'fit' and 'holdout'")
        return self

    def periods(self, role: str) -> list[str]:
        return list(getattr(self, role) or {})


class _File(_Strict):
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "_File":
        seen: set[str] = set()
        for t in self.targets:
            if t.name in seen:
                raise ValueError(f"two targets are named {t.name!r}")
            seen.add(t.name)
        return self


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stat:
    """One compared statistic: a target's value in one period, or its mean over the role's periods."""

    name: str
    target: str
    role: str
    outcome: str
    measure: str
    periods: tuple[str, ...]
    observed: float
    sd: float
    unit: str
    source: str

    @property
    def label(self) -> str:
        """The period as shown in tables: '2009-11' or 'mean 2014/15-2017/18'."""
        if self.measure == "value":
            return self.periods[0]
        return f"mean {self.periods[0]}..{self.periods[-1]}" if len(self.periods) > 1 else f"mean {self.periods[0]}"


@dataclass(frozen=True)
class Targets:
    """The loaded targets file: its targets, path and SHA-256 (of the file's bytes)."""

    path: Path
    sha256: str
    targets: tuple[Target, ...]

    def __iter__(self):
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)

    def names(self) -> list[str]:
        return [t.name for t in self.targets]

    def get(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)

    def stats(self, role: str = "fit") -> list[Stat]:
        """The statistics of a role ('fit', 'holdout' or 'all': fit then holdout), in file order."""
        if role == "all":
            return self.stats("fit") + self.stats("holdout")
        if role not in ROLES:
            raise ValueError(f"role must be 'fit', 'holdout' or 'all', got {role!r}")
        out: list[Stat] = []
        for t in self.targets:
            series = getattr(t, role) or {}
            if not series:
                continue
            common = dict(target=t.name, role=role, outcome=t.outcome, measure=t.measure, sd=float(t.sd),
                          unit=t.unit, source=t.source)
            if t.measure == "value":
                for p, v in series.items():
                    out.append(Stat(name=f"{t.name}[{p}]", periods=(p,), observed=float(v), **common))
            else:
                ps = tuple(series)
                span = f"{ps[0]}..{ps[-1]}" if len(ps) > 1 else ps[0]
                out.append(Stat(name=f"{t.name}[mean {span}]", periods=ps,
                                observed=float(np.mean([series[p] for p in ps])), **common))
        return out

    def end_month(self, role: str = "fit") -> str:
        """The last month a run must reach to report every statistic of ``role`` ('fit', 'holdout', 'all')."""
        return needed_end(self.stats(role))


def needed_end(stats: Sequence[Stat]) -> str:
    months = [period_end_month(s.outcome, p) for s in stats for p in s.periods]
    return max(months, key=lambda m: (int(m[:4]), int(m[5:]))) if months else "2009-01"


def load_targets(path: str | os.PathLike[str]) -> Targets:
    """Read and validate a targets file; raise CalibrationError (file, key, line, message) on any problem."""
    shown = os.fspath(path)
    data, prov, raw = yamlfile.read(path, what="targets file", example="targets:")
    if not isinstance(data, dict):
        raise CalibrationError("expected a mapping with the key 'targets' (a list of targets)", shown)
    try:
        parsed = _File.model_validate(data, strict=True)
    except ValidationError as exc:
        err = yamlfile.from_validation(exc, prov, shown, _File)
        # Name the target as well as its index: 'targets[4] (care_quality).measure'.
        m = re.match(r"^targets\[(\d+)\](.*)$", err.key)
        raw_list = data.get("targets") if isinstance(data.get("targets"), list) else []
        if m and int(m.group(1)) < len(raw_list) and isinstance(raw_list[int(m.group(1))], dict):
            name = raw_list[int(m.group(1))].get("name")
            if isinstance(name, str):
                err = CalibrationError(err.message, err.file, f"targets[{m.group(1)}] ({name}){m.group(2)}", err.line)
        raise err from None
    return Targets(path=Path(os.path.expanduser(shown)).resolve(), sha256=hashlib.sha256(raw).hexdigest(),
                   targets=tuple(parsed.targets))


# ---------------------------------------------------------------------------------------------
# Observation model and distance
# ---------------------------------------------------------------------------------------------
def simulated(outcomes: Mapping[str, Mapping[str, float]], stats: Sequence[Stat]) -> dict[str, float]:
    """The simulated value of each statistic from a run's ``outcomes()``; NaN if a period is missing."""
    out: dict[str, float] = {}
    for s in stats:
        series = outcomes.get(s.outcome) or {}
        vals = [series.get(p) for p in s.periods]
        if any(v is None for v in vals):
            out[s.name] = math.nan
            continue
        x = [float(v) for v in vals]  # type: ignore[arg-type]
        if not all(math.isfinite(v) for v in x):
            out[s.name] = math.nan
        else:
            out[s.name] = x[0] if s.measure == "value" else float(np.mean(x))
    return out


def observed(stats: Sequence[Stat]) -> dict[str, float]:
    return {s.name: s.observed for s in stats}


def sds(stats: Sequence[Stat]) -> dict[str, float]:
    return {s.name: s.sd for s in stats}


def distance(sim: Mapping[str, float], obs: Mapping[str, float], sd: Mapping[str, float]) -> float:
    """Weighted Euclidean distance: sqrt(sum(((sim - obs) / sd)^2)) over the statistics in ``sd``.

    A statistic that is missing from ``sim`` or not finite (a period the run did not report) makes the
    distance infinite, so such a run is never accepted.
    """
    total = 0.0
    for name, s in sd.items():
        x = sim.get(name)
        if x is None:
            return math.inf
        x = float(x)
        if not math.isfinite(x):
            return math.inf
        z = (x - float(obs[name])) / s
        total += z * z
    return math.sqrt(total)
