"""Demography: deaths (Gompertz-Makeham hazard scaled by frailty), ageing, births and migration."""

from __future__ import annotations

import numpy as np

from .parameters import MortalityParams, PopulationParams
from .residents import CARE_HOME, HOSPITAL, NEVER, Residents, new_person_draws


def annual_hazard(p: MortalityParams, age: np.ndarray, sex: np.ndarray, excess: np.ndarray,
                  hm_male: float, hm_female: float) -> np.ndarray:
    """h = (infant + background + a exp(b age)) * exp(beta*excess - beta^2/2) * context multiplier.

    a = b exp(-b mode) puts the Gompertz mode at the modal age of death; the -beta^2/2 term makes the
    frailty factor average 1 over u ~ N(0,1), so the modal age describes a typical resident."""
    b = p.gompertz_slope
    beta = np.float32(p.frailty_log_hazard)
    log_a = np.where(sex == 1, np.float32(np.log(b) - b * p.modal_age_male), np.float32(np.log(b) - b * p.modal_age_female))
    log_mult = np.where(sex == 1, np.float32(np.log(hm_male)), np.float32(np.log(hm_female)))
    frail = np.exp(beta * excess + log_mult - beta * beta / 2)
    base = np.exp(log_a + np.float32(b) * age) + np.float32(p.background) + np.float32(p.infant_mortality) * (age < 1)
    return base * frail


def deaths(p: MortalityParams, r: Residents, rng: np.random.Generator, excess: np.ndarray,
           hm_male: float, hm_female: float) -> np.ndarray:
    """Indices of residents who die this month (one uniform per slot, so streams stay aligned)."""
    n = r.n
    u = rng.random(n, dtype=np.float32)
    h = annual_hazard(p, r.age[:n], r.sex[:n], excess, hm_male, hm_female)
    setting = r.setting[:n]
    h = np.where(setting == HOSPITAL, h * np.float32(p.hospital_multiplier), h)
    h = np.where(setting == CARE_HOME, h * np.float32(p.care_home_multiplier), h)
    die = (u < -np.expm1(-h / np.float32(12.0))) & r.alive[:n]
    return np.flatnonzero(die)


def remove(r: Residents, idx: np.ndarray) -> None:
    """Death or out-migration: the slot stays (identity), the person leaves every role."""
    r.alive[idx] = False
    r.group[idx] = -1
    r.volunteer[idx] = False
    r.setting[idx] = 0
    r.reab_until[idx] = NEVER


def newcomers(p: PopulationParams, r: Residents, rng: np.random.Generator) -> tuple[int, int]:
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
        r.trust[s] = r.trust[src]
        r.connect[s] = r.connect[src]
        r.group[s] = -1
        r.setting[s] = 0
    if lam < 0 and nm:
        adults = alive_idx[(r.age[alive_idx] >= 18) & (r.age[alive_idx] < 40)]
        if adults.size:
            remove(r, rng.choice(adults, min(nm, adults.size), replace=False))
    return nb, (nm if lam > 0 else -nm)
