"""Council finance: a budget cut by austerity, spending by line, council tax, investment, savings.

All money is in GBP m per year at full borough scale, recorded monthly as annual rates. The budget, tax and the
Deal's spending are in 2010/11 prices; the care unit costs are in the years of their sources (parameters.py:
a 2019/20 care-home fee, a 2018 home-care hour, a 2010 reablement episode), used as they are.
  budget    = baseline - required cut (ramped from cuts_start to cuts_end, or along cut_path) + (council tax - its 2010 level)
  lines     = staff (workforce x cost) + home care + council-funded care homes + reablement + community
              fund + care home fund + training + other services
  other services absorb what is left, but not below `other_services_floor` of their 2010 level; below
  that the council overspends (the projected adult social care overspend of 2011, KF_WT).
  savings   = baseline - total spending: what councils report as savings since the baseline year (2010 for
              Wigan; a prospective assessment's first simulated year).
Council tax rises each financial year by the business-as-usual rate unless frozen (Deal), when a freeze
grant of `freeze_grant` is paid instead. Upfront investment (fund, training) is spending, so the Deal's
net savings and payback come out of the accounting, not an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .parameters import FinanceParams, month_index

WEEKS = 52.18
LINES = ("staff", "home_care", "care_homes", "reablement", "community_fund", "care_home_fund", "training", "other")


def ramp(m: int, start: int, end: int) -> float:
    if m < start:
        return 0.0
    if m >= end:
        return 1.0
    return (m - start + 1) / (end - start + 1)


@dataclass
class Finance:
    p: FinanceParams
    tax: float = 0.0
    tax_fy: int | None = None
    other_2010: float | None = None
    last: dict[str, float] = field(default_factory=dict)
    fix_month: int = 0

    def __post_init__(self) -> None:
        self.tax = self.p.council_tax_gbp_m

    def workforce(self, m: int) -> float:
        """Headcount: shrinks by workforce_reduction over the cuts (both arms: austerity, not the Deal)."""
        r = ramp(m, month_index(self.p.cuts_start), month_index(self.p.cuts_end))
        return self.p.workforce_baseline * (1.0 - self.p.workforce_reduction * min(1.0, r * 1.6))

    def cut_share(self, m: int) -> float:
        """Share of the required savings cut by month m: the front-loaded path if given, else a straight ramp."""
        path = self.p.cut_path
        if not path:
            return ramp(m, month_index(self.p.cuts_start), month_index(self.p.cuts_end))
        months = [month_index(k) for k in path]
        return float(np.interp(m, months, list(path.values())))

    def update_tax(self, fy: int, frozen: bool) -> None:
        """Once per financial year: rise, or freeze with a freeze grant."""
        if self.tax_fy == fy:
            return
        if self.tax_fy is not None and fy >= 2011:
            self.tax *= 1.0 + (self.p.freeze_grant if frozen else self.p.business_as_usual_tax_rise)
        self.tax_fy = fy

    def month(self, m: int, *, home_care_clients: float, funded_care_home: float, reablement_episodes: float,
              community_paid_gbp_m: float, care_home_fund_gbp_m: float, training_gbp_m: float) -> dict[str, float]:
        """Spending lines (annual rates, GBP m) for this month; counts are full-scale."""
        p = self.p
        lines = {
            "staff": self.workforce(m) * p.staff_cost_gbp_k / 1000.0,
            "home_care": home_care_clients * p.home_care_gbp_week * WEEKS / 1e6,
            "care_homes": funded_care_home * p.care_home_gbp_week * WEEKS / 1e6,
            "reablement": reablement_episodes * p.reablement_gbp * 12 / 1e6,
            "community_fund": community_paid_gbp_m * 12,
            "care_home_fund": care_home_fund_gbp_m * 12,
            "training": training_gbp_m * 12,
        }
        committed = sum(lines.values())
        cut = p.savings_required_gbp_m * self.cut_share(m)
        budget = p.baseline_budget_gbp_m - cut + (self.tax - p.council_tax_gbp_m)
        if self.other_2010 is None or m <= self.fix_month:
            # Fixed at the first recorded month, before cuts and before any Deal: identical in both arms.
            self.other_2010 = max(p.baseline_budget_gbp_m - committed, 1e-9)
        floor = p.other_services_floor * self.other_2010
        other = max(budget - committed, floor)
        lines["other"] = other
        total = committed + other
        out = {f"spend_{k}_gbp_m": v for k, v in lines.items()}
        out.update(budget_gbp_m=budget, spend_total_gbp_m=total, overspend_gbp_m=max(0.0, total - budget),
                   savings_gbp_m=p.baseline_budget_gbp_m - total, council_tax_gbp_m=self.tax,
                   other_services_cut=1.0 - other / self.other_2010, workforce=self.workforce(m))
        self.last = out
        return out

