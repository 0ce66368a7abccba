"""Demography: deaths (Gompertz-Makeham hazard scaled by frailty), ageing, births and migration."""

from __future__ import annotations

import numpy as np
from numba import njit

from .parameters import MortalityParams, PopulationParams
from .residents import CARE_HOME, HOSPITAL, NEVER, Residents, new_person_draws


@njit(cache=True, inline="always")
def _hazard(age, male, excess, log_a_f, log_a_m, b, beta, background, infant, lm_f, lm_m):
    log_a = log_a_m if male else log_a_f
    lm = lm_m if male else lm_f
    base = np.exp(log_a + b * age) + background + (infant if age < 1.0 else 0.0)
    return base * np.exp(beta * excess - beta * beta / 2 + lm)


@njit(cache=True)
def _hazards(n, age, sex, excess, log_a_f, log_a_m, b, beta, background, infant, lm_f, lm_m, out):
    for i in range(n):
        out[i] = _hazard(age[i], sex[i] == 1, excess[i], log_a_f, log_a_m, b, beta, background, infant, lm_f, lm_m)


def _args(p: MortalityParams, hm_male: float, hm_female: float) -> tuple:
    b = p.gompertz_slope
    return (np.log(b) - b * p.modal_age_female, np.log(b) - b * p.modal_age_male, b, p.frailty_log_hazard,
            p.background, p.infant_mortality, np.log(hm_female), np.log(hm_male))


def annual_hazard(p: MortalityParams, age: np.ndarray, sex: np.ndarray, excess: np.ndarray,
                  hm_male: float, hm_female: float) -> np.ndarray:
    """h = (infant + background + a exp(b age)) * exp(beta*excess - beta^2/2) * context multiplier.

    a = b exp(-b mode) puts the Gompertz mode at the modal age of death; the -beta^2/2 term makes the
    frailty factor average 1 over u ~ N(0,1), so the modal age describes a typical resident."""
    out = np.empty(age.size, np.float64)
    _hazards(age.size, age, sex, excess, *_args(p, hm_male, hm_female), out)
    return out


@njit(cache=True)
def _exponent(n, excess, sex, beta, c_f, c_m, out):
    for i in range(n):
        out[i] = beta * excess[i] + c_f + (c_m - c_f) * sex[i]


@njit(cache=True)
def _die(n, alive, setting, age, gomp, frail, e12, background, infant, hosp_mult, ch_mult, out):
    """Die when 12 x Exp(1) < annual hazard (e12 = -12 log(1 - u)): the same law as u < 1 - exp(-h/12).
    Writes a 0/1 mask (a vectorisable loop); np.flatnonzero then lists the deaths."""
    for i in range(n):
        s = setting[i]
        h = (gomp[i] + background + infant * (age[i] < 1.0)) * frail[i] \
            * (1.0 + (hosp_mult - 1.0) * (s == HOSPITAL) + (ch_mult - 1.0) * (s == CARE_HOME))
        out[i] = alive[i] & (e12[i] < h)


def set_gompertz(p: MortalityParams, r: Residents, idx) -> None:
    """The Gompertz term for given residents from their age and sex (at creation; ageing updates it)."""
    b = p.gompertz_slope
    mode = np.where(r.sex[idx] == 1, p.modal_age_male, p.modal_age_female)
    r.gomp[idx] = (b * np.exp(b * (r.age[idx] - mode))).astype(np.float32)


def age_one_month(p: MortalityParams, r: Residents) -> None:
    """Everyone in use is a month older; the Gompertz term grows by exp(b/12) (no exp per resident)."""
    r.age[: r.n] += np.float32(1.0 / 12.0)
    r.gomp[: r.n] *= np.float32(np.exp(p.gompertz_slope / 12.0))


def deaths(p: MortalityParams, r: Residents, rng: np.random.Generator, excess: np.ndarray,
           hm_male: float, hm_female: float) -> np.ndarray:
    """Indices of residents who die this month (one uniform per slot, so streams stay aligned).

    Care-home residents and inpatients have their hazard multiplied (care_home_multiplier, hospital_multiplier).
    One exp per resident (the frailty factor) in NumPy's SIMD loop; the Gompertz term is a kept column."""
    n = r.n
    u = rng.random(n, dtype=np.float32)
    beta = p.frailty_log_hazard
    z = np.empty(n, np.float32)
    _exponent(n, excess, r.sex, beta, np.log(hm_female) - beta * beta / 2, np.log(hm_male) - beta * beta / 2, z)
    frail = np.exp(z)
    e12 = np.log1p(-u)  # u < 1, so never log(0)
    e12 *= np.float32(-12.0)
    die = np.empty(n, np.bool_)
    _die(n, r.alive, r.setting, r.age, r.gomp, frail, e12, p.background, p.infant_mortality,
         p.hospital_multiplier, p.care_home_multiplier, die)
    return np.flatnonzero(die)


def remove(r: Residents, idx: np.ndarray) -> None:
    """Death or out-migration: the slot stays (identity), the person leaves every role."""
    r.alive[idx] = False
    r.group[idx] = -1
    r.volunteer[idx] = False
    r.setting[idx] = 0
    r.reab_until[idx] = NEVER


def newcomers(p: PopulationParams, mort: MortalityParams, r: Residents, rng: np.random.Generator) -> tuple[int, int]:
    """Births (age 0) and net in-migrants (young adults), placed where existing residents live.

    Returns (births, migrants). Negative net migration removes random adults aged 18-40."""
    alive_idx = np.flatnonzero(r.alive[: r.n])
    pop = alive_idx.size
    nb = int(rng.poisson(p.births_per_1000 / 1000.0 / 12.0 * pop))
    lam = p.net_migration_per_1000 / 1000.0 / 12.0 * pop
    nm = int(rng.poisson(abs(lam)))
    n_in = nb + (nm if lam > 0 else 0)
    # Fixed-size draws (independent of how many arrive) would waste time; these are all from the
    # demography stream, whose consumption depends only on population size and so stays aligned.
    if n_in:
        src = alive_idx[rng.integers(0, pop, n_in)]
        s = r.add(n_in)
        r.alive[s] = True
        r.sex[s] = (rng.random(n_in) < 0.512).astype(np.int8)  # 105 boys per 100 girls at birth
        ages = np.zeros(n_in, np.float32)
        ages[nb:] = rng.uniform(18, 40, n_in - nb)
        r.age[s] = ages
        r.dep[s], r.ward[s], r.area[s] = r.dep[src], r.ward[src], r.area[src]
        d = new_person_draws(rng, n_in)
        r.u[s], r.eta[s] = d["u"], d["eta"]
        r.prot[s] = 0.0
        set_gompertz(mort, r, s)
        r.trust[s] = r.trust[src]
        r.connect[s] = r.connect[src]
        r.group[s] = -1
        r.setting[s] = 0
    if lam < 0 and nm:
        adults = alive_idx[(r.age[alive_idx] >= 18) & (r.age[alive_idx] < 40)]
        if adults.size:
            remove(r, rng.choice(adults, min(nm, adults.size), replace=False))
    return nb, (nm if lam > 0 else -nm)
