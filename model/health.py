"""Health: each resident's latent frailty, from which good health, need and care-home level follow.

frailty = age_slope * age/10 + deprivation_effect * (dep - 0.5) + context shift + u - prot
  u    individual deviation, AR(1) with unit stationary variance (persistence_months): health shocks
       that last years, drawn from the `health` stream;
  prot protection built from connectedness, group membership, volunteering, self-help and support,
       relaxing towards its target over protection_months (the Deal's route to health).
Good health (what a survey respondent reports) is frailty below the sex's threshold; need for support
and care-home-level need are fixed margins above it. Because u starts at its stationary law (and prot starts at 0
and reaches its target during the burn-in), the initial cross-section is the rules' own equilibrium.
"""

from __future__ import annotations

import numpy as np

from .parameters import HealthParams
from .residents import CARE_HOME, HOME_CARE, Residents


def ar1(persistence_months: float) -> tuple[float, float]:
    rho = float(np.exp(-1.0 / persistence_months))
    return rho, float(np.sqrt(1.0 - rho * rho))


def excess(p: HealthParams, r: Residents, shift: float) -> np.ndarray:
    """Frailty relative to the age norm (deprivation, context, u, protection): drives mortality."""
    n = r.n
    return (p.deprivation_effect * (r.dep[:n] - np.float32(0.5)) + np.float32(shift) + r.u[:n] - r.prot[:n])


def frailty(p: HealthParams, r: Residents, shift: float) -> np.ndarray:
    n = r.n
    return r.age[:n] * np.float32(p.age_slope_per_decade / 10.0) + excess(p, r, shift)


def thresholds(p: HealthParams, r: Residents) -> np.ndarray:
    """Good-health threshold by sex (a lookup, not np.where: it runs on every resident)."""
    return np.array([p.threshold_female, p.threshold_male], np.float32)[r.sex[: r.n]]


def protection_target(p: HealthParams, r: Residents, connect_ref: float, citizen_by_area: np.ndarray) -> np.ndarray:
    """What connection and support are worth in frailty SD (see HealthParams for the evidence)."""
    n = r.n
    t = np.float32(p.w_connectedness) * (r.connect[:n] - np.float32(connect_ref))
    t += np.float32(p.w_volunteering) * r.volunteer[:n]
    t += np.float32(p.w_group) * (r.group[:n] >= 0)
    t += np.float32(p.w_home_care) * (r.setting[:n] == HOME_CARE)
    if citizen_by_area.any():
        t += np.float32(p.w_self_help) * r.trust[:n] * citizen_by_area.astype(np.float32)[r.area[:n]]
    return t


def step_health(p: HealthParams, r: Residents, rng: np.random.Generator, target: np.ndarray) -> None:
    """One month of frailty: AR(1) shock for everyone in use, protection moving towards its target."""
    n = r.n
    rho, s = ar1(p.persistence_months)
    eps = rng.standard_normal(n, dtype=np.float32)
    u = r.u[:n]
    u *= np.float32(rho)
    u += np.float32(s) * eps
    prot = r.prot[:n]
    prot += (target - prot) * np.float32(1.0 / p.protection_months)


def care_home_level(p: HealthParams, f: np.ndarray, thr: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Need at care-home level. Only residents aged 65+ are placed: younger adults' admissions are 2% of the
    older rate (14.6 vs 578-659 per 100,000, Nuffield Trust) and outside ASCOF 2A(2)."""
    return (f > thr + np.float32(p.care_home_margin)) & (age >= 65)


def need_level(p: HealthParams, f: np.ndarray, thr: np.ndarray) -> np.ndarray:
    return f > thr + np.float32(p.need_margin)


__all__ = ["ar1", "excess", "frailty", "thresholds", "protection_target", "step_health",
           "care_home_level", "need_level", "CARE_HOME"]
