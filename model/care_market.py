"""Care homes and the care market: placements, moves from home care, and providers' quality.

Quality is the share of providers that would be rated good or outstanding. It relaxes towards a target
made of the borough's baseline, England's rise under CQC's new regime (logistic, centred on January 2016, scale 0.8 years),
investment (the care home innovation fund, per 1,000 care-home places), commissioning relationships
(integration lever) and fee pressure (how hard the budget squeezes). Quality lowers hospital admissions
from care homes (hospital.py).
"""

from __future__ import annotations

import numpy as np

from .calendar import year_of
from .parameters import CareMarketParams, FrontDoorParams
from .residents import CARE_HOME, HOME, HOME_CARE, Residents


def place_in_care_homes(p: CareMarketParams, r: Residents, idx: np.ndarray, rng: np.random.Generator,
                        counted_65: list[int]) -> int:
    """Permanent admission: council funding decided once; returns council-funded admissions aged 65+."""
    if not idx.size:
        return 0
    r.setting[idx] = CARE_HOME
    funded = rng.random(idx.size) < p.council_funded_share
    r.funded[idx] = funded
    r.reab_until[idx] = -(10**6)
    n65 = int((funded & (r.age[idx] >= 65)).sum())
    counted_65[0] += n65
    return n65


def home_care_transitions(p: FrontDoorParams, r: Residents, rng: np.random.Generator, ch_level: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Residents on a package recover out of it, or move to a care home once need is at that level."""
    n = r.n
    u = rng.random(n, dtype=np.float32)
    on = r.alive[:n] & (r.setting[:n] == HOME_CARE)
    to_ch = np.flatnonzero(on & ch_level & (u < np.float32(p.home_care_to_care_home)))
    out = np.flatnonzero(on & ~ch_level & (u > np.float32(1.0 - p.home_care_exit_rate)))
    r.setting[out] = HOME
    return to_ch, out


def national_quality_gain(m: int) -> float:
    """England's rise in ratings: logistic centred on January 2016, scale 0.8 years (CQC_STATE_OF_CARE)."""
    t = year_of(m) + (m % 12) / 12.0
    return float(1.0 / (1.0 + np.exp(-(t - 2016.0) / 0.8)))


def quality_target(p: CareMarketParams, m: int, invest_per_1000_places_gbp_m: float, integration: float,
                   squeeze: float) -> float:
    t = (p.baseline_quality + p.national_gain * national_quality_gain(m)
         + p.investment_effect * invest_per_1000_places_gbp_m + p.relationship_effect * integration
         - p.fee_pressure_effect * squeeze)
    return float(np.clip(t, 0.0, 1.0))


def step_quality(p: CareMarketParams, q: float, target: float) -> float:
    return q + (target - q) / p.months
