"""Hospital flow: emergency admissions, discharge destinations, delayed transfers, reablement follow-up.

A month's step is coarse for hospital stays, so an admission occupies the month it happens and the
resident is discharged at the next step. Discharge goes back to a care home for care-home residents;
otherwise to a care home (care-home level need; fewer under home-first), home with reablement (the share
offered reablement, ASCOF 2B(2)), home with a new package, or home. Transfers that need onward care wait:
delayed bed-days are Poisson with mean `delay_days * exp(elasticity * (pressure - 1))` per transfer, where
pressure is the practitioners' caseload pressure (assessments gate discharge), cut by home-first working.
ASCOF 2B(1) is measured, not assumed: the share of 65+ reablement discharges alive and not in a care home
or hospital 91 days (3 months) later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .parameters import HospitalParams
from .residents import CARE_HOME, HOME, HOME_CARE, HOSPITAL, Residents


@dataclass
class Discharges:
    to_care_home: np.ndarray
    to_reablement: np.ndarray
    to_home_care: np.ndarray
    home: np.ndarray
    delayed_bed_days: float
    onward: int


def discharge(p: HospitalParams, r: Residents, rng: np.random.Generator, need: np.ndarray, ch_level: np.ndarray,
              home_first: float, reablement_offer: float, pressure: float) -> Discharges:
    n = r.n
    inpat = np.flatnonzero(r.alive[:n] & (r.setting[:n] == HOSPITAL))
    x = rng.random((inpat.size, 2))
    prev = r.prev_setting[inpat]
    back_ch = prev == CARE_HOME
    ch = ~back_ch & ch_level[inpat] & (x[:, 0] < p.care_home_discharge * (1.0 - home_first))
    rest = ~back_ch & ~ch
    old = r.age[inpat] >= 65
    y = x[:, 1]
    # Reablement goes to people with need; the offer is a share of all 65+ discharges (ASCOF 2B(2)).
    needy = need[inpat]
    share_needy = max(float(needy[old].mean()) if old.any() else 0.0, 1e-3)
    p_offer = min(1.0, reablement_offer / share_needy)
    reab = rest & needy & (y < np.where(old, p_offer, 0.5 * p_offer))
    hc = rest & ~reab & need[inpat] & (prev != HOME_CARE) & (y > 1.0 - p.home_care_discharge)
    home = rest & ~reab & ~hc
    r.setting[inpat[back_ch]] = CARE_HOME
    r.setting[inpat[home]] = np.where(prev[home] == HOME_CARE, HOME_CARE, HOME)
    r.setting[inpat[hc]] = HOME_CARE
    r.setting[inpat[reab]] = HOME
    onward = int(ch.sum() + reab.sum() + hc.sum())
    mean_delay = p.delay_days * np.exp(p.delay_pressure_elasticity * (pressure - 1.0)) * (1.0 - 0.5 * home_first)
    delayed = float(rng.poisson(max(onward * mean_delay, 0.0)))
    return Discharges(inpat[ch], inpat[reab], inpat[hc], inpat[home], delayed, onward)


def admit(p: HospitalParams, r: Residents, rng: np.random.Generator, gap: np.ndarray,
          need: np.ndarray, quality: float) -> np.ndarray:
    """Emergency admissions of adults: rate rises with frailty, unmet need, and poor care-home quality."""
    n = r.n
    u = rng.random(n, dtype=np.float32)
    # Only residents whose draw is below the largest possible monthly probability can be admitted, so the
    # rate is computed for those alone: the same result as computing it for everyone, five times faster.
    cap = max(p.admission_rate_65_plus, p.admission_rate_under_65) * np.exp(p.admission_frailty * 4.0) \
        * p.unmet_need_multiplier * max(1.0, 1.0 - p.quality_effect * (quality - 0.6))
    cand = np.flatnonzero(u < np.float32(-np.expm1(-cap)))
    age = r.age[cand]
    setting = r.setting[cand]
    base = np.where(age >= 65, np.float32(p.admission_rate_65_plus), np.float32(p.admission_rate_under_65))
    rate = base * np.exp(np.float32(p.admission_frailty) * np.minimum(gap[cand], np.float32(4.0)))
    unmet = need[cand] & (setting == HOME) & (r.group[cand] < 0)
    rate = np.where(unmet, rate * np.float32(p.unmet_need_multiplier), rate)
    rate = np.where(setting == CARE_HOME, rate * np.float32(max(0.0, 1.0 - p.quality_effect * (quality - 0.6))), rate)
    adm = r.alive[cand] & (age >= 18) & (setting != HOSPITAL) & (u[cand] < -np.expm1(-rate))
    idx = cand[adm]
    r.prev_setting[idx] = r.setting[idx]
    r.setting[idx] = HOSPITAL
    return idx


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
