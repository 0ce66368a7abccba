"""Council scenarios: another council's own context turned into a model scenario.

A council file (``scenarios/councils/*.yaml``, documented in ``scenarios/councils/TEMPLATE.yaml``) is an ordinary
scenario that ``extends`` the Wigan Deal scenario (the Deal's mechanisms and its adoption plan) and states the
council's context in scenario keys (``population.total``, ``population.share_65_plus``, deprivation,
``context.greater_manchester``, finance, workforce, community sector, ``deal.*``), plus one extra top-level
section, ``council:``, for inputs the model does not take directly::

    council:
      display_name: St Helens
      ons_code: E08000013
      baseline_hle: {male: 60.9, female: 61.3}   # ONS healthy life expectancy at birth, first 3-year period
      baseline_le: {male: 77.0, female: 80.9}    # optional: ONS life expectancy at birth, same period

:func:`load_council` strips the ``council:`` section (validated here, unknown keys refused, errors as
``file:line: key: message`` like every scenario error), fills in the inputs the council did not give, and
validates the rest with the scenario loader's own machinery, so a council file's errors read exactly like a
scenario's.

**Defaults.** An input the council file does not set is a *default*, and :attr:`Council.baseline` marks it so:
money and headcount (``finance.baseline_budget_gbp_m``, ``finance.savings_required_gbp_m``,
``finance.council_tax_gbp_m``, ``finance.workforce_baseline``, and the Deal's ``deal.fund_gbp_m`` and
``deal.care_home_fund_gbp_m``) default to Wigan's value per resident times the council's population; rates (staff and groups per 1,000 residents, births, migration) and the Deal's adoption
plan default to Wigan's values; an age table defaults to Wigan's 2011 shape reweighted to the council's total
and share aged 65+ (``residents.synthetic_age_table``).

**Baseline health.** The model's healthy life expectancy (HLE) is set by the good-health thresholds
``health.threshold_male/female`` and its life expectancy (LE) by ``mortality.modal_age_male/female``. A
council's baseline HLE (and LE, if given) is matched by the assessment (``assess/assessment.py``,
:func:`assess.assessment.match_baseline`): additive offsets to those parameters found by a short secant search
on quick runs (baseline period only, large survey), applied on top of every posterior draw, so each draw keeps
its own (Wigan-calibrated) spread around the council's level. Without a baseline LE the mortality parameters
stay Wigan's (a stated default).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from model import scenario as S
from model import yamlfile
from model.parameters import Scenario, month_index

__all__ = ["AppraisalInputs", "UnitCostYears", "PresentInputs", "Period", "MODEL_PRICE_YEAR", "CouncilInputs", "Council", "load_council", "WIGAN_POPULATION", "PER_HEAD_KEYS", "CONTEXT_KEYS",
           "council_from_context"]

COUNCIL_KEY = "council"
WIGAN_POPULATION = 317_849  # Census 2011 (CENSUS_GM): the population the Wigan money and headcount refer to

# Inputs that default to Wigan's value per resident times the council's population.
# The Deal's two funds too: "the Deal as Wigan did it" means the same investment per resident.
PER_HEAD_KEYS = ("finance.baseline_budget_gbp_m", "finance.savings_required_gbp_m", "finance.council_tax_gbp_m",
                 "finance.workforce_baseline", "deal.fund_gbp_m", "deal.care_home_fund_gbp_m")

# Every local input the assessment reports (dotted scenario key -> plain description), in report order.
CONTEXT_KEYS = {
    "population.total": "population (persons)",
    "population.share_65_plus": "share aged 65+",
    "population.age_sex_table": "age/sex table (file; none = Wigan's shape reweighted)",
    "population.share_lsoas_most_deprived_decile": "share of small areas in England's most deprived 10%",
    "population.births_per_1000": "births per 1,000 residents a year",
    "population.net_migration_per_1000": "net migration per 1,000 residents a year",
    "context.greater_manchester": "in Greater Manchester (devolution from 2014-11)",
    "finance.baseline_budget_gbp_m": "net revenue budget before the cuts (GBP m a year)",
    "finance.savings_required_gbp_m": "savings required by the end of the cuts (GBP m a year)",
    "finance.council_tax_gbp_m": "council tax raised (GBP m a year, baseline)",
    "finance.workforce_baseline": "council workforce (headcount, baseline)",
    "finance.home_care_gbp_week": "home care, GBP per client a week (in its price year)",
    "finance.care_home_gbp_week": "council-funded care-home place, GBP a week (in its price year)",
    "finance.reablement_gbp": "reablement, GBP per episode (in its price year)",
    "social.volunteer_share": "adults volunteering formally at least monthly (share)",
    "care_market.council_funded_share": "care-home residents funded by the council (share)",
    "staff.per_1000_residents": "front-door and adult social care practitioners per 1,000 residents",
    "staff.conversations_per_month": "new conversations a practitioner takes on a month",
    "staff.existing_programme": "practitioners in the council's own strengths-based programme at the start (share)",
    "community.groups_per_1000": "voluntary and community groups per 1,000 residents",
    "deal.pilot_start": "Deal: pilot start (YYYY-MM)",
    "deal.launch": "Deal: public launch (YYYY-MM)",
    "deal.fidelity": "Deal: fidelity (0-1)",
    "deal.fund_gbp_m": "Deal: community investment fund (GBP m)",
    "deal.fund_start": "Deal: fund start (YYYY-MM)",
    "deal.fund_end": "Deal: fund end (YYYY-MM)",
    "deal.care_home_fund_gbp_m": "Deal: care-home innovation fund (GBP m)",
    "deal.tax_freeze": "Deal: council tax frozen",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BySex(_Strict):
    male: float = Field(..., ge=30.0, le=95.0, description="years")
    female: float = Field(..., ge=30.0, le=95.0, description="years")


MODEL_PRICE_YEAR = 2010  # the model's money is in 2010/11 prices (financial years keyed by their first year)


class UnitCostYears(_Strict):
    """The year whose prices each of the model's care unit costs is in (financial years by their first year). The
    defaults are the years of the model's own figures (model/parameters.py, FinanceParams); a council that gives its
    own unit costs gives their year here. With a deflator, each care line is restated in the appraisal's price year
    from its own year; without one the lines are used as they are and the report says the years are mixed."""

    home_care: int = Field(2018, ge=2000, le=2060, description="finance.home_care_gbp_week (default: about 10 hours "
                                                              "at UKHCA's 2018 price of GBP 16.12 an hour).")
    care_home: int = Field(2019, ge=2000, le=2060, description="finance.care_home_gbp_week (default: Wigan's 2019/20 "
                                                              "fee, WT_SOCIAL_CARE_2021).")
    reablement: int = Field(2010, ge=2000, le=2060, description="finance.reablement_gbp (default: Glendinning et al. "
                                                               "2010).")


class AppraisalInputs(_Strict):
    """How the Deal's costs and savings are appraised (HM Treasury Green Book; assess/appraisal.py)."""

    price_year: int = Field(MODEL_PRICE_YEAR, ge=2000, le=2060,
                            description="Year whose prices every figure is stated in (a financial year by its first "
                                        "year). The model's own prices are 2010/11; any other year needs a deflator.")
    deflator: dict[int, float] | None = Field(None, description="Price index by year (any base), e.g. the ONS GDP "
                                                                 "deflator; must cover 2010 and the price year.")
    discount_rate: float = Field(0.035, ge=0.0, le=0.2, description="Discount rate a year (Green Book: 3.5%).")
    optimism_bias: float = Field(0.0, ge=0.0, le=2.0, description="Uplift on every cost (0.2 = +20%; Green Book "
                                                                   "supplementary guidance). No default is invented: 0.")
    unit_cost_price_years: UnitCostYears = Field(default_factory=UnitCostYears,
                                                 description="The price year of each care unit cost.")

    @model_validator(mode="after")
    def _deflator_covers(self) -> "AppraisalInputs":
        if self.deflator is not None:
            for y, v in self.deflator.items():
                if not v > 0:
                    raise ValueError(f"the deflator's value for {y} must be above 0, got {v:g}")
        if self.price_year != MODEL_PRICE_YEAR:
            have = set(self.deflator or {})
            missing = [y for y in (MODEL_PRICE_YEAR, self.price_year) if y not in have]
            if missing:
                raise ValueError(f"figures in {self.price_year} prices need a deflator with values for "
                                 f"{' and '.join(map(str, missing))} (the model's prices are {MODEL_PRICE_YEAR}/11)")
        if self.deflator is not None:
            years = sorted({MODEL_PRICE_YEAR, self.price_year, *self.unit_cost_price_years.model_dump().values()})
            missing = [y for y in years if y not in self.deflator]
            if missing:
                raise ValueError(f"the deflator needs a value for every price year it converts from or to "
                                 f"({', '.join(map(str, years))}: the model's {MODEL_PRICE_YEAR}/11, the price year and "
                                 f"the unit costs' years); missing {', '.join(map(str, missing))}")
        return self

    def mixed_years(self) -> dict[str, int]:
        """The care unit costs left in a price year other than the appraisal's (no deflator to convert them)."""
        if self.deflator is not None:
            return {}
        return {k: y for k, y in self.unit_cost_price_years.model_dump().items() if y != self.price_year}


def _hle_below_le(hle: BySex, le: BySex, when: str) -> None:
    """Healthy years are part of all years lived: HLE must be below LE for each sex."""
    for sex in ("male", "female"):
        h, e = getattr(hle, sex), getattr(le, sex)
        if h >= e:
            raise ValueError(f"healthy life expectancy ({h:g}, {sex}) must be below life expectancy ({e:g})"
                             + (f" {when}" if when else ": healthy years are part of all years lived"))


class Period(BySex):
    period: str = Field(..., pattern=r"^\d{4}-\d{2}$", description="the 3-year period, e.g. 2022-24")

    @model_validator(mode="after")
    def _three_years(self) -> "Period":
        y0, y2 = int(self.period[:4]), int(self.period[5:])
        if (y0 + 2) % 100 != y2:
            raise ValueError(f"a period is three years written as YYYY-YY, like 2022-24 (got {self.period!r})")
        return self

    @property
    def first_year(self) -> int:
        return int(self.period[:4])


class PresentInputs(_Strict):
    """``council.present``: the council's state now, the baseline of a prospective assessment (--start after the
    observed years). Every field is optional; a missing one keeps the 2009-11 figure (or none) and is listed."""

    population: int | None = Field(None, ge=1000, le=20_000_000, description="Usual residents (Census 2021 or the "
                                                                             "latest ONS mid-year estimate).")
    share_65_plus: float | None = Field(None, ge=0.0, le=1.0, description="Share aged 65+ (same source).")
    hle: Period | None = Field(None, description="Latest ONS HLE at birth, revised series, with its period.")
    le: Period | None = Field(None, description="ONS life expectancy at birth, with its period.")
    budget_gbp_m: float | None = Field(None, gt=0.0, le=5000.0, description="Net revenue budget now (GBP m a year).")
    savings_required_gbp_m: float | None = Field(None, ge=0.0, le=5000.0, description="Savings the medium-term "
                                                                                    "financial plan requires.")
    savings_years: int = Field(4, ge=1, le=20, description="Years from the start over which those savings are made.")
    council_tax_gbp_m: float | None = Field(None, ge=0.0, le=2000.0, description="Council tax raised now, the adult "
                                                                                "social care precept included.")

    @model_validator(mode="after")
    def _hle_below_le(self) -> "PresentInputs":
        if self.hle is not None and self.le is not None and self.hle.period == self.le.period:
            _hle_below_le(self.hle, self.le, f"in {self.hle.period}")
        return self


ASCOF_KEYS = ("care_home_admissions_65plus_per_100k", "still_at_home_91d_pct", "delayed_transfers_per_100k")

# council.asc_spend's lines -> the model's spending series (model/finance.py, GBP m a year at full scale)
SPEND_LINES = {"home_care_gbp_m": "spend_home_care_gbp_m", "care_homes_gbp_m": "spend_care_homes_gbp_m",
               "reablement_gbp_m": "spend_reablement_gbp_m"}


class AscSpend(_Strict):
    """``council.asc_spend``: the council's adult social care spend by line in one financial year, checked against
    the same lines of the simulated business-as-usual arm (the care savings scale with the model's volumes)."""

    year: str = Field(..., pattern=r"^\d{4}/\d{2}$", description="The financial year, written YYYY/YY, e.g. 2010/11.")
    home_care_gbp_m: float | None = Field(None, ge=0.0, le=2000.0, description="Council-funded home care, GBP m.")
    care_homes_gbp_m: float | None = Field(None, ge=0.0, le=2000.0, description="Council-funded care-home places "
                                                                                "for people 65+, GBP m.")
    reablement_gbp_m: float | None = Field(None, ge=0.0, le=2000.0, description="Reablement (short-term support to "
                                                                                "maximise independence), GBP m.")

    @model_validator(mode="after")
    def _one_year_some_line(self) -> "AscSpend":
        if (int(self.year[:4]) + 1) % 100 != int(self.year[5:]):
            raise ValueError(f"a financial year is written YYYY/YY, like 2010/11 (got {self.year!r})")
        if all(getattr(self, k) is None for k in SPEND_LINES):
            raise ValueError(f"give at least one line ({', '.join(SPEND_LINES)}) with the year")
        return self

    @property
    def first_year(self) -> int:
        return int(self.year[:4])


class CouncilInputs(_Strict):
    """The ``council:`` section: inputs that are not model parameters."""

    display_name: str | None = Field(None, description="The council's name as shown in the report.")
    ons_code: str | None = Field(None, description="ONS local authority code, e.g. E08000013.")
    baseline_hle: BySex | None = Field(None, description="ONS healthy life expectancy at birth for the first 3-year "
                                                         "period from time.start (2009-11 for a 2009 start), original series.")
    baseline_le: BySex | None = Field(None, description="ONS life expectancy at birth, same period (optional).")
    source_notes: str = Field("", description="Free text: where the figures came from.")
    ascof: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="The council's own ASCOF history: care_home_admissions_65plus_per_100k "
                                          "(2A(2)), still_at_home_91d_pct (2B(1)), delayed_transfers_per_100k, each "
                                          "{'2010/11': value, ...}; the earliest simulated year conditions that "
                                          "outcome's area term.")
    asc_spend: AscSpend | None = Field(None, description="Adult social care spend by line (home care, care homes, "
                                                         "reablement) in one financial year, GBP m.")
    present: PresentInputs = Field(default_factory=PresentInputs,
                                   description="The council's state now, for prospective assessments.")
    appraisal: AppraisalInputs = Field(default_factory=AppraisalInputs,
                                       description="Price year, deflator, discount rate, optimism bias.")

    @model_validator(mode="after")
    def _ascof_known(self) -> "CouncilInputs":
        import re

        for name, by_year in self.ascof.items():
            if name not in ASCOF_KEYS:
                raise ValueError(f"unknown ASCOF measure {name!r} (allowed: {', '.join(ASCOF_KEYS)})")
            for fy, v in by_year.items():
                if not re.fullmatch(r"\d{4}/\d{2}", str(fy)) or (int(str(fy)[:4]) + 1) % 100 != int(str(fy)[5:]):
                    raise ValueError(f"{name}: a financial year is written YYYY/YY, like 2010/11 (got {fy!r})")
                hi = 100.0 if name == "still_at_home_91d_pct" else 1e5
                if not 0 < v <= hi:
                    raise ValueError(f"{name} {fy}: expected a value above 0 and at most {hi:g}, got {v:g}")
        return self

    @model_validator(mode="after")
    def _hle_below_le(self) -> "CouncilInputs":
        if self.baseline_hle is not None and self.baseline_le is not None:
            _hle_below_le(self.baseline_hle, self.baseline_le, "")
        return self


@dataclass(frozen=True)
class Council:
    """A loaded council: its scenario (with the Deal on, as planned), its inputs, and which inputs are defaults."""

    path: Path
    loaded: Any                      # model.scenario.LoadedScenario, Deal arm as planned
    inputs: CouncilInputs
    name: str
    baseline: dict[str, Any]         # every input used: {"value":, "default": bool, "what":, "source":}
    local_keys: frozenset[str]       # dotted scenario keys set by the council's own file(s)
    population: float                # full-scale baseline population
    defaults_used: list[str] = field(default_factory=list)
    input_lines: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # council.* key -> (file, line)

    @property
    def baseline_period(self) -> str:
        y = month_index(self.loaded.scenario.time.start) // 12
        return f"{y}-{(y + 2) % 100:02d}"


_BASE_NAMES = ("wigan.yaml", "wigan_no_deal.yaml")  # the Deal's base scenarios: what they set is not a local input


def _input_error(exc: ValidationError, prov: S.Provenance, display: str) -> S.ScenarioError:
    return yamlfile.from_validation(exc, prov, display, CouncilInputs, prefix=(COUNCIL_KEY,))


def _population_of(data: dict, base_dir: Path) -> float | None:
    pop = data.get("population") or {}
    table = pop.get("age_sex_table", "wigan_census2011_age_sex.csv") if isinstance(pop, dict) else None
    if table is None:
        total = pop.get("total")
        return float(total) if isinstance(total, (int, float)) and not isinstance(total, bool) and total > 0 else None
    try:
        from model.residents import read_age_table

        t = read_age_table(str(table) if ("/" in str(table)) else str(table))
        return float(t.female.sum() + t.male.sum())
    except (OSError, ValueError, KeyError):
        return None


def _get(d: dict, dotted: str) -> Any:
    node: Any = d
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(d: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = d
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def load_council(path: str | os.PathLike[str]) -> Council:
    """Read and validate a council file; raise :class:`model.scenario.ScenarioError` (one line) on any problem."""
    display = os.fspath(path)
    p = Path(os.path.expanduser(display))
    data, prov, chain = S.read_tree(p, display)
    raw_inputs = data.pop(COUNCIL_KEY, None)
    council_prov = {k: v for k, v in prov.items() if k == COUNCIL_KEY or k.startswith(COUNCIL_KEY + ".")}
    S.drop_provenance(prov, COUNCIL_KEY)
    if raw_inputs is None:
        raw_inputs = {}
    if not isinstance(raw_inputs, dict):
        file, line = council_prov.get(COUNCIL_KEY, (display, None))
        raise S.ScenarioError("expected a group of keys (a mapping) under this section, got " + yamlfile.show(raw_inputs),
                              file, COUNCIL_KEY, line)
    try:
        inputs = CouncilInputs.model_validate(raw_inputs, strict=False)
    except ValidationError as exc:
        raise _input_error(exc, council_prov, display) from None

    base_real = {q.resolve() for q in chain if q.name in _BASE_NAMES and q.resolve() != p.resolve()}

    def own(file: str) -> bool:
        try:
            return Path(os.path.expanduser(file)).resolve() not in base_real
        except OSError:  # pragma: no cover
            return True

    local = frozenset(k for k, (f, _) in prov.items() if "." in k and "[" not in k and own(f))

    # Defaults scaled per resident for money and headcount.
    pop_full = _population_of(data, p.resolve().parent)
    defaults_used: list[str] = []
    if pop_full is not None:
        ref = Scenario().model_dump(mode="json")
        base = copy.deepcopy(data)
        for key in PER_HEAD_KEYS:
            if key in local:
                continue
            wigan_value = _get(base, key)
            if wigan_value is None:
                wigan_value = _get(ref, key)
            scaled = wigan_value * pop_full / WIGAN_POPULATION
            _set(data, key, int(round(scaled)) if key == "finance.workforce_baseline" else round(float(scaled), 3))
            prov[key] = ("default: Wigan per resident", None)
    scenario = S.validated(data, prov, display)
    loaded = S.loaded_from(p.resolve(), scenario, chain, prov, {})
    resolved = loaded.resolved
    if pop_full is None:  # only reachable with an unreadable table, which validation would have refused
        pop_full = float(WIGAN_POPULATION)

    baseline: dict[str, Any] = {}
    for key, what in CONTEXT_KEYS.items():
        default = key not in local
        if key in ("population.total", "population.share_65_plus") and resolved["population"]["age_sex_table"] is not None:
            continue
        if key == "population.age_sex_table" and resolved["population"]["age_sex_table"] is None:
            continue
        source = "council file" if not default else (
            "default: Wigan's value per resident x population" if key in PER_HEAD_KEYS else "default: Wigan's value")
        baseline[key] = {"value": _get(resolved, key), "default": default, "what": what, "source": source}
        if default:
            defaults_used.append(key)
    period = f"{month_index(scenario.time.start) // 12}-{(month_index(scenario.time.start) // 12 + 2) % 100:02d}"
    for sex in ("male", "female"):
        h = inputs.baseline_hle
        baseline[f"council.baseline_hle.{sex}"] = {
            "value": None if h is None else getattr(h, sex), "default": h is None, "period": period,
            "what": f"healthy life expectancy at birth, {sex}, {period} (ONS)",
            "source": "council file" if h is not None else "default: not matched; the model's calibrated Wigan level "
                                                              "shifted only by this council's deprivation"}
        if h is None:
            defaults_used.append(f"council.baseline_hle.{sex}")
    for sex in ("male", "female"):
        e = inputs.baseline_le
        baseline[f"council.baseline_le.{sex}"] = {
            "value": None if e is None else getattr(e, sex), "default": e is None, "period": period,
            "what": f"life expectancy at birth, {sex}, {period} (ONS)",
            "source": "council file" if e is not None else "default: not matched; Wigan's calibrated mortality"}
        if e is None:
            defaults_used.append(f"council.baseline_le.{sex}")
    given = inputs.appraisal.model_fields_set if "appraisal" in inputs.model_fields_set else set()
    for key, what, default_source in (
            ("price_year", "price year of every figure in the appraisal", "default: 2010/11, the model's prices"),
            ("discount_rate", "discount rate a year", "default: the Green Book's 3.5%"),
            ("optimism_bias", "optimism-bias uplift on costs", "default: none assumed")):
        own_value = key in given
        baseline[f"council.appraisal.{key}"] = {"value": getattr(inputs.appraisal, key), "default": not own_value,
                                                 "what": what, "source": "council file" if own_value else default_source}
        if not own_value:
            defaults_used.append(f"council.appraisal.{key}")
    years = inputs.appraisal.unit_cost_price_years
    given_years = years.model_fields_set if "unit_cost_price_years" in given else set()
    for key, what in (("home_care", "price year of the home-care unit cost"),
                      ("care_home", "price year of the care-home unit cost"),
                      ("reablement", "price year of the reablement unit cost")):
        own_value = key in given_years
        baseline[f"council.appraisal.unit_cost_price_years.{key}"] = {
            "value": getattr(years, key), "default": not own_value, "what": what,
            "source": "council file" if own_value else "default: the year of the model's own figure"}
        if not own_value:
            defaults_used.append(f"council.appraisal.unit_cost_price_years.{key}")
    spend = inputs.asc_spend
    for key, what in (("home_care_gbp_m", "adult social care spend on home care"),
                      ("care_homes_gbp_m", "adult social care spend on care homes"),
                      ("reablement_gbp_m", "adult social care spend on reablement")):
        v = None if spend is None else getattr(spend, key)
        baseline[f"council.asc_spend.{key}"] = {
            "value": v, "default": v is None, "what": what + (f", GBP m, {spend.year}" if spend else ", GBP m"),
            "source": "council file" if v is not None else "default: not given; the model's spend on this line is "
                                                           "not checked against the council's"}
        if v is None:
            defaults_used.append(f"council.asc_spend.{key}")
    name = inputs.display_name or scenario.name
    return Council(path=p.resolve(), loaded=loaded, inputs=inputs, name=name, baseline=baseline, local_keys=local,
                   population=pop_full, defaults_used=defaults_used, input_lines=council_prov)


# ---------------------------------------------------------------------------------------------
# Writing council files from model/data/comparators_context.yaml (used to make scenarios/councils/*.yaml)
# ---------------------------------------------------------------------------------------------
def _present_block(key: str, c: dict, outcomes: dict | None) -> str:
    """council.present from what the observed data hold for the council (nothing invented; the rest defaults)."""
    pop, share = c["population"], c["share_65_plus"]
    p_val, p_src = ((pop["census_2021"], "Census 2021 (population.census_2021)") if "census_2021" in pop
                    else (pop["mye_2020"], "ONS mid-year estimate 2020 (population.mye_2020)"))
    s_val, s_src = ((share["census_2021"], "Census 2021") if "census_2021" in share
                    else (share[2020], "ONS mid-year estimate 2020"))
    lines = ["  present:                        # the council now: the baseline of a prospective assessment (--start 2027)",
             f"    population: {p_val}            # {p_src}",
             f"    share_65_plus: {s_val}            # {s_src}"]
    rev = (outcomes or {}).get("hle_revised_2022_24", {}).get(key)
    if rev is not None:
        lines.append(f"    hle: {{male: {rev['male']}, female: {rev['female']}, period: 2022-24}}   # ONS HLE, revised "
                     f"series (HLE_REV, controls_outcomes.yaml)")
    return "\n".join(lines) + "\n"


def council_from_context(key: str, ctx: dict, comparators_file: str = "model/data/comparators_context.yaml",
                         outcomes: dict | None = None) -> str:
    """The text of a council file built only from one council's entry in ``comparators_context.yaml`` (and, for
    its present state, the revised HLE in ``controls_outcomes.yaml`` where the project holds one)."""
    c = ctx["councils"][key]
    pop = c["population"]["census_2011"]
    shares = c["share_65_plus"]
    if "census_2011" in shares:
        share, share_src = shares["census_2011"], "Census 2011 (census_2011)"
    else:
        # No 2011 figure: the 2015 mid-year estimate less the mean 2011-2015 rise of the councils that have both
        # (Wigan +0.022, Bolton +0.014, Stockport +0.016: 0.017).
        share = round(shares[2015] - 0.017, 3)
        share_src = f"MYE 2015 share {shares[2015]} less 0.017, the mean 2011-15 rise of Wigan, Bolton and Stockport"
    name = key.replace("_", " ").title()
    hle = c["hle_2009_11"]
    return f"""\
# {name} ({c['ons_code']}): would the Deal work here? Built only from {comparators_file}
# (entry '{key}'). Every other input is a stated default: see TEMPLATE.yaml for what each one means and
# where a council finds its own figure. Run: python simulate.py assess scenarios/councils/{key}.yaml

extends: ../wigan.yaml            # the Deal's mechanisms and Wigan's adoption plan (pilot 2012, launch 2014)

name: {key}
description: "{name} adopting the Deal as Wigan did, from {name}'s own 2009-11 context."

council:
  display_name: {name}
  ons_code: {c['ons_code']}
  baseline_hle: {{male: {hle['male']}, female: {hle['female']}}}   # ONS HLE at birth 2009-11, original series (HLE_ORIG)
  source_notes: "comparators_context.yaml: population census_2011, share_65_plus {share_src}, lsoas_most_deprived_decile_2019 (IOD), hle_2009_11 (HLE_ORIG)"
{_present_block(key, c, outcomes)}
population:
  age_sex_table: null             # no age table: Wigan's 2011 shape reweighted to the two figures below
  total: {pop}                   # Census 2011 usual residents (population.census_2011)
  share_65_plus: {share}             # {share_src}
  share_lsoas_most_deprived_decile: {c['lsoas_most_deprived_decile_2019']}   # IoD 2019 (IOD)

context:
  greater_manchester: {'true' if c['greater_manchester'] else 'false'}       # {'one of the ten GM boroughs: devolution from 2014-11' if c['greater_manchester'] else 'not in Greater Manchester: no devolution effect'}
"""
