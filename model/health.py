"""Health: each resident's latent frailty, from which good health, need and care-home level follow.

frailty = age_slope * age/10 + deprivation_effect * (dep - 0.5) + context shift + u - prot
  u    individual deviation, AR(1) with unit stationary variance (persistence_months): health shocks
       that last years, drawn from the `health` stream. Monthly innovations are uniform with unit variance,
       sqrt(12) (U - 1/2): five times cheaper to draw than normal ones, and with rho = exp(-1/60) the
       stationary law is a sum of about 120 effective innovations, normal to well beyond 3 SD;
  prot protection built from connectedness, group membership, volunteering, self-help and support,
       relaxing towards its target over protection_months (the Deal's route to health):
       target = w_connectedness (connect - connectedness_base) + w_volunteering volunteer + w_group member
                + w_home_care on_home_care + w_self_help trust citizen_lever[area]
Good health (what a survey respondent reports) is frailty below the sex's threshold; need for support
and care-home-level need are fixed margins above it (care homes for 65+ only). Because u starts at its
stationary law (and prot starts at 0 and reaches its target during the burn-in), the initial cross-section
is the rules' own equilibrium.

The per-resident rules run as Numba kernels: one pass over the columns instead of a dozen NumPy
temporaries, which is what keeps a full-borough run within seconds. Random numbers are still drawn by
NumPy from the mechanism's own stream, so common random numbers are unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .parameters import HealthParams
from .residents import HOME_CARE, Residents

CARE_HOME_MIN_AGE = 65.0
SQRT12 = float(np.sqrt(12.0))


def ar1(persistence_months: float) -> tuple[float, float]:
    rho = float(np.exp(-1.0 / persistence_months))
    return rho, float(np.sqrt(1.0 - rho * rho))


def innovations(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance, zero-mean monthly shocks: sqrt(12) (U - 1/2)."""
    e = rng.random(n, dtype=np.float32)
    e -= np.float32(0.5)
    e *= np.float32(np.sqrt(12.0))
    return e


@njit(cache=True, inline="always")
def _target(connect, volunteer, member, home_care, trust, citizen, w_conn, c_ref, w_vol, w_group, w_hc, w_self):
    return (w_conn * (connect - c_ref) + w_vol * volunteer + w_group * member + w_hc * home_care
            + w_self * trust * citizen)


@njit(cache=True)
def _protection_target(n, connect, volunteer, group, setting, trust, area, citizen,
                       w_conn, c_ref, w_vol, w_group, w_hc, w_self, out):
    for i in range(n):
        out[i] = _target(connect[i], volunteer[i], group[i] >= 0, setting[i] == HOME_CARE, trust[i],
                         citizen[area[i]], w_conn, c_ref, w_vol, w_group, w_hc, w_self)


@njit(cache=True)
def _ar1_and_protection(n, u, prot, eps, rho, s, inv_tau, target):
    for i in range(n):
        u[i] = rho * u[i] + s * eps[i]
        prot[i] += (target[i] - prot[i]) * inv_tau


@njit(cache=True)
def _month_kernel(n, u, prot, eps, rho, s, inv_tau, connect, volunteer, group, setting, trust, area, citizen,
                  w_conn, c_ref, w_vol, w_group, w_hc, w_self, age, dep, sex, slope, dep_eff, shift,
                  thr_f, thr_m, need_m, ch_m, f_out, ex_out, gap_out, need_out, ch_out):
    for i in range(n):
        t = _target(connect[i], volunteer[i], group[i] >= 0, setting[i] == HOME_CARE, trust[i],
                    citizen[area[i]], w_conn, c_ref, w_vol, w_group, w_hc, w_self)
        ui = rho * u[i] + s * SQRT12 * (eps[i] - 0.5)  # eps uniform: see innovations()
        u[i] = ui
        p = prot[i] + (t - prot[i]) * inv_tau
        prot[i] = p
        ex = dep_eff * (dep[i] - 0.5) + shift + ui - p
        f = age[i] * slope + ex
        thr = thr_f + (thr_m - thr_f) * sex[i]  # arithmetic, not a branch: residents are in random order
        ex_out[i] = ex
        f_out[i] = f
        gap_out[i] = f - thr
        need_out[i] = f > thr + need_m
        # f > thr + ch_m and age >= 65, written as one comparison so the loop stays vectorisable.
        ch_out[i] = min(f - (thr + ch_m), age[i] - (CARE_HOME_MIN_AGE - 1e-3)) > 0.0


@njit(cache=True)
def _frailty(n, age, dep, u, prot, slope, dep_eff, shift, out):
    for i in range(n):
        out[i] = age[i] * slope + dep_eff * (dep[i] - 0.5) + shift + u[i] - prot[i]


@dataclass
class HealthState:
    """This month's frailty and what follows from it, for every slot in use."""

    f: np.ndarray        # frailty
    excess: np.ndarray   # frailty relative to the age norm: drives mortality
    gap: np.ndarray      # frailty minus the good-health threshold (> 0: health not good)
    need: np.ndarray     # needs support with daily living
    ch: np.ndarray       # care-home level need (65+)


def protection_target(p: HealthParams, r: Residents, connect_ref: float, citizen_by_area: np.ndarray) -> np.ndarray:
    """What connection and support are worth in frailty SD (see HealthParams for the evidence)."""
    out = np.empty(r.n, np.float32)
    _protection_target(r.n, r.connect, r.volunteer, r.group, r.setting, r.trust, r.area,
                       np.asarray(citizen_by_area, np.float32), p.w_connectedness, connect_ref, p.w_volunteering,
                       p.w_group, p.w_home_care, p.w_self_help, out)
    return out


def step_health(p: HealthParams, r: Residents, rng: np.random.Generator, target: np.ndarray) -> None:
    """One month of frailty given a protection target: AR(1) shock, protection moving towards the target."""
    rho, s = ar1(p.persistence_months)
    eps = innovations(rng, r.n)
    _ar1_and_protection(r.n, r.u, r.prot, eps, rho, s, 1.0 / p.protection_months, target)


def month(p: HealthParams, r: Residents, rng: np.random.Generator, connect_ref: float,
          citizen_by_area: np.ndarray, shift: float) -> HealthState:
    """The model's monthly health step: protection target, shock and update, and the derived levels, fused
    (the same rules as protection_target + step_health + frailty, in one pass)."""
    n = r.n
    rho, s = ar1(p.persistence_months)
    eps = rng.random(n, dtype=np.float32)  # scaled to unit variance inside the kernel, as innovations() does
    st = HealthState(np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.float32),
                     np.empty(n, np.bool_), np.empty(n, np.bool_))
    _month_kernel(n, r.u, r.prot, eps, rho, s, 1.0 / p.protection_months, r.connect, r.volunteer, r.group,
                  r.setting, r.trust, r.area, np.asarray(citizen_by_area, np.float32), p.w_connectedness,
                  connect_ref, p.w_volunteering, p.w_group, p.w_home_care, p.w_self_help, r.age, r.dep, r.sex,
                  p.age_slope_per_decade / 10.0, p.deprivation_effect, shift, p.threshold_female,
                  p.threshold_male, p.need_margin, p.care_home_margin, st.f, st.excess, st.gap, st.need, st.ch)
    return st


def frailty(p: HealthParams, r: Residents, shift: float) -> np.ndarray:
    out = np.empty(r.n, np.float32)
    _frailty(r.n, r.age, r.dep, r.u, r.prot, p.age_slope_per_decade / 10.0, p.deprivation_effect, shift, out)
    return out


def excess(p: HealthParams, r: Residents, shift: float) -> np.ndarray:
    """Frailty relative to the age norm (deprivation, context, u, protection): drives mortality."""
    n = r.n
    return (p.deprivation_effect * (r.dep[:n] - np.float32(0.5)) + np.float32(shift) + r.u[:n] - r.prot[:n])


def thresholds(p: HealthParams, r: Residents) -> np.ndarray:
    """Good-health threshold by sex (a lookup, not np.where: it runs on every resident)."""
    return np.array([p.threshold_female, p.threshold_male], np.float32)[r.sex[: r.n]]


def care_home_level(p: HealthParams, f: np.ndarray, thr: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Need at care-home level. Only residents aged 65+ are placed: younger adults' admissions are 2% of the
    older rate (14.6 vs 578-659 per 100,000, Nuffield Trust) and outside ASCOF 2A(2)."""
    return (f > thr + np.float32(p.care_home_margin)) & (age >= CARE_HOME_MIN_AGE)


def need_level(p: HealthParams, f: np.ndarray, thr: np.ndarray) -> np.ndarray:
    return f > thr + np.float32(p.need_margin)
