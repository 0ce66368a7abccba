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

from pydantic import BaseModel, ConfigDict, ValidationError

from model.outcomes import PERIOD_KINDS, REGISTRY
from model.parameters import Scenario, month_index
from model.scenario import LoadedScenario, ScenarioError, apply_overrides, load_scenario
from model import yamlfile

__all__ = ["SweepError", "Parameter", "Output", "SweepDefinition", "load_sweep", "OUTCOMES", "TIMESERIES",
           "METHODS"]

TOP_KEYS = ("name", "description", "scenario", "set", "parameters", "design", "replicates", "scale", "outputs",
            "retries")


class _SweepFile(BaseModel):
    """The shape of a sweep file, checked by pydantic like every other file (unknown and missing keys, with file,
    key and line); the values are checked below, where each check can say what would be right."""

    model_config = ConfigDict(extra="forbid")
    name: Any = None
    description: Any = None
    scenario: Any
    set: Any = None
    parameters: Any
    design: Any = None
    replicates: Any = None
    scale: Any = None
    outputs: Any
    retries: Any = None


assert tuple(_SweepFile.model_fields) == TOP_KEYS
METHODS = ("grid", "lhs", "sobol", "morris")
ALIASES = {"saltelli": "sobol", "latin": "lhs", "latin_hypercube": "lhs", "full_grid": "grid"}
DESIGN_KEYS = {"grid": ("method",), "lhs": ("method", "samples", "seed"),
               "sobol": ("method", "samples", "seed", "second_order"),
               "morris": ("method", "samples", "seed", "levels")}

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
        _SweepFile.model_validate(data)
    except ValidationError as exc:
        raise yamlfile.from_validation(exc, prov, display, _SweepFile) from None

    name = data.get("name", p.stem)
    if not isinstance(name, str) or not name.strip():
        raise rd.fail("name", f"expected text, got {yamlfile.show(name)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise rd.fail("description", f"expected text, got {yamlfile.show(description)}")

    # Base scenario (relative to the sweep file), then the fixed overrides.
    ref = data["scenario"]
    if not isinstance(ref, str) or not ref.strip():
        raise rd.fail("scenario", f"expected the path of a scenario file, got {yamlfile.show(ref)}")
    spath = Path(os.path.expanduser(ref))
    if not spath.is_absolute():
        spath = p.parent / spath
    if not spath.is_file():
        raise rd.fail("scenario", f"scenario file {ref!r} not found (looked for {os.path.normpath(spath)})")
    try:
        base = load_scenario(spath)
    except ScenarioError as exc:
        raise SweepError(f"the base scenario is invalid: {exc}", display, "scenario", rd.line("scenario")) from None

    fixed = data.get("set") or {}
    if not isinstance(fixed, dict):
        raise rd.fail("set", f"expected dotted keys and values (like 'deal.enabled: true'), got {yamlfile.show(fixed)}")
    for k, v in fixed.items():
        kind, why = _field_kind(k)
        if kind is None:
            raise rd.fail(f"set.{k}", why)
        base = _override(base, {k: v}, rd, f"set.{k}", f"set.{k}")

    # Design.
    design = data.get("design", {"method": "grid"})
    if isinstance(design, str):
        design = {"method": design}
    if not isinstance(design, dict):
        raise rd.fail("design", f"expected a method such as 'design: {{method: grid}}', got {yamlfile.show(design)}")
    method = design.get("method")
    if method is None:
        raise rd.fail("design", "required key 'method' is missing (grid, lhs, sobol or morris)")
    if not isinstance(method, str) or ALIASES.get(method.lower(), method.lower()) not in METHODS:
        raise rd.fail("design.method", f"expected one of {', '.join(METHODS)}, got {yamlfile.show(method)}")
    method = ALIASES.get(method.lower(), method.lower())
    for k in design:
        if k not in DESIGN_KEYS[method]:
            raise rd.fail(f"design.{k}", f"unknown key {k!r} for a {method} design (allowed: {', '.join(DESIGN_KEYS[method])})")
    samples = design.get("samples")
    if method != "grid":
        if samples is None:
            what = {"lhs": "the number of points", "sobol": "the base sample size N (runs N x (parameters + 2))",
                    "morris": "the number of trajectories"}[method]
            raise rd.fail("design", f"a {method} design needs 'samples': {what}")
        if not isinstance(samples, int) or isinstance(samples, bool) or not 2 <= samples <= 1_000_000:
            raise rd.fail("design.samples", f"expected a whole number from 2 to 1000000, got {yamlfile.show(samples)}")
        if method == "sobol" and samples & (samples - 1):
            raise rd.fail("design.samples", f"a sobol design needs a power of 2 (such as 64 or 128), got {samples}")
    seed = design.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise rd.fail("design.seed", f"expected a whole number from 0 to 4294967295, got {yamlfile.show(seed)}")
    second = design.get("second_order", False)
    if not isinstance(second, bool):
        raise rd.fail("design.second_order", f"expected true or false, got {yamlfile.show(second)}")
    mlevels = design.get("levels", 4)
    if not isinstance(mlevels, int) or isinstance(mlevels, bool) or mlevels < 2 or mlevels % 2:
        raise rd.fail("design.levels", f"expected an even whole number of at least 2 (Morris grid levels), got {yamlfile.show(mlevels)}")

    # Parameters.
    params_in = data["parameters"]
    if not isinstance(params_in, dict) or not params_in:
        raise rd.fail("parameters", "expected one or more dotted parameter keys with their levels or range, "
                                    "like 'deal.fidelity: [0.5, 1.0]'")
    parameters: list[Parameter] = []
    for key, spec in params_in.items():
        pkey = f"parameters.{key}"
        kind, why = _field_kind(key)
        if kind is None:
            raise rd.fail(pkey, why)
        if key in fixed:
            raise rd.fail(pkey, f"{key!r} is also fixed under 'set'; keep it in one place")
        if isinstance(spec, list):
            spec = {"levels": spec}
        if not isinstance(spec, dict):
            raise rd.fail(pkey, f"expected a list of levels or a mapping with 'levels' or 'range', got {yamlfile.show(spec)}")
        for k in spec:
            if k not in ("levels", "range", "n"):
                raise rd.fail(f"{pkey}.{k}", f"unknown key {k!r} (allowed: levels, range, n)")
        if ("levels" in spec) == ("range" in spec):
            raise rd.fail(pkey, "give either 'levels: [...]' or 'range: [low, high]'")
        if "levels" in spec:
            levels = spec["levels"]
            if "n" in spec:
                raise rd.fail(f"{pkey}.n", "'n' goes with 'range', not with 'levels'")
            if method != "grid":
                raise rd.fail(pkey, f"a {method} design samples each parameter from a range: write 'range: [low, high]'")
            if not isinstance(levels, list) or not levels:
                raise rd.fail(f"{pkey}.levels", f"expected a non-empty list of values, got {yamlfile.show(levels)}")
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
        rng = spec["range"]
        if kind not in ("float", "int"):
            raise rd.fail(f"{pkey}.range", f"a range needs a number parameter; {key!r} is {'true/false' if kind == 'bool' else 'text'}: give 'levels'")
        if not (isinstance(rng, list) and len(rng) == 2 and all(_is_num(x) and math.isfinite(x) for x in rng)):
            raise rd.fail(f"{pkey}.range", f"expected [low, high], two numbers, got {yamlfile.show(rng)}")
        lo, hi = rng
        if kind == "int" and not all(float(x).is_integer() for x in rng):
            raise rd.fail(f"{pkey}.range", f"{key!r} is a whole number: expected whole-number bounds, got {rng}")
        if not lo < hi:
            raise rd.fail(f"{pkey}.range", f"low must be below high, got [{lo}, {hi}]")
        for x in (lo, hi):
            _override(base, {key: int(x) if kind == "int" else float(x)}, rd, pkey, f"{pkey}.range")
        if method == "grid":
            n = spec.get("n")
            if n is None:
                raise rd.fail(pkey, "a grid needs levels: write 'levels: [...]', or 'range: [low, high]' with 'n: K' evenly spaced levels")
            if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= 10_000:
                raise rd.fail(f"{pkey}.n", f"expected a whole number of levels from 2 to 10000, got {yamlfile.show(n)}")
            vals = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
            levels = [int(round(v)) for v in vals] if kind == "int" else [float(v) for v in vals]
            if len(set(levels)) < len(levels):
                raise rd.fail(f"{pkey}.n", f"{n} whole-number levels do not fit in [{lo}, {hi}]")
            parameters.append(Parameter(key, kind, levels=tuple(levels)))
        else:
            if "n" in spec:
                raise rd.fail(f"{pkey}.n", f"'n' is for grid designs; a {method} design sets its size with design.samples")
            parameters.append(Parameter(key, kind, low=float(lo), high=float(hi)))
    if method == "sobol" and len(parameters) < 2:
        raise rd.fail("parameters", "a sobol design needs at least 2 parameters")

    # Replicates, scale, outputs, retries.
    reps = data.get("replicates", 1)
    if not isinstance(reps, int) or isinstance(reps, bool) or not 1 <= reps <= 10_000:
        raise rd.fail("replicates", f"expected a whole number of seeds per point from 1 to 10000, got {yamlfile.show(reps)}")
    scale = data.get("scale", 1.0)
    if not _is_num(scale) or not math.isfinite(scale) or not 0 < scale <= 1:
        raise rd.fail("scale", f"must be above 0 and at most 1 (the share of the borough simulated), got {yamlfile.show(scale)}")
    retries = data.get("retries", 2)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 20:
        raise rd.fail("retries", f"expected a whole number from 0 to 20, got {yamlfile.show(retries)}")
    outs_in = data["outputs"]
    if not isinstance(outs_in, list) or not outs_in:
        raise rd.fail("outputs", "expected a list such as ['hle_male@2017-19', 'good_health_share@final']")
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

    return SweepDefinition(
        path=p.resolve(), name=name.strip(), description=description, base=base, fixed=dict(fixed),
        parameters=tuple(parameters), method=method, samples=samples if method != "grid" else None,
        design_seed=seed, second_order=second, morris_levels=mlevels, replicates=reps, scale=float(scale),
        outputs=tuple(outputs), retries=retries, text=text)
