"""Adoption: how strongly each of the Deal's levers is pulled, month by month and place by place.

Start dates, fidelity and roll-out are parameters, so partial adoption, a later start or adoption without
investment are scenarios rather than code changes. Every lever is 0 before the Deal starts, which is what
makes a Deal run identical to its no-Deal twin until then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import fy_start
from .parameters import DealParams, month_index


@dataclass
class Levers:
    practice: np.ndarray      # per area: training and permission to innovate (0-1)
    citizen: np.ndarray       # per area: self-help and volunteering campaign (0-1)
    community: float          # community investment fund flowing (0-1 fidelity)
    integration: float        # home-first discharge, care-market relationships (0-1)
    tax_freeze: bool          # general council tax frozen this financial year
    fund_monthly_gbp_m: float  # community fund to award this month (full-scale GBP m)
    care_home_fund_gbp_m: float  # care home innovation fund spent this month (GBP m)
    reablement_offer: float | None  # Deal's share of 65+ discharges offered reablement, if active

    @property
    def any_active(self) -> bool:
        return bool(self.practice.any() or self.citizen.any() or self.community or self.integration
                    or self.tax_freeze or self.fund_monthly_gbp_m or self.care_home_fund_gbp_m)


def area_start_months(p: DealParams, n_areas: int) -> np.ndarray:
    """Month each area joins: pilot areas at the pilot, the rest spread evenly over the roll-out."""
    launch = month_index(p.launch)
    n_pilot = max(1, int(round(p.pilot_share * n_areas))) if p.pilot_share > 0 else 0
    starts = np.empty(n_areas, dtype=np.int64)
    starts[:n_pilot] = min(month_index(p.pilot_start), launch)
    rest = n_areas - n_pilot
    for k in range(rest):
        starts[n_pilot + k] = launch + (k * p.rollout_months) // max(rest, 1)
    return starts


def levers_at(p: DealParams, m: int, n_areas: int) -> Levers:
    zeros = np.zeros(n_areas)
    if not p.enabled:
        return Levers(zeros, zeros.copy(), 0.0, 0.0, False, 0.0, 0.0, None)
    on = (area_start_months(p, n_areas) <= m).astype(float)
    launched = m >= month_index(p.launch)
    fs, fe = month_index(p.fund_start), month_index(p.fund_end)
    fund_on = fs <= m <= fe
    community = p.fidelity * p.community_fidelity if fund_on else 0.0
    integration = p.fidelity * p.integration_fidelity if launched else 0.0
    fy = fy_start(m)
    return Levers(
        practice=p.fidelity * p.practice_fidelity * on,
        citizen=(p.fidelity * p.citizen_fidelity * p.self_help_campaign * (1.0 if launched else 0.0)) * np.ones(n_areas),
        community=community,
        integration=integration,
        tax_freeze=p.tax_freeze and p.tax_freeze_from <= fy <= p.tax_freeze_to,
        fund_monthly_gbp_m=(p.fund_gbp_m * community / (fe - fs + 1)) if fund_on else 0.0,
        care_home_fund_gbp_m=(p.care_home_fund_gbp_m * p.fidelity * p.integration_fidelity / 12.0)
        if m // 12 == p.care_home_fund_year else 0.0,
        reablement_offer=p.reablement_offer if launched and integration > 0 else None,
    )


def first_deal_year(deal: DealParams) -> int:
    """The calendar year of the Deal's first act: the pilot (if it has a share), the launch or the fund."""
    first = min(month_index(deal.pilot_start) if deal.pilot_share > 0 else month_index(deal.launch),
                month_index(deal.launch), month_index(deal.fund_start))
    return first // 12


def shifted_timeline(deal: DealParams, years: int) -> dict[str, object]:
    """Dotted overrides that move the Deal's whole timeline by `years` (pilot, launch, fund, tax freeze, the
    care-home fund), e.g. to ask what would happen if a council started later; {} for 0."""
    if not years:
        return {}

    def month(text: str) -> str:
        y, m = text.split("-")
        return f"{int(y) + years:04d}-{m}"

    return {"deal.pilot_start": month(deal.pilot_start), "deal.launch": month(deal.launch),
            "deal.fund_start": month(deal.fund_start), "deal.fund_end": month(deal.fund_end),
            "deal.tax_freeze_from": deal.tax_freeze_from + years, "deal.tax_freeze_to": deal.tax_freeze_to + years,
            "deal.care_home_fund_year": deal.care_home_fund_year + years}
