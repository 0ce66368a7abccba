"""Sweep files: what to vary, how, how many times, at what scale, and which outputs to keep.

A sweep file is YAML, read with the scenario loader's safe reader (no object tags, no duplicate keys, the
line of every key kept), and validated in full before anything runs::

    name: deal_levers
    scenario: ../scenarios/wigan.yaml     # the base scenario, relative to this file
    set:                                  # optional: fixed overrides for every run
      deal.enabled: true
    parameters:                           # dotted key paths into the scenario, any parameter
      deal.fidelity: [0.25, 0.5, 0.75, 1.0]         # levels (grid)
      deal.fund_gbp_m: {levels: [0.0, 5.0, 10.0]}   # the same, long form
      health.w_connectedness: {range: [0.2, 0.8]}   # a range (lhs, sobol, morris; grid with n: K)
    design: {method: grid}                # grid | lhs | sobol (alias saltelli) | morris
    replicates: 3                         # seeds per design point
    scale: 0.05
    outputs:
      - hle_male@2017-19                  # an outcome of DealModel.outcomes() at a period
      - good_health_share@final           # the last month of a DealModel.timeseries() column
    retries: 2                            # extra attempts for a run that raises

Every problem is a :class:`SweepError` (a :class:`model.scenario.ScenarioError`), one line naming the
file, the key and the line: ``sweeps/x.yaml:9: parameters.deal.fidelity: must be at most 1 (got 1.5)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from model.outcomes import PERIOD_KINDS, REGISTRY
from model.parameters import Scenario, month_index
from model.scenario import LoadedScenario, ScenarioError, apply_overrides, load_scenario
from model import yamlfile

__all__ = ["SweepError", "Parameter", "Output", "SweepDefinition", "load_sweep", "OUTCOMES", "TIMESERIES",
           "METHODS"]

TOP_KEYS = ("name", "description", "scenario", "set", "parameters", "design", "replicates", "scale", "outputs",
            "retries")


METHODS = ("grid", "lhs", "sobol", "morris")
ALIASES = {"saltelli": "sobol", "latin": "lhs", "latin_hypercube": "lhs", "full_grid": "grid"}
DESIGN_KEYS = {"grid": ("method",), "lhs": ("method", "samples", "seed"),
               "sobol": ("method", "samples", "seed", "second_order"),
               "morris": ("method", "samples", "seed", "levels")}
_STRICT = ConfigDict(extra="forbid", strict=True)


class _Design(BaseModel):
    """design: the method and its settings (which settings a method takes is checked too)."""

    model_config = _STRICT
    method: str
    samples: int | None = Field(None, ge=2, le=1_000_000)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    second_order: bool = False
    levels: int = Field(4, ge=2)

    @field_validator("method")
    @classmethod
    def _known(cls, v: str) -> str:
        m = ALIASES.get(v.lower(), v.lower())
        if m not in METHODS:
            raise ValueError(f"expected one of {', '.join(METHODS)}, got {yamlfile.show(v)}")
        return m

    @field_validator("levels")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"expected an even whole number of at least 2 (Morris grid levels), got {v}")
        return v

    @field_validator("samples", "seed", "second_order", "levels")
    @classmethod
    def _fits_the_method(cls, v: Any, info: ValidationInfo) -> Any:
        m = info.data.get("method")
        if m is None:
            return v
        if info.field_name not in DESIGN_KEYS[m]:
            raise ValueError(f"unknown key {info.field_name!r} for a {m} design (allowed: {', '.join(DESIGN_KEYS[m])})")
        if info.field_name == "samples" and m == "sobol" and v & (v - 1):
            raise ValueError(f"a sobol design needs a power of 2 (such as 64 or 128), got {v}")
        return v

    @model_validator(mode="after")
    def _sized(self) -> "_Design":
        if self.method != "grid" and self.samples is None:
            what = {"lhs": "the number of points", "sobol": "the base sample size N (runs N x (parameters + 2))",
                    "morris": "the number of trajectories"}[self.method]
            raise ValueError(f"a {self.method} design needs 'samples': {what}")
        return self


class _Levels(BaseModel):
    """One swept parameter: its levels (a grid), or a range (sampled; a grid with n evenly spaced levels)."""

    model_config = _STRICT
    levels: list[Any] | None = Field(None, min_length=1)
    range: list[float] | None = Field(None, min_length=2, max_length=2)
    n: int | None = Field(None, ge=2, le=10_000)

    @field_validator("range")
    @classmethod
    def _ordered(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not all(math.isfinite(x) for x in v):
            raise ValueError(f"expected [low, high], two finite numbers, got {v}")
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"low must be below high, got [{yamlfile.number_text(v[0])}, {yamlfile.number_text(v[1])}]")
        return v

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, v: Any) -> Any:
        return {"levels": v} if isinstance(v, list) else v

    @model_validator(mode="after")
    def _one_of(self) -> "_Levels":
        if (self.levels is None) == (self.range is None):
            raise ValueError("give either 'levels: [...]' or 'range: [low, high]'")
        if self.levels is not None and self.n is not None:
            raise ValueError("'n' goes with 'range', not with 'levels'")
        return self


class _SweepFile(BaseModel):
    """A sweep file, checked by pydantic like every other file (unknown and missing keys, types and ranges, with
    file, key and line); what depends on the base scenario (which parameters exist, what each accepts, which
    periods it reports) is checked after, in `load_sweep`."""

    model_config = _STRICT
    name: str | None = Field(None, min_length=1)
    description: str = ""
    scenario: str = Field(min_length=1)
    set: dict[str, Any] = {}
    parameters: dict[str, _Levels] = Field(min_length=1)
    design: _Design = _Design(method="grid")
    replicates: int = Field(1, ge=1, le=10_000)
    scale: float = Field(1.0, gt=0, le=1)
    outputs: list[str] = Field(min_length=1)
    retries: int = Field(2, ge=0, le=20)

    @field_validator("design", mode="before")
    @classmethod
    def _method_alone(cls, v: Any) -> Any:
        return {"method": v} if isinstance(v, str) else v


assert tuple(_SweepFile.model_fields) == TOP_KEYS

# The outcomes of DealModel.outcomes() and the kind of period each is reported by (the outcome registry's).
OUTCOMES: dict[str, str] = {n: o.period for n, o in REGISTRY.items()}
# The numeric columns of DealModel.timeseries() (the month label is not an output).
TIMESERIES: tuple[str, ...] = (
    "population", "population_65_plus", "births", "deaths", "net_migrants", "good_health_share", "mean_frailty",
    "connectedness_mean", "isolated_share", "volunteer_share_adults", "group_members", "trust_mean",
    "staff_practitioners", "staff_strengths_based_share", "staff_trained_share", "staff_morale", "staff_autonomy",
    "caseload_pressure", "community_groups", "community_capacity", "front_door_contacts",
    "strengths_based_conversations", "path_care_home", "path_home_care", "path_reablement", "path_community",
    "path_advice", "home_care_clients", "care_home_residents", "care_home_admissions_65_funded",
    "hospital_admissions", "hospital_discharges_onward", "delayed_bed_days", "delayed_beds_per_day_per_100k_18plus",
    "reablement_starts", "care_quality", "lever_practice", "lever_citizen", "lever_community", "lever_integration",
    "tax_frozen", "spend_staff_gbp_m", "spend_home_care_gbp_m", "spend_care_homes_gbp_m", "spend_reablement_gbp_m",
    "spend_community_fund_gbp_m", "spend_care_home_fund_gbp_m", "spend_training_gbp_m", "spend_other_gbp_m",
    "budget_gbp_m", "spend_total_gbp_m", "overspend_gbp_m", "savings_gbp_m", "council_tax_gbp_m",
    "other_services_cut", "workforce", "hle_male", "hle_female", "hle_male_true", "hle_female_true",
)


SweepError = ScenarioError  # the one error type of user files (model/yamlfile.py): one line naming file, key, line


# ---------------------------------------------------------------------------------------------
# The resolved definition
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parameter:
    """One varied parameter: its dotted key, value kind, and levels (grid) or range (sampled designs)."""

    key: str
    kind: str  # "float" | "int" | "bool" | "str"
    levels: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "kind": self.kind}
        if self.levels is not None:
            out["levels"] = list(self.levels)
        if self.low is not None:
            out["range"] = [self.low, self.high]
        return out

    def cast(self, x: float) -> Any:
        """A sampled number as the parameter's type (whole numbers are rounded)."""
        return int(round(x)) if self.kind == "int" else float(x)


@dataclass(frozen=True)
class Output:
    """An output kept for every run: an outcome at a period, or a timeseries column's final value."""

    name: str
    period: str  # a period label, or "final"

    @property
    def column(self) -> str:
        return f"{self.name}@{self.period}"

    @property
    def is_final(self) -> bool:
        return self.period == "final"


@dataclass(frozen=True)
class SweepDefinition:
    path: Path
    name: str
    description: str
    base: LoadedScenario  # the base scenario with ``set`` applied
    fixed: dict[str, Any]
    parameters: tuple[Parameter, ...]
    method: str
    samples: int | None
    design_seed: int
    second_order: bool
    morris_levels: int
    replicates: int
    scale: float
    outputs: tuple[Output, ...]
    retries: int
    text: str = field(default="", repr=False, compare=False)

    @property
    def base_dir(self) -> Path:
        return self.base.path.parent

    def record(self) -> dict[str, Any]:
        """Everything that decides the runs and their results, as plain JSON data."""
        return {
            "name": self.name,
            "scenario": {"file": str(self.base.path), "name": self.base.scenario.name, "sha256": self.base.sha256},
            "set": dict(self.fixed),
            "parameters": [p.record() for p in self.parameters],
            "design": {"method": self.method, "samples": self.samples, "seed": self.design_seed,
                       "second_order": self.second_order, "levels": self.morris_levels},
            "replicates": self.replicates,
            "scale": self.scale,
            "outputs": [o.column for o in self.outputs],
        }

    @property
    def sha256(self) -> str:
        """Hash of :meth:`record` without the file name: two sweeps with the same hash give the same dataset."""
        rec = self.record()
        rec["scenario"] = {k: v for k, v in rec["scenario"].items() if k != "file"}
        rec.pop("name")
        text = json.dumps(rec, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, display: str, prov: dict[str, tuple[str, int | None]]):
        self.display = display
        self.prov = prov

    def line(self, key: str) -> int | None:
        while key:
            hit = self.prov.get(key)
            if hit is not None:
                return hit[1]
            key = key.rsplit(".", 1)[0] if "." in key else ""
        return None

    def fail(self, key: str, message: str, line_key: str | None = None) -> SweepError:
        return SweepError(message, self.display, key, self.line(line_key if line_key is not None else key))


def _read(path: Path, display: str) -> tuple[dict, dict, str]:
    data, prov, raw = yamlfile.read(path, display, what="sweep file", example="scenario: ../scenarios/wigan.yaml")
    return data, prov, raw.decode("utf-8-sig")


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _field_kind(key: str) -> tuple[str | None, str]:
    """('float'|'int'|'bool'|'str', '') for a scenario parameter, or (None, why not)."""
    parts = key.split(".")
    cls: type[BaseModel] = Scenario
    for i, part in enumerate(parts):
        f = cls.model_fields.get(part)
        if f is None:
            where = ".".join(parts[:i]) or "the scenario"
            allowed = ", ".join(cls.model_fields)
            return None, f"unknown parameter {part!r} in {where} (allowed: {allowed})"
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if i == len(parts) - 1:
                return None, f"{key!r} is a section; name one of its parameters, such as '{key}.{next(iter(ann.model_fields))}'"
            cls = ann
            continue
        if i < len(parts) - 1:
            return None, f"{'.'.join(parts[:i + 1])!r} is a single value, not a section"
        if typing.get_origin(ann) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[0] if len(args) == 1 else ann
        if ann is bool:
            return "bool", ""
        if ann is int:
            return "int", ""
        if ann is float:
            return "float", ""
        if ann is str:
            return "str", ""
        return None, f"{key!r} is a list or compound value and cannot be swept; sweep a single-valued parameter"
    return None, "expected a dotted parameter key such as 'deal.fidelity'"  # pragma: no cover


def _periods(base: LoadedScenario) -> dict[str, list[str]]:
    """Every period label the base scenario's time span can report, by kind."""
    from model.calendar import fy_label
    from model.observation import three_year_label

    t = base.scenario.time
    a, b = month_index(t.start), month_index(t.end)
    full_years = [y for y in range(a // 12, b // 12 + 1) if a <= y * 12 and y * 12 + 11 <= b]
    fys = [y for y in range(a // 12 - 1, b // 12 + 1) if a <= y * 12 + 3 and y * 12 + 14 <= b]
    return {"three_year": [three_year_label(y) for y in full_years if y + 2 in full_years],
            "financial_year": [fy_label(y) for y in fys],
            "year": [str(y) for y in range(a // 12, b // 12 + 1)]}


def _override(base: LoadedScenario, values: dict[str, Any], rd: _Reader, report_key: str, line_key: str) -> LoadedScenario:
    """Apply one override to check it; a refusal is reported at the sweep file's key and line."""
    try:
        return apply_overrides(base, values, source=rd.display)
    except ScenarioError as exc:
        (k, v), = values.items()
        msg = exc.message if exc.key in ("", k) else f"with {k} = {yamlfile.show(v)}: {exc.key}: {exc.message}"
        raise SweepError(msg, rd.display, report_key, rd.line(line_key)) from None


def load_sweep(path: str | os.PathLike[str]) -> SweepDefinition:
    """Read and validate a sweep file; raise :class:`SweepError` (one line, with file, key and line)."""
    display = os.fspath(path)
    p = Path(os.path.expanduser(display))
    data, prov, text = _read(p, display)
    rd = _Reader(display, prov)

    try:
        f = _SweepFile.model_validate(data)
    except ValidationError as exc:
        raise yamlfile.from_validation(exc, prov, display, _SweepFile) from None
    name = (f.name or p.stem).strip()

    # Base scenario (relative to the sweep file), then the fixed overrides.
    spath = Path(os.path.expanduser(f.scenario))
    if not spath.is_absolute():
        spath = p.parent / spath
    if not spath.is_file():
        raise rd.fail("scenario", f"scenario file {f.scenario!r} not found (looked for {os.path.normpath(spath)})")
    try:
        base = load_scenario(spath)
    except ScenarioError as exc:
        raise SweepError(f"the base scenario is invalid: {exc}", display, "scenario", rd.line("scenario")) from None
    for k, v in f.set.items():
        kind, why = _field_kind(k)
        if kind is None:
            raise rd.fail(f"set.{k}", why)
        base = _override(base, {k: v}, rd, f"set.{k}", f"set.{k}")

    # Parameters: what each one accepts is the scenario's (its schema, through an override of the base).
    method = f.design.method
    parameters: list[Parameter] = []
    for key, spec in f.parameters.items():
        pkey = f"parameters.{key}"
        kind, why = _field_kind(key)
        if kind is None:
            raise rd.fail(pkey, why)
        if key in f.set:
            raise rd.fail(pkey, f"{key!r} is also fixed under 'set'; keep it in one place")
        if spec.levels is not None:
            if method != "grid":
                raise rd.fail(pkey, f"a {method} design samples each parameter from a range: write 'range: [low, high]'")
            levels = spec.levels
            if kind == "float":  # whole numbers written for a number parameter are numbers
                levels = [float(v) if _is_num(v) else v for v in levels]
            seen: list[Any] = []
            for i, v in enumerate(levels):
                lk = next((c for c in (f"{pkey}.levels[{i}]", f"{pkey}[{i}]") if c in prov), pkey)
                if any(v == w and type(v) is type(w) for w in seen):
                    raise SweepError(f"level {yamlfile.show(v)} is given twice", display, pkey, rd.line(lk))
                seen.append(v)
                _override(base, {key: v}, rd, pkey, lk)
            parameters.append(Parameter(key, kind, levels=tuple(levels)))
            continue
        assert spec.range is not None
        lo, hi = spec.range
        if kind not in ("float", "int"):
            raise rd.fail(f"{pkey}.range", f"a range needs a number parameter; {key!r} is {'true/false' if kind == 'bool' else 'text'}: give 'levels'")
        if kind == "int" and not all(float(x).is_integer() for x in spec.range):
            raise rd.fail(f"{pkey}.range", f"{key!r} is a whole number: expected whole-number bounds, got {spec.range}")
        for x in (lo, hi):
            _override(base, {key: int(x) if kind == "int" else float(x)}, rd, pkey, f"{pkey}.range")
        if method == "grid":
            n = spec.n
            if n is None:
                raise rd.fail(pkey, "a grid needs levels: write 'levels: [...]', or 'range: [low, high]' with 'n: K' evenly spaced levels")
            vals = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
            levels = [int(round(v)) for v in vals] if kind == "int" else [float(v) for v in vals]
            if len(set(levels)) < len(levels):
                raise rd.fail(f"{pkey}.n", f"{n} whole-number levels do not fit in [{yamlfile.number_text(lo)}, {yamlfile.number_text(hi)}]")
            parameters.append(Parameter(key, kind, levels=tuple(levels)))
        else:
            if spec.n is not None:
                raise rd.fail(f"{pkey}.n", f"'n' is for grid designs; a {method} design sets its size with design.samples")
            parameters.append(Parameter(key, kind, low=float(lo), high=float(hi)))
    if method == "sobol" and len(parameters) < 2:
        raise rd.fail("parameters", "a sobol design needs at least 2 parameters")

    # Outputs: each an outcome at a period the base scenario reports, or a monthly column's last value.
    outs_in = f.outputs
    periods = _periods(base)
    outputs: list[Output] = []
    for i, item in enumerate(outs_in):
        okey = f"outputs[{i}]"
        if not isinstance(item, str) or item.count("@") != 1:
            raise SweepError(f"expected NAME@PERIOD (an outcome at a period, such as hle_male@2017-19) or "
                             f"NAME@final (a monthly column's last value), got {yamlfile.show(item)}", display, okey, rd.line(okey))
        nm, per = (s.strip() for s in item.split("@"))
        if per == "final":
            if nm not in TIMESERIES:
                import difflib

                guess = difflib.get_close_matches(nm, TIMESERIES, n=1, cutoff=0.6)
                hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                raise SweepError(f"{nm!r} is not a monthly column{hint}; the columns are listed in model/measures "
                                 f"(e.g. good_health_share, care_home_residents, spend_total_gbp_m)", display, okey, rd.line(okey))
        else:
            if nm not in OUTCOMES:
                import difflib

                guess = difflib.get_close_matches(nm, list(OUTCOMES) + list(TIMESERIES), n=1, cutoff=0.6)
                hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                raise SweepError(f"{nm!r} is not an outcome{hint}; outcomes: {', '.join(OUTCOMES)}; "
                                 f"or use NAME@final for a monthly column", display, okey, rd.line(okey))
            kind = OUTCOMES[nm]
            if per not in periods[kind]:
                have = periods[kind]
                span = f"from {have[0]} to {have[-1]}" if have else "none in this scenario's time span"
                raise SweepError(f"{nm} is reported by period, each {PERIOD_KINDS[kind]}; {per!r} is not one of them "
                                 f"({span})", display, okey, rd.line(okey))
        o = Output(nm, per)
        if o in outputs:
            raise SweepError(f"output {o.column!r} is listed twice", display, okey, rd.line(okey))
        outputs.append(o)

    d = f.design
    return SweepDefinition(
        path=p.resolve(), name=name, description=f.description, base=base, fixed=dict(f.set),
        parameters=tuple(parameters), method=method, samples=d.samples if method != "grid" else None,
        design_seed=d.seed, second_order=d.second_order, morris_levels=d.levels, replicates=f.replicates,
        scale=float(f.scale), outputs=tuple(outputs), retries=f.retries, text=text)
