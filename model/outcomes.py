"""The published measures the model reports: one registry, read by the measurement, targets, sweeps, plots,
validation, assessment, the command line and the web app.

Each outcome is reported by periods of one kind:
  three_year       pooled calendar years, labelled "2009-11" (ONS's life tables and HLE)
  financial_year   April to March, labelled "2014/15" (ASCOF, delayed transfers)
  year             calendar years, labelled "2017", recorded in `record_month` of that year (7: July, 12: December)

`better` is the direction that is a gain for residents or the council (+1 higher, -1 lower, 0 neither);
`lower`/`upper` bound what the measure can be (a share cannot exceed 1), for observation models and checks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["Outcome", "REGISTRY", "PERIOD_KINDS", "period_ok", "names"]

# Each kind's label form, as error messages show it.
PERIOD_KINDS = {"three_year": "a 3-year period (YYYY-YY such as 2017-19)",
                "financial_year": "a financial year (YYYY/YY such as 2017/18)", "year": "a calendar year (YYYY such as 2019)"}
_PERIOD_RE = {"three_year": re.compile(r"^(\d{4})-(\d{2})$"), "financial_year": re.compile(r"^(\d{4})/(\d{2})$"),
              "year": re.compile(r"^(\d{4})$")}


@dataclass(frozen=True)
class Outcome:
    name: str
    period: str          # a key of PERIOD_KINDS
    label: str           # plain English, lower case ("healthy life expectancy, men")
    unit: str
    short: str           # column heading in terminal tables
    better: int = 0      # +1 higher is better, -1 lower is better, 0 neither
    lower: float = -math.inf
    upper: float = math.inf
    record_month: int | None = None  # year outcomes: the month of the year they are recorded in

    @property
    def title(self) -> str:
        """The label with a capital first letter (figure panels)."""
        return self.label[:1].upper() + self.label[1:]


_Y = "years"
REGISTRY: dict[str, Outcome] = {o.name: o for o in (
    Outcome("hle_male", "three_year", "healthy life expectancy, men", _Y, "HLE male", +1, 0.0, 120.0),
    Outcome("hle_female", "three_year", "healthy life expectancy, women", _Y, "HLE female", +1, 0.0, 120.0),
    Outcome("hle_male_true", "three_year", "healthy life expectancy, men, in the whole population (no survey noise, no chance in who dies)",
            _Y, "HLE male, true", +1, 0.0, 120.0),
    Outcome("hle_female_true", "three_year",
            "healthy life expectancy, women, in the whole population (no survey noise, no chance in who "
            "dies)", _Y, "HLE female, true", +1,
            0.0, 120.0),
    Outcome("le_male", "three_year", "life expectancy, men", _Y, "LE male", +1, 0.0, 120.0),
    Outcome("le_female", "three_year", "life expectancy, women", _Y, "LE female", +1, 0.0, 120.0),
    Outcome("le_male_true", "three_year", "life expectancy, men, from the residents' death probabilities (no chance "
            "in who dies)", _Y, "LE male, true", +1, 0.0, 120.0),
    Outcome("le_female_true", "three_year", "life expectancy, women, from the residents' death probabilities (no "
            "chance in who dies)", _Y, "LE female, true", +1, 0.0, 120.0),
    Outcome("hle_male_se", "three_year", "standard error of the survey's HLE, men", _Y, "HLE male s.e.", 0, 0.0),
    Outcome("hle_female_se", "three_year", "standard error of the survey's HLE, women", _Y, "HLE female s.e.", 0, 0.0),
    Outcome("care_home_admissions_65plus_per_100k", "financial_year", "care-home admissions of people 65+",
            "per 100,000 aged 65+ a year", "care-home adm.", -1, 0.0),
    Outcome("delayed_transfers_per_100k", "financial_year", "delayed transfers of care",
            "beds a day per 100,000 aged 18+", "delayed transf.", -1, 0.0),
    Outcome("still_at_home_91d_pct", "financial_year", "still at home 91 days after reablement", "%",
            "home 91d %", +1, 0.0, 100.0),
    Outcome("care_quality_good_or_outstanding", "year", "care homes rated good or outstanding", "share",
            "care quality", +1, 0.0, 1.0, record_month=7),
    Outcome("cumulative_savings_gbp_m", "year", "council savings against the starting budget (as councils report them)",
            "GBP m a year", "savings GBP m", +1, record_month=12),
    Outcome("workforce", "year", "council workforce", "headcount", "workforce", 0, 0.0, record_month=7),
)}


def names(period: str | None = None) -> list[str]:
    """Outcome names, in registry order (of one period kind if given)."""
    return [n for n, o in REGISTRY.items() if period is None or o.period == period]


def period_ok(kind: str, label: str) -> bool:
    """Whether `label` is a well-formed period of `kind` (a 3-year or financial-year label's second part must
    follow its first)."""
    m = _PERIOD_RE[kind].match(str(label))
    if not m:
        return False
    if kind == "year":
        return True
    first, second = int(m.group(1)), int(m.group(2))
    return second == (first + (2 if kind == "three_year" else 1)) % 100


def period_end_month(outcome: str, period: str) -> str:
    """The last month ('YYYY-MM') a run must include for the model to report `outcome` for `period`."""
    o = REGISTRY[outcome]
    y = int(str(period)[:4])
    if o.period == "three_year":
        return f"{y + 2}-12"
    if o.period == "financial_year":
        return f"{y + 1}-03"
    return f"{y}-{o.record_month or 12:02d}"
