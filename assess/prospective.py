"""Prospective assessments: "if we start the Deal in 2027, what happens by 2040?"

When the Deal's start year is after the observed years (the calibration's data end in 2020), the assessment
runs from the council's present state instead of its 2009 baseline: the simulation starts with the period of the
council's latest healthy life expectancy figure (the baseline its area terms are conditioned on, revised ONS
series), with its present population, budget, savings required and council tax; both arms run to the horizon and
the Deal starts at `--start`, its whole timeline moved there. A present-day input the council does not give keeps
its 2009-11 value (or, for new savings, none) and the report lists it.

Everything the model learned it learned from 2009-2020, before COVID-19 and under that decade's social-care
funding: a prospective answer applies those dynamics to years the model has never seen, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.adoption import first_deal_year, shifted_timeline
from model.scenario import ScenarioError

from .council import Council

__all__ = ["LAST_OBSERVED_YEAR", "MAX_HORIZON", "DEFAULT_HORIZON", "is_prospective", "Prospect", "prospect"]

LAST_OBSERVED_YEAR = 2020   # the multi-area calibration's last fitted year (figures reaching 2020 left out)
MAX_HORIZON = 2060          # further than this the appraisal's constant discount rate and the model's trends fail
DEFAULT_HORIZON = 2040
EXTRAPOLATION = ("This is a prospective assessment: the model's dynamics were calibrated on 2009-2020 (before "
                 "COVID-19, under that decade's social-care funding and austerity) and are applied here to "
                 "{first}-{horizon}. England's trend in health is carried forward as a straight line; nothing "
                 "in the model knows about the pandemic, later funding reforms or today's care market.")


def is_prospective(start: int | None) -> bool:
    """A start after the observed years asks about the future; within them it is the retrospective question."""
    return start is not None and start > LAST_OBSERVED_YEAR


@dataclass
class Prospect:
    """How a prospective assessment departs from the council file: scenario overrides and what was assumed."""

    overrides: dict[str, Any]
    first_year: int
    horizon: int
    baseline_period: str | None                 # the council's latest HLE period (what its area terms see)
    defaults: list[str] = field(default_factory=list)   # council.present.* keys not given
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # for the report's inputs table


def _fail(council: Council, key: str, message: str) -> ScenarioError:
    file, line = council.input_lines.get(key, (str(council.path), None))
    return ScenarioError(message, file, key, line)


def prospect(council: Council, start: int, horizon: int | None) -> Prospect:
    """The overrides of a prospective assessment starting the Deal in `start`, run to `horizon` (default 2040).
    Contradictions (a horizon before the start or beyond 2060, a latest HLE period after the start) are refused."""
    horizon = DEFAULT_HORIZON if horizon is None else int(horizon)
    if horizon <= start:
        raise ScenarioError(f"the horizon ({horizon}) must be after the Deal's start ({start})", "--horizon")
    if horizon > MAX_HORIZON:
        raise ScenarioError(f"the horizon must be {MAX_HORIZON} or before (got {horizon}): beyond it the model's "
                            f"straight-line trends and the appraisal's constant discount rate do not hold",
                            "--horizon")
    pr = council.inputs.present
    sc = council.loaded.scenario
    # The simulation starts with the earliest present figure's period, so that each one conditions its area term
    # (without one: three years of business as usual before the Deal, one HLE period).
    given = [(key, fig) for key, fig in (("hle", pr.hle), ("le", pr.le)) if fig is not None]
    for key, fig in given:
        if fig.first_year + 2 >= start:
            raise _fail(council, f"council.present.{key}", f"the latest {key.upper()} period {fig.period} must end "
                                                           f"before the Deal starts ({start}): it is the baseline the "
                                                           f"Deal is compared from")
    first = min(fig.first_year for _, fig in given) if given else start - 3
    period: str | None = pr.hle.period if pr.hle is not None else None
    over: dict[str, Any] = {"time.start": f"{first}-01", "time.end": f"{horizon}-12"}
    over.update(shifted_timeline(sc.deal, start - first_deal_year(sc.deal)))
    defaults: list[str] = []
    inputs: dict[str, dict[str, Any]] = {}

    def use(key: str, value: Any, target: str | None, what: str, default_note: str) -> None:
        given = value is not None
        if given and target:
            over[target] = value
        if not given:
            defaults.append(f"council.present.{key}")
        inputs[f"council.present.{key}"] = {"value": value, "default": not given, "what": what,
                                            "source": "council file" if given else f"default: {default_note}"}

    use("population", pr.population, "population.total", "population now (persons)",
        "the 2011 population carried forward")
    use("share_65_plus", pr.share_65_plus, "population.share_65_plus", "share aged 65+ now",
        "the 2011 share carried forward")
    if pr.population is not None or pr.share_65_plus is not None:
        over["population.age_sex_table"] = None  # the age shape reweighted to the present figures
    use("hle", None if pr.hle is None else pr.hle.model_dump(), None,
        "latest healthy life expectancy (revised series)", "none: the area term keeps the spread across boroughs")
    use("le", None if pr.le is None else pr.le.model_dump(), None, "life expectancy, latest period",
        "none: the area term keeps the spread across boroughs")
    use("budget_gbp_m", pr.budget_gbp_m, "finance.baseline_budget_gbp_m", "net revenue budget now (GBP m a year)",
        "the 2010/11 budget carried forward")
    use("council_tax_gbp_m", pr.council_tax_gbp_m, "finance.council_tax_gbp_m",
        "council tax now, adult social care precept included (GBP m a year)", "the 2010/11 figure carried forward")
    use("savings_required_gbp_m", pr.savings_required_gbp_m, "finance.savings_required_gbp_m",
        "savings the medium-term financial plan requires (GBP m a year)", "no new savings")
    if pr.savings_required_gbp_m is None:
        over["finance.savings_required_gbp_m"] = 0.0
    # The cut (if any) as a straight ramp over the stated years from the Deal's start; council tax changes from the
    # year after the simulation starts (its first year is the base level).
    over.update({"finance.cut_path": None, "finance.cuts_start": f"{start}-04",
                 "finance.cuts_end": f"{start + pr.savings_years}-03", "finance.tax_changes_from": first + 1})
    return Prospect(over, first, horizon, period, defaults, inputs)
