"""Care homes and the care market: placements, moves from home care, and providers' quality.

A resident is placed in a care home from three routes, all in the month's pass over residents (passes.py): a
front-door conversation at care-home level need, a hospital discharge, or a move from home care once need
reaches care-home level. Council funding is decided once, at placement. Reablement that ends without
regaining independence leaves the resident on home care.

Quality is the share of providers that would be rated good or outstanding. It relaxes towards a target
made of the borough's baseline, England's rise under CQC's new regime (logistic), investment (the care
home innovation fund, per 1,000 care-home places), commissioning relationships (integration lever) and
fee pressure (cuts to other services beyond fee_squeeze_threshold). Quality lowers hospital admissions
from care homes (hospital.py); it is updated after the month's placements and read the next month.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .calendar import year_of
from .parameters import CareMarketParams, FrontDoorParams, HospitalParams
from .residents import HOME, HOME_CARE

CareK = namedtuple("CareK", "reab_success hc_to_ch hc_exit funded_share")


def constants(cp: CareMarketParams, fp: FrontDoorParams, hp: HospitalParams) -> CareK:
    return CareK(hp.reablement_success, fp.home_care_to_care_home, fp.home_care_exit_rate, cp.council_funded_share)


@njit(cache=True, inline="always")
def reablement_end(k, setting, u):
    """Reablement ends: without regaining independence the resident goes on home care."""
    return HOME_CARE if (setting == HOME and u > k.reab_success) else setting


@njit(cache=True, inline="always")
def home_care_move(k, ch_level, u):
    """A resident on a package: (moves to a care home, leaves the package)."""
    if ch_level:
        return u < k.hc_to_ch, False
    return False, u > 1.0 - k.hc_exit


def national_quality_gain(p: CareMarketParams, m: int) -> float:
    """England's rise in ratings: logistic in calendar time (CQC_STATE_OF_CARE)."""
    t = year_of(m) + (m % 12) / 12.0
    return float(1.0 / (1.0 + np.exp(-(t - p.national_gain_midyear) / p.national_gain_scale_years)))


def quality_target(p: CareMarketParams, m: int, invest_per_1000_places_gbp_m: float, integration: float,
                   cut_share: float) -> float:
    squeeze = max(0.0, cut_share - p.fee_squeeze_threshold)
    t = (p.baseline_quality + p.national_gain * national_quality_gain(p, m)
         + p.investment_effect * invest_per_1000_places_gbp_m + p.relationship_effect * integration
         - p.fee_pressure_effect * squeeze)
    return float(np.clip(t, 0.0, 1.0))


def step_quality(p: CareMarketParams, q: float, target: float) -> float:
    return q + (target - q) / p.months


__all__ = ["CareK", "constants", "reablement_end", "home_care_move", "national_quality_gain", "quality_target",
           "step_quality", "HOME"]
