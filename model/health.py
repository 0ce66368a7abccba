"""Health: each resident's latent frailty, from which good health, need and care-home level follow.

frailty = age_slope * age/10 + deprivation_effect * (dep - 0.5) + context shift + u - prot
  u    individual deviation, AR(1) with unit stationary variance (persistence_months): health shocks
       that last years. Monthly innovations are uniform with unit variance, sqrt(12) (U - 1/2), U keyed to
       the resident (rng.py); with rho = exp(-1/60) the stationary law is a sum of about 120 effective
       innovations, normal to well beyond 3 SD;
  prot protection built from connectedness, group membership, volunteering, self-help and support,
       relaxing towards its target over protection_months (the Deal's route to health):
       target = w_connectedness (connect - connectedness_base) + w_volunteering volunteer + w_group member
                + w_home_care on_home_care + w_self_help trust citizen_lever[area]
       Reablement adds w_reablement to prot when it starts (hospital.py, frontdoor.py), which then decays.
Good health (what a survey respondent reports) is frailty below the sex's threshold; need for support
and care-home-level need are fixed margins above it (care homes from care_home_min_age only). Because u
starts at its stationary law (and prot starts at 0 and reaches its target during the burn-in), the initial
cross-section is the rules' own equilibrium.

`resident_month` is the rule for one resident; passes.py runs it inside the month's pass over
residents.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .parameters import HealthParams
from .residents import Residents

SQRT12 = float(np.sqrt(12.0))

HealthK = namedtuple("HealthK", "rho s inv_tau w_conn c_ref w_vol w_group w_hc w_self slope dep_eff shift "
                                "thr_f thr_m need_m ch_m ch_age")


def constants(p: HealthParams, connect_ref: float, shift: float) -> HealthK:
    rho, s = ar1(p.persistence_months)
    return HealthK(rho, s * SQRT12, 1.0 / p.protection_months, p.w_connectedness, connect_ref, p.w_volunteering,
                   p.w_group, p.w_home_care, p.w_self_help, p.age_slope_per_decade / 10.0, p.deprivation_effect,
                   shift, p.threshold_female, p.threshold_male, p.need_margin, p.care_home_margin,
                   p.care_home_min_age)


def ar1(persistence_months: float) -> tuple[float, float]:
    rho = float(np.exp(-1.0 / persistence_months))
    return rho, float(np.sqrt(1.0 - rho * rho))


@njit(cache=True, inline="always")
def resident_month(k, u, prot, connect, volunteer, member, home_care, trust, citizen, eps):
    """One month for one resident: the shock (eps uniform) and protection moving towards its target."""
    t = (k.w_conn * (connect - k.c_ref) + k.w_vol * volunteer + k.w_group * member + k.w_hc * home_care
         + k.w_self * trust * citizen)
    return k.rho * u + k.s * (eps - 0.5), prot + (t - prot) * k.inv_tau


@njit(cache=True, inline="always")
def excess(k, u, prot, dep):
    """Frailty relative to the age norm, which drives mortality (k: any constants with dep_eff and shift)."""
    return k.dep_eff * (dep - 0.5) + k.shift + u - prot


@njit(cache=True, inline="always")
def levels(k, u, prot, age, dep, male):
    """(excess, gap, need, care-home level): excess is frailty relative to the age norm (drives mortality),
    gap is frailty minus the good-health threshold (drives admissions; need and care-home level are margins)."""
    ex = excess(k, u, prot, dep)
    gap = age * k.slope + ex - (k.thr_m if male else k.thr_f)
    return ex, gap, gap > k.need_m, (gap > k.ch_m) and (age >= k.ch_age)


@njit(cache=True, inline="always")
def good(k, age, dep, u, prot, male) -> bool:
    """Good health: frailty below the sex's threshold."""
    return age * k.slope + k.dep_eff * (dep - 0.5) + k.shift + u - prot < (k.thr_m if male else k.thr_f)


def frailty(p: HealthParams, r: Residents, shift: float, idx: np.ndarray | slice | None = None) -> np.ndarray:
    """Frailty of the residents `idx` (all in use by default), in NumPy (initialisation, the survey, tracking)."""
    i = slice(0, r.n) if idx is None else idx
    return (r.age[i] * np.float32(p.age_slope_per_decade / 10.0)
            + np.float32(p.deprivation_effect) * (r.dep[i] - np.float32(0.5)) + np.float32(shift)
            + r.u[i] - r.prot[i])


def good_health(p: HealthParams, r: Residents, shift: float, idx: np.ndarray) -> np.ndarray:
    """Whether the residents `idx` would report good health: frailty below their sex's threshold."""
    return frailty(p, r, shift, idx) < np.where(r.sex[idx] == 1, p.threshold_male, p.threshold_female)


def thresholds(p: HealthParams, r: Residents) -> np.ndarray:
    """Good-health threshold by sex."""
    return np.array([p.threshold_female, p.threshold_male], np.float32)[r.sex[: r.n]]


def care_home_level(p: HealthParams, f: np.ndarray, thr: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Need at care-home level (care_home_min_age and over)."""
    return (f > thr + np.float32(p.care_home_margin)) & (age >= p.care_home_min_age)


def need_level(p: HealthParams, f: np.ndarray, thr: np.ndarray) -> np.ndarray:
    return f > thr + np.float32(p.need_margin)
