"""Hospital flow: emergency admissions, discharge destinations, delayed transfers, reablement follow-up.

A month's step is coarse for hospital stays, so an admission occupies the month it happens and the
resident is discharged at the next step. Discharge goes back to a care home for care-home residents;
otherwise to a care home (care-home level need; fewer under home-first), home with reablement (the share
offered reablement, ASCOF 2B(2)), home with a new package, or home. Transfers that need onward care wait:
delayed bed-days are Poisson with mean `delay_days * exp(elasticity * (pressure - 1))` per transfer, where
pressure is last month's caseload pressure of the practitioners (assessments gate discharge), cut by
home-first working; the count comes by inversion of one uniform a month (rng.poisson).
ASCOF 2B(1) is measured, not assumed: the share of 65+ reablement discharges alive and not in a care home
or hospital 91 days (3 months) later. `discharge` and `admit` are the rules for one resident; passes.py
runs them inside the month's pass over residents, discharge first.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .parameters import HospitalParams
from .residents import CARE_HOME, HOME, HOME_CARE, HOSPITAL, Residents

ADULT = 18.0
OLD = 65.0
# Discharge outcomes (codes returned by `discharge`)
D_NONE, D_BACK, D_CARE_HOME, D_REABLEMENT, D_HOME_CARE, D_HOME = range(6)

HospitalK = namedtuple("HospitalK", "p_care_home p_offer p_offer_young p_home_care cap rate_old rate_young "
                                    "frailty gap_cap unmet care_home_factor")


def offer_probability(p: HospitalParams, offer: float, old_inpatients: int, old_needy: int) -> float:
    """Reablement goes to people with need; the offer is a share of all 65+ discharges (ASCOF 2B(2))."""
    share_needy = max(old_needy / old_inpatients if old_inpatients else 0.0, 1e-3)
    return min(1.0, offer / share_needy)


def constants(p: HospitalParams, home_first: float, p_offer: float, quality: float) -> HospitalK:
    ch_factor = max(0.0, 1.0 - p.quality_effect * (quality - p.quality_reference))
    # The largest possible monthly rate: residents whose draw is above it cannot be admitted, so the rate
    # (an exp) is computed only for the few below it.
    cap = (max(p.admission_rate_65_plus, p.admission_rate_under_65) * np.exp(p.admission_frailty * p.admission_frailty_cap)
           * p.unmet_need_multiplier * max(1.0, ch_factor))
    return HospitalK(p.care_home_discharge * (1.0 - home_first), p_offer, p.reablement_offer_under_65_ratio * p_offer,
                     p.home_care_discharge, float(-np.expm1(-cap)), p.admission_rate_65_plus,
                     p.admission_rate_under_65, p.admission_frailty, p.admission_frailty_cap,
                     p.unmet_need_multiplier, ch_factor)


@njit(cache=True, inline="always")
def discharge(k, prev_setting, need, ch_level, age, x_care, y_home):
    """Where last month's inpatient goes (a D_ code); D_CARE_HOME is placed by the care market."""
    if prev_setting == CARE_HOME:
        return D_BACK
    if ch_level and x_care < k.p_care_home:
        return D_CARE_HOME
    if need and y_home < (k.p_offer if age >= OLD else k.p_offer_young):
        return D_REABLEMENT
    if need and prev_setting != HOME_CARE and y_home > 1.0 - k.p_home_care:
        return D_HOME_CARE
    return D_HOME


@njit(cache=True, inline="always")
def admit(k, setting, age, gap, need, member, u):
    """Emergency admission of an adult: the rate rises with frailty, unmet need and poor care-home quality."""
    if u >= k.cap or setting == HOSPITAL or age < ADULT:
        return False
    rate = (k.rate_old if age >= OLD else k.rate_young) * np.exp(k.frailty * min(gap, k.gap_cap))
    if need and setting == HOME and not member:
        rate *= k.unmet
    if setting == CARE_HOME:
        rate *= k.care_home_factor
    return u < -np.expm1(-rate)


def mean_delay_days(p: HospitalParams, pressure: float, home_first: float) -> float:
    return p.delay_days * float(np.exp(p.delay_pressure_elasticity * (pressure - 1.0))) \
        * (1.0 - p.home_first_delay_reduction * home_first)


class ReablementFollowUp:
    """ASCOF 2B(1): of 65+ discharged into reablement, the share at home 91 days later, by financial year."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, int, np.ndarray]] = []  # (check month, fy, indices)
        self.num: dict[int, int] = {}
        self.den: dict[int, int] = {}

    def add(self, m: int, fy: int, idx: np.ndarray) -> None:
        if idx.size:
            self.pending.append((m + 3, fy, idx))

    def check(self, r: Residents, m: int, record: bool) -> None:
        due = [e for e in self.pending if e[0] <= m]
        self.pending = [e for e in self.pending if e[0] > m]
        if not record:
            return
        for _, fy, idx in due:
            ok = r.alive[idx] & ((r.setting[idx] == HOME) | (r.setting[idx] == HOME_CARE))
            self.num[fy] = self.num.get(fy, 0) + int(ok.sum())
            self.den[fy] = self.den.get(fy, 0) + int(idx.size)
